from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from monitoring_peer import (
    Reply,
    ScriptedServer,
    chat_json,
    gemini_reply,
    search_hit,
    search_reply,
)

from torale.monitoring.errors import InvalidLLMResponse, ProviderNotConfigured
from torale.monitoring.evaluation import EvaluationInput, evaluate
from torale.monitoring.providers.factory import build_providers

CHAT = "/v1/chat/completions"
VERDICT = {
    "condition_met": True,
    "answer": "  Apple announced the iPhone 17 on September 9.  ",
    "reasoning": "Apple's newsroom post confirms the date.",
    "current_state": {"announced": True, "date": "2026-09-09"},
}
TASK = EvaluationInput(
    search_query="When will Apple announce the iPhone 17?",
    condition_description="Apple has officially announced a release date",
    last_known_state={"announced": False},
)
NOW = datetime(2026, 9, 10, 8, 0, tzinfo=UTC)


async def allow_all(url: str) -> None:
    pass


def openai_settings(peer: ScriptedServer, **more) -> SimpleNamespace:
    return SimpleNamespace(
        llm_base_url=f"{peer.url}/v1", llm_model="m", allow_private_urls=True, **more
    )


async def test_search_then_structured_verdict(peer: ScriptedServer) -> None:
    peer.script(
        "GET",
        "/search",
        search_reply(
            search_hit(
                "https://www.apple.com/newsroom/?utm_source=searx",
                "Newsroom",
                "iPhone 17 announced",
            ),
            search_hit("https://apple.com/newsroom", "Dup", "dup"),
        ),
    )
    peer.script("POST", CHAT, chat_json(VERDICT))
    providers = build_providers(openai_settings(peer, searxng_url=peer.url))
    result = await evaluate(TASK, providers, now=NOW)

    assert result.condition_met is True
    assert result.answer == "Apple announced the iPhone 17 on September 9."
    assert result.current_state == {"announced": True, "date": "2026-09-09"}
    assert result.grounding_sources == [
        {
            "uri": "https://www.apple.com/newsroom/",
            "title": "Newsroom",
            "snippet": "iPhone 17 announced",
        }
    ]
    assert result.reasoning == "Apple's newsroom post confirms the date."
    prompt = peer.requests_to(CHAT)[0].json()["messages"][1]["content"]
    assert "iPhone 17 announced" in prompt
    assert TASK.condition_description in prompt
    assert '{"announced": false}' in prompt
    assert "2026-09-10T08:00" in prompt


async def test_reply_not_matching_the_schema(peer: ScriptedServer) -> None:
    peer.script("GET", "/search", Reply(body={"results": []}))
    peer.script("POST", CHAT, chat_json({"condition_met": "maybe", "answer": "?"}))
    providers = build_providers(openai_settings(peer, searxng_url=peer.url))
    with pytest.raises(InvalidLLMResponse) as caught:
        await evaluate(TASK, providers)
    assert caught.value.retryable is True
    assert "condition_met" in caught.value.message and "reasoning" in caught.value.message


async def test_gemini_grounding_when_no_search_is_configured(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        gemini_reply(
            '```json\n{"condition_met": false, "answer": "Not yet", "reasoning": "No news", '
            '"current_state": null}\n```',
            [
                {
                    "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/X",
                    "title": "apple.com",
                },
                {"uri": "https://www.google.com/url?q=https://9to5mac.example/a", "title": "9to5"},
            ],
        ),
    )
    providers = build_providers(
        SimpleNamespace(gemini_api_key="k", gemini_base_url=peer.url, allow_private_urls=True)
    )
    result = await evaluate(TASK, providers)
    assert result.condition_met is False and result.current_state is None
    assert [s["uri"] for s in result.grounding_sources] == [
        "https://vertexaisearch.cloud.google.com/grounding-api-redirect/X",
        "https://9to5mac.example/a",
    ]
    assert [r.path for r in peer.requests] == ["/v1beta/models/gemini-2.5-flash:generateContent"]


async def test_url_in_query_is_fetched_without_a_search_provider(peer: ScriptedServer) -> None:
    peer.script(
        "GET",
        "/widget",
        Reply(
            body="<html><head><title>Widget</title></head><body><p>Widget Pro costs $449 "
            "today, shipping worldwide.</p></body></html>",
            headers={"Content-Type": "text/html"},
        ),
    )
    peer.script("POST", CHAT, chat_json(VERDICT))
    providers = build_providers(openai_settings(peer), url_guard=allow_all)
    task = EvaluationInput(f"Price of {peer.url}/widget", "The price is below $450")
    result = await evaluate(task, providers)
    assert result.grounding_sources[0]["uri"] == f"{peer.url}/widget"
    assert result.grounding_sources[0]["title"] == "Widget"
    prompt = peer.requests_to(CHAT)[0].json()["messages"][1]["content"]
    assert "Widget Pro costs $449" in prompt


async def test_no_way_to_search_fails_before_calling_anything(peer: ScriptedServer) -> None:
    providers = build_providers(openai_settings(peer))
    with pytest.raises(ProviderNotConfigured) as caught:
        await evaluate(TASK, providers)
    assert "TORALE_SEARCH_PROVIDER" in caught.value.message
    assert "TORALE_SEARXNG_URL" in caught.value.message
    assert peer.requests == []


async def test_state_beyond_the_json_limits_is_an_invalid_reply(peer: ScriptedServer) -> None:
    """`current_state` becomes the task's `last_known_state`: too deep or too large to be
    read back safely is refused like any malformed reply (retried, never stored)."""
    deep: dict = {"v": 1}
    for _ in range(20):
        deep = {"d": deep}
    peer.script("GET", "/search", Reply(body={"results": []}))
    for state in (deep, {"blob": "x" * 20_000}):
        peer.script("POST", CHAT, chat_json({**VERDICT, "current_state": state}))
        providers = build_providers(openai_settings(peer, searxng_url=peer.url))
        with pytest.raises(InvalidLLMResponse) as caught:
            await evaluate(TASK, providers)
        assert "current_state" in caught.value.message and caught.value.retryable
