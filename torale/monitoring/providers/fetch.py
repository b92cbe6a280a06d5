"""Direct fetch of the URLs a task names in its query, reduced to the page's text.

Limits are hard: the body is streamed and cut at `max_bytes`, and one deadline covers
DNS, redirects and the whole download (a server that drips bytes slowly would otherwise
pass every per-read timeout). Each redirect hop goes through the URL guard again.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from torale.monitoring.errors import PageFetchError, ProviderTimeout, UrlForbidden
from torale.monitoring.providers.urlguard import UrlGuard, ssrf_guard
from torale.net.ssrf import UnresolvableHost, UnsafeURL, check_url
from torale.net.transport import safe_client

_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/plain", "application/json", "text/markdown", "text/csv", "application/xml")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class FetchedPage:
    uri: str
    title: str
    text: str
    truncated: bool


def urls_in(text: str, *, limit: int = 3) -> list[str]:
    """The http(s) URLs written in `text`, in order, without trailing punctuation."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?")
        # A URL inside parentheses keeps its own balanced ones (Wikipedia) but not the closer.
        while url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]
        if url not in found:
            found.append(url)
        if len(found) >= limit:
            break
    return found


async def refused_page_url(text: str, *, allow_private: bool) -> str | None:
    """Why the guard would refuse a URL that `text` names for fetching, or None.

    Run when a task is saved or previewed, so a query aimed at an internal address is a
    422 then, not a failed execution later. A host that does not resolve now is let
    through: DNS may be briefly down, and every fetch checks the address again.
    """
    for url in urls_in(text):
        try:
            await check_url(url, allow_private=allow_private)
        except UnresolvableHost:
            continue
        except UnsafeURL as exc:
            return f"Refusing to fetch {url}: {exc}"
    return None


class PageFetcher:
    """Without `client`, each fetch uses a `safe_client` (addresses vetted at connect time);
    a caller-supplied client is trusted as is, so tests can reach local servers."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        url_guard: UrlGuard | None = None,
        timeout: float = 15.0,
        max_bytes: int = 2_000_000,
        client: httpx.AsyncClient | None = None,
        user_agent: str = "Torale/0.1 (page monitor)",
    ) -> None:
        self._allow_private = allow_private
        self._guard = url_guard or ssrf_guard(allow_private=allow_private)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = client
        self._headers = {
            "User-Agent": user_agent,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
        }

    async def fetch(self, url: str) -> FetchedPage:
        try:
            async with asyncio.timeout(self.timeout):
                final_url, content_type, raw, truncated, encoding = await self._download(url)
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderTimeout(
                f"Fetching {url} took longer than {self.timeout:g}s (TORALE_FETCH_TIMEOUT_SECONDS)"
            ) from None
        except UnsafeURL as exc:  # refused by the transport at connect time
            raise UrlForbidden(f"Refusing to fetch {url}: {exc}") from exc
        except httpx.TransportError as exc:
            raise PageFetchError(f"Could not fetch {url}: {exc or type(exc).__name__}") from exc
        try:
            text = raw.decode(encoding or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            text = raw.decode("utf-8", errors="replace")
        if content_type in _HTML_TYPES or (not content_type and "<html" in text[:2000].lower()):
            title, body = await asyncio.to_thread(_html_to_text, text)
        elif content_type.startswith("text/") or content_type in _TEXT_TYPES:
            title, body = "", text.strip()
        else:
            raise PageFetchError(
                f"{url} is {content_type}, not a web page or text", retryable=False
            )
        return FetchedPage(uri=final_url, title=title or final_url, text=body, truncated=truncated)

    async def _download(self, url: str) -> tuple[str, str, bytes, bool, str | None]:
        async with contextlib.AsyncExitStack() as stack:
            http = self._client
            if http is None:
                http = await stack.enter_async_context(
                    safe_client(allow_private=self._allow_private, timeout=self.timeout)
                )
            for _ in range(_MAX_REDIRECTS + 1):
                await self._guard(url)
                async with http.stream(
                    "GET", url, headers=self._headers, follow_redirects=False, timeout=self.timeout
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise PageFetchError(
                            f"{url} answered HTTP {response.status_code}",
                            retryable=response.status_code >= 500 or response.status_code == 429,
                            upstream_status=response.status_code,
                        )
                    raw, truncated = await self._read_limited(response)
                    content_type = (
                        response.headers.get("content-type", "").split(";")[0].strip().lower()
                    )
                    return (
                        str(response.url),
                        content_type,
                        raw,
                        truncated,
                        response.charset_encoding,
                    )
        raise PageFetchError(f"{url} redirected more than {_MAX_REDIRECTS} times", retryable=False)

    async def _read_limited(self, response: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        stream = response.aiter_bytes()
        async for chunk in stream:
            room = self.max_bytes - size
            if len(chunk) >= room:
                chunks.append(chunk[:room])
                # Exactly `max_bytes` long is whole; peek one chunk to tell, then stop reading.
                return b"".join(chunks), len(chunk) > room or bool(await anext(stream, b""))
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False


def _html_to_text(document: str) -> tuple[str, str]:
    title_match = _TITLE.search(document)
    title = re.sub(r"\s+", " ", html.unescape(title_match.group(1))).strip() if title_match else ""
    # Imported here: trafilatura and lxml cost ~11 MiB, and only workers extract pages
    # (the API imports this module for `refused_page_url`).
    import trafilatura

    text = trafilatura.extract(
        document, include_comments=False, include_tables=True, favor_recall=True
    )
    return title, (text or "").strip()
