"""Types every domain's schema shares: the list envelope and plain messages."""

from __future__ import annotations

from typing import Generic, TypeAlias, TypeVar

import strawberry
from strawberry.types import Info as StrawberryInfo

from torale.graphql.context import ToraleContext

Info: TypeAlias = StrawberryInfo[ToraleContext, None]

T = TypeVar("T")


@strawberry.type(description="One page of a list, newest first unless stated")
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int


@strawberry.type
class Message:
    message: str
