from __future__ import annotations

import pytest
from monitoring_peer import Reply, ScriptedServer, search_hit, search_reply

from torale.monitoring.errors import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from torale.monitoring.providers.base import SearchHit
from torale.monitoring.providers.search.brave import BraveSearch
from torale.monitoring.providers.search.searxng import SearxngSearch
from torale.monitoring.providers.search.tavily import TavilySearch


async def test_searxng_json_api(peer: ScriptedServer) -> None:
    peer.script(
        "GET",
        "/searx/search",
        search_reply(
            search_hit("https://a.example/1", "A &amp; B", "first  result"),
            search_hit("https://b.example/2", "B", ""),
            {"title": "no url"},
            search_hit("https://c.example/3", "C", "third"),
        ),
    )
    hits = await SearxngSearch(url=f"{peer.url}/searx/").search("iphone 17 release", max_results=2)
    assert hits == [
        SearchHit("https://a.example/1", "A & B", "first result"),
        SearchHit("https://b.example/2", "B", None),
    ]
    request = peer.requests[0]
    assert request.query == {"q": ["iphone 17 release"], "format": ["json"]}


async def test_searxng_json_disabled_says_how_to_enable(peer: ScriptedServer) -> None:
    peer.script("GET", "/search", Reply(403, "Forbidden"))
    with pytest.raises(ProviderAuthError) as caught:
        await SearxngSearch(url=peer.url).search("q", max_results=3)
    assert "search.formats" in caught.value.message
    assert caught.value.retryable is False


async def test_tavily(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        "/search",
        search_reply(search_hit("https://t.example", "T", "tavily says", score=0.9)),
    )
    hits = await TavilySearch(api_key="tvly-k", base_url=peer.url).search("q", max_results=4)
    assert hits == [SearchHit("https://t.example", "T", "tavily says")]
    request = peer.requests[0]
    assert request.headers["authorization"] == "Bearer tvly-k"
    assert request.json() == {"query": "q", "max_results": 4, "search_depth": "basic"}


async def test_tavily_bad_key_names_variable(peer: ScriptedServer) -> None:
    peer.script("POST", "/search", Reply(401, {"detail": {"error": "Unauthorized: missing key"}}))
    with pytest.raises(ProviderAuthError, match="TORALE_TAVILY_API_KEY") as caught:
        await TavilySearch(api_key="bad", base_url=peer.url).search("q", max_results=4)
    assert "Unauthorized: missing key" in caught.value.message


async def test_brave(peer: ScriptedServer) -> None:
    peer.script(
        "GET",
        "/res/v1/web/search",
        Reply(
            body={
                "type": "search",
                "web": {
                    "results": [
                        {
                            "url": "https://br.example",
                            "title": "Brave <strong>hit</strong>",
                            "description": "The <strong>new</strong> price",
                        }
                    ]
                },
            }
        ),
    )
    hits = await BraveSearch(api_key="brv", base_url=peer.url).search("q", max_results=30)
    assert hits == [SearchHit("https://br.example", "Brave hit", "The new price")]
    request = peer.requests[0]
    assert request.headers["x-subscription-token"] == "brv"
    assert request.query == {"q": ["q"], "count": ["20"]}  # Brave's maximum


async def test_brave_without_web_section_is_no_results(peer: ScriptedServer) -> None:
    peer.script("GET", "/res/v1/web/search", Reply(body={"type": "search"}))
    assert await BraveSearch(api_key="k", base_url=peer.url).search("q", max_results=5) == []


async def test_brave_rate_limit_http_date(peer: ScriptedServer) -> None:
    peer.script(
        "GET",
        "/res/v1/web/search",
        Reply(429, "", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
    )
    with pytest.raises(ProviderRateLimited) as caught:
        await BraveSearch(api_key="k", base_url=peer.url).search("q", max_results=5)
    assert caught.value.retry_after == 0.0  # a date in the past: retry now


async def test_search_5xx_and_timeout_and_non_json(peer: ScriptedServer) -> None:
    searx = SearxngSearch(url=peer.url, timeout=0.2)
    peer.script("GET", "/search", Reply(502, "bad gateway"))
    with pytest.raises(ProviderUnavailable):
        await searx.search("q", max_results=1)
    peer.script("GET", "/search", Reply(body={"results": []}, delay=1.0))
    with pytest.raises(ProviderTimeout, match="TORALE_SEARCH_TIMEOUT_SECONDS"):
        await searx.search("q", max_results=1)
    peer.script("GET", "/search", Reply(body="<html>login</html>"))
    with pytest.raises(ProviderUnavailable, match="not JSON"):
        await searx.search("q", max_results=1)
