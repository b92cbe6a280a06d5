"""The interfaces every provider implements, and the JSON handling they share."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from torale.monitoring.errors import InvalidLLMResponse


@dataclass(frozen=True)
class SearchHit:
    uri: str
    title: str
    snippet: str | None = None


@dataclass(frozen=True)
class GroundedReply:
    data: dict[str, Any]
    sources: list[SearchHit] = field(default_factory=list)


@runtime_checkable
class SearchProvider(Protocol):
    # Read-only: a provider may name itself with a class constant.
    @property
    def name(self) -> str: ...

    async def search(self, query: str, *, max_results: int) -> list[SearchHit]: ...


@runtime_checkable
class LLMProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def complete_json(
        self, *, system: str, user: str, schema: dict[str, Any], schema_name: str
    ) -> dict[str, Any]:
        """One JSON object answering `user`, shaped by `schema` as far as the server can."""
        ...


@runtime_checkable
class GroundedLLMProvider(LLMProvider, Protocol):
    """An LLM that searches the web itself and reports which pages it used."""

    async def grounded_json(
        self, *, system: str, user: str, schema: dict[str, Any], schema_name: str
    ) -> GroundedReply: ...


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def parse_json_object(text: str | None, *, source: str) -> dict[str, Any]:
    """The JSON object in a model's text; tolerates a ``` fence or prose around it."""
    if not text or not text.strip():
        raise InvalidLLMResponse(f"{source} returned an empty reply instead of JSON")
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    try:
        value = json.loads(candidate)
    except ValueError:
        # Models without a JSON mode sometimes wrap the object in a sentence.
        start, end = candidate.find("{"), candidate.rfind("}")
        try:
            value = json.loads(candidate[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            value = None
        if value is None:
            raise InvalidLLMResponse(f"{source} returned malformed JSON: {text[:200]!r}") from None
    if not isinstance(value, dict):
        raise InvalidLLMResponse(f"{source} returned JSON that is not an object: {text[:200]!r}")
    return value


Model = TypeVar("Model", bound=BaseModel)


def validate_reply(data: dict[str, Any], model: type[Model], *, source: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidLLMResponse(
            f"{source} returned JSON that does not match the expected shape: {problems}"
        ) from exc


def schema_instructions(schema: dict[str, Any]) -> str:
    """For servers without schema enforcement: the schema goes into the prompt instead."""
    return (
        "Answer with one JSON object only, no prose and no code fence, matching this "
        f"JSON schema:\n{json.dumps(schema, separators=(',', ':'))}"
    )
