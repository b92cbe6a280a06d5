"""Choose and build the providers for one execution from settings and the task's config.

A task's `config` may only pick among what the server has configured (`llm_provider`,
`model`, `search_provider`, `max_results`); URLs and keys come from the server alone, so
a task cannot point the worker at an address of its choosing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from torale.monitoring import task_config as task_config_rules
from torale.monitoring.errors import ProviderNotConfigured
from torale.monitoring.providers.base import LLMProvider, SearchProvider
from torale.monitoring.providers.fetch import PageFetcher
from torale.monitoring.providers.llm.gemini import GeminiLLM
from torale.monitoring.providers.llm.openai_compat import OpenAICompatibleLLM
from torale.monitoring.providers.search.brave import BraveSearch
from torale.monitoring.providers.search.searxng import SearxngSearch
from torale.monitoring.providers.search.tavily import TavilySearch
from torale.monitoring.providers.urlguard import UrlGuard
from torale.monitoring.task_config import LLM_PROVIDERS, SEARCH_PROVIDERS, check_task_config
from torale.provider_settings import (
    BRAVE_BASE_URL,
    GEMINI_BASE_URL,
    OPENAI_BASE_URL,
    TAVILY_BASE_URL,
    ProviderSettings,
)

NO_LLM_MESSAGE = (
    "No LLM provider configured: set TORALE_LLM_BASE_URL and TORALE_LLM_MODEL "
    "(OpenAI-compatible; plus TORALE_LLM_API_KEY if the endpoint needs one) "
    "or TORALE_GEMINI_API_KEY"
)


@dataclass(frozen=True)
class Providers:
    llm: LLMProvider
    search: SearchProvider | None
    fetcher: PageFetcher
    max_results: int


def build_providers(
    settings: Any | None = None,
    task_config: dict[str, Any] | None = None,
    *,
    http_client: httpx.AsyncClient | None = None,
    url_guard: UrlGuard | None = None,
) -> Providers:
    """`settings` is any object with `ProviderSettings`' attribute names (missing ones
    take its defaults), so the main `Settings` can carry these fields later.

    `http_client` is shared by the LLM and search providers (trusted, configured URLs);
    page fetches never use it, they go through the SSRF-guarded client.
    """
    s = _Lookup(settings if settings is not None else ProviderSettings())
    config = dict(task_config or {})
    check_task_config(config)
    return Providers(
        llm=_build_llm(s, config, http_client),
        search=_build_search(s, config, http_client),
        fetcher=PageFetcher(
            allow_private=bool(s.get("allow_private_urls")),
            url_guard=url_guard,
            timeout=s.get("fetch_timeout_seconds"),
            max_bytes=s.get("fetch_max_bytes"),
        ),
        max_results=task_config_rules.max_results(config, s.get("search_max_results")),
    )


class _Lookup:
    _defaults = ProviderSettings.model_fields

    def __init__(self, source: Any) -> None:
        self._source = source

    def get(self, name: str) -> Any:
        if hasattr(self._source, name):
            return getattr(self._source, name)
        return self._defaults[name].default


def _build_llm(s: _Lookup, config: dict[str, Any], client: httpx.AsyncClient | None) -> LLMProvider:
    kind = task_config_rules.choice(config, "llm_provider", LLM_PROVIDERS) or s.get("llm_provider")
    openai_ready = bool(s.get("llm_base_url") or s.get("llm_api_key"))
    if kind is None:
        kind = "openai" if openai_ready else "gemini" if s.get("gemini_api_key") else None
    if kind is None:
        raise ProviderNotConfigured(NO_LLM_MESSAGE)
    model = task_config_rules.model(config)
    timeout = s.get("llm_timeout_seconds")
    if kind == "gemini":
        if not s.get("gemini_api_key"):
            raise ProviderNotConfigured(
                "Gemini was chosen as the LLM provider but TORALE_GEMINI_API_KEY is not set"
            )
        return GeminiLLM(
            api_key=s.get("gemini_api_key"),
            model=model or s.get("gemini_model"),
            base_url=s.get("gemini_base_url") or GEMINI_BASE_URL,
            timeout=timeout,
            client=client,
        )
    if not openai_ready:
        raise ProviderNotConfigured(
            "The OpenAI-compatible LLM provider was chosen but TORALE_LLM_BASE_URL is not set "
            "(or TORALE_LLM_API_KEY, for api.openai.com)"
        )
    model = model or s.get("llm_model")
    if not model:
        raise ProviderNotConfigured(
            "No LLM model configured: set TORALE_LLM_MODEL (e.g. gpt-4o-mini, llama3.1)"
        )
    return OpenAICompatibleLLM(
        base_url=s.get("llm_base_url") or OPENAI_BASE_URL,
        model=model,
        api_key=s.get("llm_api_key"),
        timeout=timeout,
        client=client,
    )


def _build_search(
    s: _Lookup, config: dict[str, Any], client: httpx.AsyncClient | None
) -> SearchProvider | None:
    kind = task_config_rules.choice(config, "search_provider", SEARCH_PROVIDERS)
    kind = kind or s.get("search_provider")
    if kind is None:
        kind = next(
            (
                name
                for name, setting in (
                    ("searxng", "searxng_url"),
                    ("tavily", "tavily_api_key"),
                    ("brave", "brave_api_key"),
                )
                if s.get(setting)
            ),
            "none",
        )
    timeout = s.get("search_timeout_seconds")
    if kind == "none":
        return None
    if kind == "searxng":
        url = _required(s, "searxng_url", "SearXNG")
        return SearxngSearch(url=url, timeout=timeout, client=client)
    if kind == "tavily":
        return TavilySearch(
            api_key=_required(s, "tavily_api_key", "Tavily"),
            base_url=s.get("tavily_base_url") or TAVILY_BASE_URL,
            timeout=timeout,
            client=client,
        )
    return BraveSearch(
        api_key=_required(s, "brave_api_key", "Brave"),
        base_url=s.get("brave_base_url") or BRAVE_BASE_URL,
        timeout=timeout,
        client=client,
    )


def _required(s: _Lookup, name: str, label: str) -> str:
    value = s.get(name)
    if not value:
        raise ProviderNotConfigured(
            f"{label} was chosen as the search provider but TORALE_{name.upper()} is not set"
        )
    return value
