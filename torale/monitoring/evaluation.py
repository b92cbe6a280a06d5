"""Search, then ask the LLM whether the task's condition is met and what the state is."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from torale.errors import ValidationFailed
from torale.input_limits import check_json
from torale.monitoring.errors import ProviderNotConfigured
from torale.monitoring.providers.base import GroundedLLMProvider, SearchHit, validate_reply
from torale.monitoring.providers.factory import Providers
from torale.monitoring.providers.fetch import FetchedPage, urls_in
from torale.monitoring.sources import Source, clean_sources

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

    def result_dict(self) -> dict[str, Any]:
        """The execution's `result` column (SPEC §6)."""
        return {
            "answer": self.answer,
            "reasoning": self.reasoning,
            "condition_met": self.condition_met,
            "sources_count": len(self.sources),
        }


async def evaluate(
    task: EvaluationInput, providers: Providers, *, now: datetime | None = None
) -> EvaluationResult:
    urls = urls_in(task.search_query)
    grounded = providers.search is None and isinstance(providers.llm, GroundedLLMProvider)
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
    grounding: list[SearchHit] = []
    if grounded:
        reply_with_sources = await providers.llm.grounded_json(  # type: ignore[union-attr]
            system=_SYSTEM, user=user, schema=EVALUATION_SCHEMA, schema_name="evaluation"
        )
        data, grounding = reply_with_sources.data, reply_with_sources.sources
    else:
        data = await providers.llm.complete_json(
            system=_SYSTEM, user=user, schema=EVALUATION_SCHEMA, schema_name="evaluation"
        )
    reply = validate_reply(data, EvaluationReply, source=label)
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
