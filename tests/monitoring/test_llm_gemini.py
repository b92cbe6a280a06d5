from __future__ import annotations

import json

import pytest
from monitoring_peer import Reply, ScriptedServer, gemini_reply

from torale.monitoring.errors import InvalidLLMResponse, ProviderAuthError, ProviderRateLimited
from torale.monitoring.providers.base import SearchHit
from torale.monitoring.providers.llm.gemini import GeminiLLM

PATH = "/v1beta/models/gemini-test:generateContent"
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}}


def gemini(peer: ScriptedServer) -> GeminiLLM:
    return GeminiLLM(api_key="g-key", model="gemini-test", base_url=peer.url, timeout=5)


async def test_grounded_call_uses_search_tool_and_reads_sources(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        PATH,
        gemini_reply(
            'Here you go: {"ok": true}',
            [
                {
                    "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AB",
                    "title": "apple.com",
                },
                {"uri": "https://example.com/x", "title": "Example"},
            ],
        ),
    )
    reply = await gemini(peer).grounded_json(
        system="sys", user="usr", schema=SCHEMA, schema_name="s"
    )
    assert reply.data == {"ok": True}
    assert reply.sources == [
        SearchHit("https://vertexaisearch.cloud.google.com/grounding-api-redirect/AB", "apple.com"),
        SearchHit("https://example.com/x", "Example"),
    ]
    request = peer.requests_to(PATH)[0]
    assert request.headers["x-goog-api-key"] == "g-key"
    body = request.json()
    assert body["tools"] == [{"google_search": {}}]
    # Gemini refuses a response schema next to the search tool: the schema is in the prompt.
    assert "generationConfig" not in body
    assert (
        json.dumps(SCHEMA, separators=(",", ":")) in body["systemInstruction"]["parts"][0]["text"]
    )
    assert body["contents"] == [{"role": "user", "parts": [{"text": "usr"}]}]


async def test_plain_completion_asks_for_json_mime_type(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, gemini_reply('{"ok": false}'))
    assert await gemini(peer).complete_json(
        system="s", user="u", schema=SCHEMA, schema_name="s"
    ) == {"ok": False}
    body = peer.requests_to(PATH)[0].json()
    # Every object declares its properties: the schema goes as Gemini's responseSchema.
    assert body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "propertyOrdering": ["ok"],
        },
    }
    assert "tools" not in body


async def test_free_form_objects_are_asked_for_through_the_prompt_only(
    peer: ScriptedServer,
) -> None:
    peer.script("POST", PATH, gemini_reply('{"state": {}}'))
    free_form = {"type": "object", "properties": {"state": {"type": ["object", "null"]}}}
    await gemini(peer).complete_json(system="s", user="u", schema=free_form, schema_name="s")
    body = peer.requests_to(PATH)[0].json()
    # Gemini refuses OBJECT schemas without properties.
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


async def test_invalid_key_reported_as_400_is_an_auth_error(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        PATH,
        Reply(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid. Please pass a valid API key.",
                    "status": "INVALID_ARGUMENT",
                    "details": [{"reason": "API_KEY_INVALID"}],
                }
            },
        ),
    )
    with pytest.raises(ProviderAuthError) as caught:
        await gemini(peer).complete_json(system="s", user="u", schema=SCHEMA, schema_name="s")
    assert caught.value.retryable is False
    assert "TORALE_GEMINI_API_KEY" in caught.value.message
    assert "API key not valid" in caught.value.message


async def test_rate_limit_delay_from_retry_info(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        PATH,
        Reply(
            429,
            {
                "error": {
                    "code": 429,
                    "message": "Quota exceeded",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}
                    ],
                }
            },
        ),
    )
    with pytest.raises(ProviderRateLimited) as caught:
        await gemini(peer).complete_json(system="s", user="u", schema=SCHEMA, schema_name="s")
    assert caught.value.retry_after == 12.0


async def test_blocked_reply_without_text(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, Reply(body={"candidates": [{"finishReason": "SAFETY"}]}))
    with pytest.raises(InvalidLLMResponse, match="finish reason SAFETY"):
        await gemini(peer).complete_json(system="s", user="u", schema=SCHEMA, schema_name="s")
