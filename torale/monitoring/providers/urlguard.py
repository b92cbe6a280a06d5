"""The SSRF rule of `torale.net.ssrf` as a page-fetch guard that raises provider errors.

A guard is any `async (url) -> None` that raises `UrlForbidden`; the fetcher runs it
before every hop for a readable refusal, and its guarded transport vets the address
again at connect time (which closes the DNS-rebinding gap a pre-flight check leaves).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from torale.monitoring.errors import PageFetchError, UrlForbidden
from torale.net.ssrf import UnresolvableHost, UnsafeURL, check_url

UrlGuard = Callable[[str], Awaitable[None]]


def ssrf_guard(*, allow_private: bool) -> UrlGuard:
    async def guard(url: str) -> None:
        try:
            await check_url(url, allow_private=allow_private)
        except UnresolvableHost as exc:
            raise PageFetchError(f"Cannot fetch {url}: {exc}") from exc
        except UnsafeURL as exc:
            raise UrlForbidden(f"Refusing to fetch {url}: {exc}") from exc

    return guard
