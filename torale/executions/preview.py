"""Preview (search + evaluate once, save nothing) and suggest (a task draft from a prompt).

Both call providers synchronously inside the request; a provider failure is a
`ProviderError`, which is an `Unavailable`, so the client gets 503 with the
provider's readable message and nothing was stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torale.config import Settings
from torale.errors import ValidationFailed
from torale.input_limits import check_json
from torale.monitoring.output_schema import check_output_schema
from torale.tasks import validation as rules

if TYPE_CHECKING:
    from torale.monitoring.evaluation import EvaluationResult

# The LLM/search providers, the evaluation and the drafting prompt are imported by the
# calls below, not with this module: an API process loads them on its first preview or
# suggest, and one that never drafts never does.


async def preview(
    settings: Settings,
    search_query: str,
    condition_description: str,
    # Client JSON, unchecked: the task rules below check each one's shape.
    config: object = None,
    output_schema: object = None,
) -> EvaluationResult:
    errors = []
    checked: dict[str, Any] = {}
    for name, value, check in (
        ("search_query", search_query, lambda v: rules.check_text("search_query", v)),
        (
            "condition_description",
            condition_description,
            lambda v: rules.check_text("condition_description", v),
        ),
        ("config", config if config is not None else {}, rules.check_config),
        ("output_schema", output_schema, lambda v: v if v is None else check_output_schema(v)),
    ):
        try:
            checked[name] = check(value)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    # Imported here, like the providers below: the fetcher loads httpx.
    from torale.monitoring.providers.fetch import refused_page_url

    refused = await refused_page_url(
        checked["search_query"], allow_private=settings.allow_private_urls
    )
    if refused:
        raise ValidationFailed.field(["body", "search_query"], refused)
    from torale.monitoring.evaluation import EvaluationInput, evaluate
    from torale.monitoring.providers.factory import build_providers

    # The config passed the task rules above; what is left is the server's own setup.
    providers = build_providers(settings, checked["config"])
    return await evaluate(
        EvaluationInput(
            search_query=checked["search_query"],
            condition_description=checked["condition_description"],
            output_schema=checked["output_schema"],
        ),
        providers,
    )


async def suggest(settings: Settings, prompt: str, current_task: object = None) -> dict[str, str]:
    if current_task is not None and not isinstance(current_task, dict):
        raise ValidationFailed.field(["body", "current_task"], "Must be an object")
    from torale.monitoring.providers.factory import build_providers
    from torale.monitoring.suggest import DEFAULT_SCHEDULE, check_prompt, suggest_task

    if current_task is not None:
        check_json(["body", "current_task"], current_task)
    # Bad input is a 422 whether or not a provider is configured.
    prompt = check_prompt(prompt)
    # Only the LLM is needed: a misconfigured search provider must not block drafting.
    llm = build_providers(settings, {"search_provider": "none"}).llm
    min_interval = settings.min_schedule_interval_seconds
    draft = await suggest_task(llm, prompt, current_task, min_interval_seconds=min_interval)
    # Belt and braces: the draft must pass the very checks task creation applies.
    try:
        draft["schedule"] = rules.check_cron(draft["schedule"], min_interval)
    except ValidationFailed:
        draft["schedule"] = DEFAULT_SCHEDULE
    return draft
