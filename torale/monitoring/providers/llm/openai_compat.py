"""Any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, llama.cpp ...)."""

from __future__ import annotations

from typing import Any

from torale.monitoring.errors import InvalidLLMResponse, ProviderRejected
from torale.monitoring.providers.base import parse_json_object, schema_instructions
from torale.monitoring.providers.http import json_body, send
from torale.monitoring.providers.llm._common import HostedLLM


class OpenAICompatibleLLM(HostedLLM):
    name = "openai"
    label = "LLM endpoint"
    key_variable = "TORALE_LLM_API_KEY"
    # Servers that refuse `json_schema` refuse it every time: remember, skip the 400.
    _json_schema_supported = True

    async def complete_json(
        self, *, system: str, user: str, schema: dict[str, Any], schema_name: str
    ) -> dict[str, Any]:
        if self._json_schema_supported:
            try:
                return await self._complete(
                    system,
                    user,
                    {
                        "type": "json_schema",
                        "json_schema": {
                            "name": schema_name,
                            "schema": schema,
                            "strict": _strict_compatible(schema),
                        },
                    },
                )
            except ProviderRejected as exc:
                if exc.upstream_status not in (400, 422):
                    raise
                self._json_schema_supported = False
        # JSON mode does not take a schema, and OpenAI requires the word "JSON" in the prompt.
        return await self._complete(
            f"{system}\n\n{schema_instructions(schema)}", user, {"type": "json_object"}
        )

    async def _complete(
        self, system: str, user: str, response_format: dict[str, Any]
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        response = await send(
            self._client,
            self._endpoint,
            "POST",
            f"{self.base_url}/chat/completions",
            headers=headers,
            json={
                "model": self.model,
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                "response_format": response_format,
            },
        )
        body = json_body(response, self._endpoint)
        try:
            message = body["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise InvalidLLMResponse(
                f"{self._endpoint.label} returned no choices[0].message: {str(body)[:200]}"
            ) from None
        if message.get("refusal"):
            raise InvalidLLMResponse(
                f"{self._endpoint.label} refused to answer: {message['refusal']}",
                retryable=False,
            )
        return parse_json_object(message.get("content"), source=self._endpoint.label)


def _strict_compatible(schema: dict[str, Any]) -> bool:
    """OpenAI's strict mode needs every object closed and fully required; free-form
    objects (an extracted `current_state`) cannot be, so those schemas go non-strict."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds:
        properties = schema.get("properties")
        if not properties or schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required", [])) != set(properties):
            return False
        if not all(_strict_compatible(p) for p in properties.values()):
            return False
    if "array" in kinds and isinstance(schema.get("items"), dict):
        return _strict_compatible(schema["items"])
    return all(_strict_compatible(option) for option in schema.get("anyOf", []))
