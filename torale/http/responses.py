"""JSON answers serialised once with orjson (GraphQL data is already plain JSON)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from starlette.responses import Response


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    """The list envelope, for the OpenAPI document."""

    items: list[T]
    total: int
    page: int
    limit: int


class MessageOut(BaseModel):
    message: str


class ErrorOut(BaseModel):
    detail: str
