"""Swagger UI, ReDoc and GraphiQL work offline: every asset they load is served by the API."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

PAGES = {
    "/docs": "SwaggerUIBundle",
    "/redoc": "<redoc",
    "/graphql": "GraphiQL.createFetcher",
}
# What each kind of asset must be served as.
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


class _References(HTMLParser):
    """Every URL a page makes the browser load: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img", "iframe") and found.get("src"):
            self.urls.append(found["src"])  # type: ignore[arg-type]
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"])  # type: ignore[arg-type]


async def _page(client, path: str):
    return await client.get(path, headers={"Accept": "text/html"})


@pytest.mark.parametrize("path", PAGES)
async def test_page_names_no_other_host(client, path):
    page = await _page(client, path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert PAGES[path] in page.text
    # Not in a tag, not in the inline script: no absolute URL at all, and no
    # protocol-relative one ("//cdn...") either.
    assert not re.search(r"https?://", page.text), re.findall(r"https?://\S+", page.text)
    refs = _References()
    refs.feed(page.text)
    assert refs.urls, "the page loads its assets"
    for url in refs.urls:
        assert not url.startswith("//") and not urlsplit(url).netloc, url


@pytest.mark.parametrize("path", PAGES)
async def test_every_asset_a_page_loads_is_served_locally(client, path):
    page = await _page(client, path)
    refs = _References()
    refs.feed(page.text)
    for url in refs.urls:
        asset = await client.get(urljoin(f"http://test{path}", url))
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert CONTENT_TYPES[suffix] in asset.headers["content-type"], url
        assert len(asset.content) > 100, url


async def test_swagger_ui_asks_no_online_validator(client):
    page = await _page(client, "/docs")
    assert '"validatorUrl": null' in page.text
