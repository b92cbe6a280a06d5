"""Outbound networking helpers (SSRF guard and a guarded HTTP client).

The guarded client (`torale.net.transport`) is imported on first access: it loads
httpx, which the API needs only when it sends something.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torale.net.ssrf import UnresolvableHost, UnsafeURL, check_url

if TYPE_CHECKING:
    from torale.net.transport import GuardedTransport, safe_client


def __getattr__(name: str) -> Any:
    if name in ("GuardedTransport", "safe_client"):
        from torale.net import transport

        return getattr(transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GuardedTransport", "UnresolvableHost", "UnsafeURL", "check_url", "safe_client"]
