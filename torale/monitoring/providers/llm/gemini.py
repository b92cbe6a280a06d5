"""Gemini's native generateContent API, with Google Search grounding.

Gemini does not accept a response schema together with the search tool, so grounded
calls carry the schema in the prompt and the reply is parsed (and validated by the
caller) like any other model's text. Ungrounded calls also send it as `responseSchema`
(Gemini's OpenAPI subset, `torale.monitoring.structured.gemini_schema`) when every
object in it declares its properties.
"""

from __future__ import annotations

from typing import Any

from torale.monitoring.errors import InvalidLLMResponse
from torale.monitoring.providers.base import (
    GroundedReply,
    SearchHit,
    parse_json_object,
    schema_instructions,
)
from torale.monitoring.providers.http import json_body, send
from torale.monitoring.providers.llm._common import HostedLLM
from torale.monitoring.structured import gemini_schema


class GeminiLLM(HostedLLM):
    name = "gemini"
    label = "Gemini API"
    key_variable = "TORALE_GEMINI_API_KEY"

    async def complete_json(
        self, *, system: str, user: str, schema: dict[str, Any], schema_name: str
    ) -> dict[str, Any]:
        config: dict[str, Any] = {"responseMimeType": "application/json"}
        response_schema = gemini_schema(schema)
        if _every_object_declared(response_schema):
            # Gemini refuses OBJECT schemas without properties: a free-form state is
            # asked for through the prompt alone.
            config["responseSchema"] = response_schema
        body = await self._generate(system, user, schema, {"generationConfig": config})
        return parse_json_object(_text(body, self._endpoint.label), source=self._endpoint.label)

    async def grounded_json(
        self, *, system: str, user: str, schema: dict[str, Any], schema_name: str
    ) -> GroundedReply:
        body = await self._generate(system, user, schema, {"tools": [{"google_search": {}}]})
        data = parse_json_object(_text(body, self._endpoint.label), source=self._endpoint.label)
        return GroundedReply(data=data, sources=_grounding_sources(body))

    async def _generate(
        self, system: str, user: str, schema: dict[str, Any], extra: dict[str, Any]
    ) -> dict[str, Any]:
        response = await send(
            self._client,
            self._endpoint,
            "POST",
            f"{self.base_url}/v1beta/models/{self.model}:generateContent",
            headers={"x-goog-api-key": self._api_key},
            json={
                "systemInstruction": {
                    "parts": [{"text": f"{system}\n\n{schema_instructions(schema)}"}]
                },
                "contents": [{"role": "user", "parts": [{"text": user}]}],
                **extra,
            },
        )
        body = json_body(response, self._endpoint)
        if not isinstance(body, dict):
            raise InvalidLLMResponse(f"{self._endpoint.label} returned {str(body)[:200]}")
        return body


def _every_object_declared(schema: Any) -> bool:
    pending = [schema]
    while pending:
        item = pending.pop()
        if not isinstance(item, dict):
            continue
        if item.get("type") == "object" and not item.get("properties"):
            return False
        pending.extend((item.get("properties") or {}).values())
        pending.extend(item.get("anyOf") or [])
        if "items" in item:
            pending.append(item["items"])
    return True


def _candidate(body: dict[str, Any]) -> dict[str, Any]:
    candidates = body.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0]
    return {}


def _text(body: dict[str, Any], label: str) -> str:
    candidate = _candidate(body)
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))
    if not text.strip():
        reason = candidate.get("finishReason") or (body.get("promptFeedback") or {}).get(
            "blockReason"
        )
        raise InvalidLLMResponse(
            f"{label} returned no text" + (f" (finish reason {reason})" if reason else "")
        )
    return text


def _grounding_sources(body: dict[str, Any]) -> list[SearchHit]:
    metadata = _candidate(body).get("groundingMetadata") or {}
    hits = []
    for chunk in metadata.get("groundingChunks") or []:
        web = chunk.get("web") if isinstance(chunk, dict) else None
        if isinstance(web, dict) and web.get("uri"):
            hits.append(SearchHit(uri=web["uri"], title=web.get("title") or web["uri"]))
    return hits
