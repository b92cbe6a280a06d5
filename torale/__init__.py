"""Torale: grounded-search monitoring.

`from torale import Torale, AsyncTorale` gives the Python client (`torale.client`). It is
loaded on first use, so importing any part of the server does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the names; the import happens on first use
    from torale.client import AsyncTorale, Torale

__all__ = ["AsyncTorale", "Torale"]
_CLIENT_NAMES = frozenset({"Torale", "AsyncTorale"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from torale import client

        return getattr(client, name)
    raise AttributeError(f"module 'torale' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_CLIENT_NAMES})
