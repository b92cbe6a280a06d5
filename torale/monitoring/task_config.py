"""What a task's `config` may say, declared once: checked at save, at preview and at run.

A task's config picks among what the server has configured; URLs and keys come from
the server alone. Keys other than these are kept as given (the executor reads only
these). `check_task_config` refuses a value no run could use, whatever the server
has configured, so `{"max_results": 50}` is a 422 when the task is saved instead of
an `invalid_config` failure on every run.
"""

from __future__ import annotations

from typing import Any, get_args

from torale.monitoring.errors import ProviderConfigError
from torale.provider_settings import LLMProviderName, SearchProviderName

LLM_PROVIDERS: tuple[str, ...] = get_args(LLMProviderName)
SEARCH_PROVIDERS: tuple[str, ...] = get_args(SearchProviderName)
MAX_RESULTS_RANGE = (1, 20)

# The same rules as JSON Schema, for the OpenAPI document.
TASK_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Executor settings, merged over the server's defaults. Other keys are kept "
        "as given and not used."
    ),
    "properties": {
        "llm_provider": {"type": "string", "enum": list(LLM_PROVIDERS)},
        "model": {"type": "string", "pattern": r"\S", "description": "LLM model name"},
        "search_provider": {"type": "string", "enum": list(SEARCH_PROVIDERS)},
        "max_results": {
            "type": "integer",
            "minimum": MAX_RESULTS_RANGE[0],
            "maximum": MAX_RESULTS_RANGE[1],
            "description": "Search results read per run",
        },
    },
}


def choice(config: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if value not in allowed:
        raise ProviderConfigError(f"Task config {key}={value!r} is not one of {', '.join(allowed)}")
    return value


def model(config: dict[str, Any]) -> str | None:
    value = config.get("model")
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ProviderConfigError(f"Task config model={value!r} must be a non-empty string")
    return value


def max_results(config: dict[str, Any], default: int) -> int:
    value = config.get("max_results", default)
    low, high = MAX_RESULTS_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProviderConfigError(
            f"Task config max_results={value!r} must be an integer {low}-{high}"
        )
    return value


def check_task_config(config: dict[str, Any]) -> None:
    """Raise ProviderConfigError unless every known key holds a usable value."""
    choice(config, "llm_provider", LLM_PROVIDERS)
    choice(config, "search_provider", SEARCH_PROVIDERS)
    model(config)
    if "max_results" in config:
        max_results(config, MAX_RESULTS_RANGE[0])
