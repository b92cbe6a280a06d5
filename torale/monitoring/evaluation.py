"""Search, then ask the LLM whether the task's condition is met and what the state is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from torale.errors import ValidationFailed
from torale.input_limits import check_json
from torale.monitoring.errors import InvalidLLMResponse, ProviderNotConfigured
from torale.monitoring.providers.base import (
    GroundedLLMProvider,
    GroundedReply,
    SearchHit,
    validate_reply,
)
from torale.monitoring.providers.factory import Providers
from torale.monitoring.providers.fetch import FetchedPage, urls_in
from torale.monitoring.sources import Source, clean_sources
from torale.monitoring.structured import envelope_schema, state_problem

PAGE_TEXT_LIMIT = 12_000  # characters of each fetched page given to the model

EVALUATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "condition_met": {"type": "boolean"},
        "answer": {"type": "string"},
        "reasoning": {"type": "string"},
        "current_state": {
            "description": "The facts the condition depends on, as a small JSON object "
            '(e.g. {"price": "$449", "in_stock": true}); null when nothing was found.',
            "type": ["object", "null"],
        },
    },
    "required": ["condition_met", "answer", "reasoning", "current_state"],
    "additionalProperties": False,
}

_SYSTEM = (
    "You monitor the web for a user. Decide from the evidence whether the user's condition "
    "is met right now. Be strict: only say condition_met=true when the evidence clearly "
    "shows it; say false when it is absent, ambiguous or only rumoured. `answer` is a short "
    "direct answer for the user, `reasoning` explains which evidence decided it, and "
    "`current_state` captures the facts the condition depends on, with stable keys so two "
    "runs can be compared."
)


class EvaluationReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    condition_met: bool
    answer: str
    reasoning: str
    current_state: dict[str, Any] | list[Any] | None = None

    @field_validator("current_state")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Stored as the task's `last_known_state` and read on every list: held to the
        # same JSON limits as user input (a page can steer what the model writes).
        try:
            return check_json(["current_state"], value)
        except ValidationFailed as exc:
            raise ValueError(exc.errors[0].msg) from None


@dataclass(frozen=True)
class EvaluationInput:
    search_query: str
    condition_description: str
    last_known_state: Any = None
    # The task's JSON Schema for current_state (structured results), if it has one.
    output_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class EvaluationResult:
    condition_met: bool
    answer: str
    reasoning: str
    current_state: Any
    sources: list[Source] = field(default_factory=list)

    @property
    def grounding_sources(self) -> list[dict[str, str]]:
        return [s.as_dict() for s in self.sources]


async def evaluate(
    task: EvaluationInput, providers: Providers, *, now: datetime | None = None
) -> EvaluationResult:
    urls = urls_in(task.search_query)
    grounded_llm = _grounded_llm(providers)
    grounded = grounded_llm is not None
    if providers.search is None and not grounded and not urls:
        raise ProviderNotConfigured(
            "No search provider configured and the LLM cannot search by itself: set "
            "TORALE_SEARCH_PROVIDER with TORALE_SEARXNG_URL, TORALE_TAVILY_API_KEY or "
            "TORALE_BRAVE_API_KEY, or use Gemini (TORALE_GEMINI_API_KEY), or put the "
            "page's URL in the search query"
        )
    pages = [await providers.fetcher.fetch(url) for url in urls]
    hits: list[SearchHit] = []
    if providers.search is not None:
        hits = await providers.search.search(task.search_query, max_results=providers.max_results)
    user = _prompt(task, pages, hits, now or datetime.now(UTC), grounded=grounded)
    label = f"LLM {providers.llm.name}"
    schema = EVALUATION_SCHEMA
    if task.output_schema is not None:
        schema = envelope_schema(EVALUATION_SCHEMA, task.output_schema)
    grounding: list[SearchHit] = []
    if task.output_schema is not None:
        reply, grounding = await _structured_reply(
            providers, user, schema, task.output_schema, grounded_llm=grounded_llm, label=label
        )
    else:
        answered = await _ask(providers, user, schema, grounded_llm=grounded_llm)
        reply = validate_reply(answered.data, EvaluationReply, source=label)
        grounding = answered.sources
    sources = clean_sources(
        [(p.uri, p.title, p.text) for p in pages]
        + [(h.uri, h.title, h.snippet) for h in hits]
        + [(h.uri, h.title, h.snippet) for h in grounding]
    )
    return EvaluationResult(
        condition_met=reply.condition_met,
        answer=reply.answer.strip(),
        reasoning=reply.reasoning.strip(),
        current_state=reply.current_state,
        sources=sources,
    )


def _grounded_llm(providers: Providers) -> GroundedLLMProvider | None:
    """The LLM when it is to search by itself: no search provider, and it can."""
    llm = providers.llm
    if providers.search is None and isinstance(llm, GroundedLLMProvider):
        return llm
    return None


async def _ask(
    providers: Providers,
    user: str,
    schema: dict[str, Any],
    *,
    grounded_llm: GroundedLLMProvider | None,
) -> GroundedReply:
    """The model's reply; with the pages it found when it searches by itself."""
    if grounded_llm is not None:
        return await grounded_llm.grounded_json(
            system=_SYSTEM, user=user, schema=schema, schema_name="evaluation"
        )
    data = await providers.llm.complete_json(
        system=_SYSTEM, user=user, schema=schema, schema_name="evaluation"
    )
    return GroundedReply(data)


async def _structured_reply(
    providers: Providers,
    user: str,
    schema: dict[str, Any],
    output_schema: dict[str, Any],
    *,
    grounded_llm: GroundedLLMProvider | None,
    label: str,
) -> tuple[EvaluationReply, list[SearchHit]]:
    """Ask for the declared shape, check it, and give the model one chance to repair
    its reply; a second miss is a readable, final failure."""
    grounding: list[SearchHit] = []
    data: dict[str, Any] | None = None
    try:
        answered = await _ask(providers, user, schema, grounded_llm=grounded_llm)
        data, grounding = answered.data, answered.sources
        reply, problem = _checked(data, output_schema, label)
    except InvalidLLMResponse as exc:
        reply, problem = None, exc.message
    if reply is not None and problem is None:
        return reply, grounding
    # The repair needs no search: the evidence is in the prompt and the first reply.
    repair = await providers.llm.complete_json(
        system=_SYSTEM,
        user=_repair_prompt(user, data, problem or ""),
        schema=schema,
        schema_name="evaluation",
    )
    reply, again = _checked(repair, output_schema, label)
    if reply is None or again is not None:
        raise InvalidLLMResponse(
            f"{label} did not return a result matching the task's output_schema, even "
            f"after one repair attempt: {again}",
            retryable=False,
        )
    return reply, grounding


def _checked(
    data: dict[str, Any], output_schema: dict[str, Any], label: str
) -> tuple[EvaluationReply | None, str | None]:
    """(reply, None) when it conforms; (reply or None, what is wrong) otherwise."""
    try:
        reply = validate_reply(data, EvaluationReply, source=label)
    except InvalidLLMResponse as exc:
        return None, exc.message
    return reply, state_problem(output_schema, reply.current_state)


def _repair_prompt(user: str, previous: dict[str, Any] | None, problem: str) -> str:
    shown = json.dumps(previous, ensure_ascii=False, default=str)[:4000] if previous else "none"
    return (
        f"{user}\n\nYour previous answer was:\n{shown}\n\nIt does not match the required "
        f"JSON schema: {problem}\nAnswer again with the same facts, corrected so that "
        "`current_state` matches the schema exactly."
    )


def _prompt(
    task: EvaluationInput,
    pages: list[FetchedPage],
    hits: list[SearchHit],
    now: datetime,
    *,
    grounded: bool,
) -> str:
    parts = [
        f"Current time (UTC): {now.isoformat(timespec='minutes')}",
        f"What to look for: {task.search_query}",
        f"Condition: {task.condition_description}",
    ]
    if task.last_known_state is not None:
        parts.append(
            "State found last time (reuse its keys where they still apply): "
            + json.dumps(task.last_known_state, ensure_ascii=False, default=str)
        )
    evidence = [f"[{n}] {p.title} <{p.uri}>\n{_page_text(p)}" for n, p in enumerate(pages, start=1)]
    evidence += [
        f"[{n}] {h.title} <{h.uri}>\n{h.snippet or ''}"
        for n, h in enumerate(hits, start=len(pages) + 1)
    ]
    if grounded:
        parts.append("Search the web for current information before answering.")
    if evidence:
        parts.append("Evidence:\n\n" + "\n\n".join(evidence))
    elif not grounded:
        parts.append("Evidence: the search found nothing.")
    return "\n\n".join(parts)


def _page_text(page: FetchedPage) -> str:
    text = page.text[:PAGE_TEXT_LIMIT]
    if page.truncated or len(page.text) > PAGE_TEXT_LIMIT:
        text += "\n[page truncated]"
    return text or "(the page has no readable text)"
