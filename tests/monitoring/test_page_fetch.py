from __future__ import annotations

import httpx
import pytest
from monitoring_peer import Reply, ScriptedServer

from torale.monitoring.errors import PageFetchError, ProviderTimeout, UrlForbidden
from torale.monitoring.providers.fetch import PageFetcher, urls_in

HTML = {"Content-Type": "text/html; charset=utf-8"}
ARTICLE = """<!doctype html><html><head><title>Widget &amp; Co — Pricing</title></head>
<body><nav>Home | Shop | Cart</nav>
<article><h1>Widget Pro</h1>
<p>The Widget Pro now costs $449, down from $499. Orders ship within two business days
from our warehouse, and every unit comes with a two-year warranty.</p>
<p>Stock is limited to the first five hundred customers of this sale.</p></article>
<footer>Copyright 2026</footer></body></html>"""


async def allow_all(url: str) -> None:
    pass


def fetcher(**kwargs) -> PageFetcher:
    kwargs.setdefault("url_guard", allow_all)
    kwargs.setdefault("allow_private", True)
    return PageFetcher(**kwargs)


def test_urls_in_query() -> None:
    text = (
        "Check https://shop.example/widget?id=1, and (see https://en.wikipedia.org/wiki/A_(b)). "
        "Also http://x.example/y. and again https://shop.example/widget?id=1"
    )
    assert urls_in(text) == [
        "https://shop.example/widget?id=1",
        "https://en.wikipedia.org/wiki/A_(b)",
        "http://x.example/y",
    ]
    assert urls_in("no links here") == []


async def test_html_is_reduced_to_its_text(peer: ScriptedServer) -> None:
    peer.script("GET", "/widget", Reply(body=ARTICLE, headers=HTML))
    page = await fetcher().fetch(f"{peer.url}/widget")
    assert page.title == "Widget & Co — Pricing"
    assert "$449" in page.text and "<p>" not in page.text
    assert page.truncated is False
    assert page.uri == f"{peer.url}/widget"


async def test_oversized_page_is_cut_at_the_limit(peer: ScriptedServer) -> None:
    peer.script("GET", "/big", Reply(body="a" * 300_000, chunk_size=4096))
    page = await fetcher(max_bytes=10_000).fetch(f"{peer.url}/big")
    assert page.truncated is True
    assert len(page.text) == 10_000


async def test_page_of_exactly_the_limit_is_whole(peer: ScriptedServer) -> None:
    peer.script("GET", "/exact", Reply(body="b" * 10_000, chunk_size=10_000))
    page = await fetcher(max_bytes=10_000).fetch(f"{peer.url}/exact")
    assert page.truncated is False and len(page.text) == 10_000


async def test_slow_page_hits_the_deadline(peer: ScriptedServer) -> None:
    peer.script("GET", "/slow", Reply(body="late", delay=1.0))
    with pytest.raises(ProviderTimeout, match="TORALE_FETCH_TIMEOUT_SECONDS"):
        await fetcher(timeout=0.2).fetch(f"{peer.url}/slow")


async def test_redirects_are_followed_and_each_hop_is_guarded(peer: ScriptedServer) -> None:
    seen: list[str] = []

    async def recording_guard(url: str) -> None:
        seen.append(url)

    peer.script("GET", "/old", Reply(301, "", {"Location": "/new"}))
    peer.script("GET", "/new", Reply(body="moved here"))
    page = await fetcher(url_guard=recording_guard).fetch(f"{peer.url}/old")
    assert page.text == "moved here"
    assert page.uri == f"{peer.url}/new"
    assert seen == [f"{peer.url}/old", f"{peer.url}/new"]


async def test_private_address_refused_by_default(peer: ScriptedServer) -> None:
    peer.script("GET", "/", Reply(body="internal"))
    with pytest.raises(UrlForbidden) as caught:
        await PageFetcher().fetch(f"{peer.url}/")
    assert caught.value.retryable is False
    assert "loopback" in caught.value.message
    assert "TORALE_ALLOW_PRIVATE_URLS" in caught.value.message
    assert peer.requests == []


async def test_connect_time_check_refuses_private_address(peer: ScriptedServer) -> None:
    # The pre-flight guard passes the first hop; the guarded transport still refuses.
    peer.script("GET", "/", Reply(body="internal"))
    with pytest.raises(UrlForbidden):
        await PageFetcher(url_guard=allow_all).fetch(f"{peer.url}/")
    assert peer.requests == []


async def test_private_allowed_when_configured(peer: ScriptedServer) -> None:
    peer.script("GET", "/", Reply(body="internal"))
    page = await PageFetcher(allow_private=True).fetch(f"{peer.url}/")
    assert page.text == "internal"


async def test_http_errors_and_unsupported_types(peer: ScriptedServer) -> None:
    peer.script("GET", "/gone", Reply(404, "nope"))
    peer.script("GET", "/down", Reply(503, "later"))
    peer.script("GET", "/pic", Reply(body=b"\x89PNG", headers={"Content-Type": "image/png"}))
    async with httpx.AsyncClient() as client:
        pages = fetcher(client=client)
        with pytest.raises(PageFetchError, match="HTTP 404") as gone:
            await pages.fetch(f"{peer.url}/gone")
        assert gone.value.retryable is False
        with pytest.raises(PageFetchError) as down:
            await pages.fetch(f"{peer.url}/down")
        assert down.value.retryable is True
        with pytest.raises(PageFetchError, match="image/png"):
            await pages.fetch(f"{peer.url}/pic")


async def test_unknown_charset_is_read_as_utf8(peer: ScriptedServer) -> None:
    peer.script(
        "GET",
        "/odd",
        Reply(body="prix: 449 €", headers={"Content-Type": "text/plain; charset=x-unknown"}),
    )
    assert (await fetcher().fetch(f"{peer.url}/odd")).text == "prix: 449 €"
