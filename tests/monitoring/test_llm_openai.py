from __future__ import annotations

import pytest
from monitoring_peer import Reply, ScriptedServer, chat_json, chat_reply

from torale.monitoring.changes import CHANGE_SCHEMA
from torale.monitoring.errors import (
    InvalidLLMResponse,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from torale.monitoring.evaluation import EVALUATION_SCHEMA
from torale.monitoring.providers.llm.openai_compat import OpenAICompatibleLLM

PATH = "/v1/chat/completions"


def llm(peer: ScriptedServer, timeout: float = 5.0) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(
        base_url=f"{peer.url}/v1", model="test-model", api_key="sk-test", timeout=timeout
    )


async def ask(client: OpenAICompatibleLLM, schema: dict = CHANGE_SCHEMA) -> dict:
    return await client.complete_json(system="sys", user="usr", schema=schema, schema_name="x")


async def test_sends_json_schema_request_and_parses_content(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, chat_json({"changed": True, "summary": "s"}))
    assert await ask(llm(peer)) == {"changed": True, "summary": "s"}
    request = peer.requests_to(PATH)[0]
    assert request.headers["authorization"] == "Bearer sk-test"
    body = request.json()
    assert body["model"] == "test-model"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"] == {"name": "x", "schema": CHANGE_SCHEMA, "strict": True}


async def test_free_form_schema_is_sent_non_strict(peer: ScriptedServer) -> None:
    # A free-form `current_state` object cannot satisfy OpenAI's strict mode.
    peer.script("POST", PATH, chat_json({"condition_met": False}))
    await ask(llm(peer), EVALUATION_SCHEMA)
    assert peer.requests_to(PATH)[0].json()["response_format"]["json_schema"]["strict"] is False


async def test_json_schema_rejected_falls_back_to_json_mode_once(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        PATH,
        Reply(400, {"error": {"message": "response_format json_schema is not supported"}}),
        chat_json({"changed": False, "summary": ""}),
    )
    client = llm(peer)
    assert await ask(client) == {"changed": False, "summary": ""}
    await ask(client)
    formats = [r.json()["response_format"]["type"] for r in peer.requests_to(PATH)]
    # The refusal is remembered: the second call goes straight to JSON mode.
    assert formats == ["json_schema", "json_object", "json_object"]
    fallback_system = peer.requests_to(PATH)[1].json()["messages"][0]["content"]
    assert "JSON schema" in fallback_system and '"summary"' in fallback_system


async def test_401_is_not_retryable_and_names_the_variable(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, Reply(401, {"error": {"message": "Incorrect API key provided"}}))
    with pytest.raises(ProviderAuthError) as caught:
        await ask(llm(peer))
    error = caught.value
    assert error.retryable is False
    assert error.error_type == "provider_auth"
    assert "HTTP 401" in error.message
    assert "Incorrect API key provided" in error.message
    assert "TORALE_LLM_API_KEY" in error.message


async def test_429_is_retryable_with_retry_after(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"}))
    with pytest.raises(ProviderRateLimited) as caught:
        await ask(llm(peer))
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    assert caught.value.error_type == "provider_rate_limited"


async def test_500_is_retryable(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, Reply(500, "upstream exploded"))
    with pytest.raises(ProviderUnavailable) as caught:
        await ask(llm(peer))
    assert caught.value.retryable is True
    assert "HTTP 500" in caught.value.message and "upstream exploded" in caught.value.message


async def test_malformed_json_content(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, chat_reply('{"changed": true, "summary": '))
    with pytest.raises(InvalidLLMResponse) as caught:
        await ask(llm(peer))
    assert caught.value.retryable is True
    assert caught.value.error_type == "invalid_llm_response"
    assert "malformed JSON" in caught.value.message


async def test_fenced_json_is_accepted(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, chat_reply('```json\n{"changed": false, "summary": "x"}\n```'))
    assert await ask(llm(peer)) == {"changed": False, "summary": "x"}


async def test_refusal_is_reported(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, chat_reply(None, refusal="I can't help with that"))
    with pytest.raises(InvalidLLMResponse, match="refused to answer: I can't help"):
        await ask(llm(peer))


async def test_timeout(peer: ScriptedServer) -> None:
    peer.script("POST", PATH, Reply(body={"choices": []}, delay=1.0))
    with pytest.raises(ProviderTimeout) as caught:
        await ask(llm(peer, timeout=0.2))
    assert caught.value.retryable is True
    assert "0.2s" in caught.value.message
    assert "TORALE_LLM_TIMEOUT_SECONDS" in caught.value.message


async def test_connection_refused_is_retryable() -> None:
    server = ScriptedServer()
    server.close()  # the port is now closed
    client = OpenAICompatibleLLM(base_url=server.url, model="m", timeout=2)
    with pytest.raises(ProviderUnavailable, match="unreachable") as caught:
        await ask(client)
    assert caught.value.retryable is True
