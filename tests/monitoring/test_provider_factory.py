from __future__ import annotations

from types import SimpleNamespace

import pytest

from torale.monitoring.errors import ProviderConfigError, ProviderNotConfigured
from torale.monitoring.providers.factory import build_providers
from torale.monitoring.providers.llm.gemini import GeminiLLM
from torale.monitoring.providers.llm.openai_compat import OpenAICompatibleLLM
from torale.monitoring.providers.search.brave import BraveSearch
from torale.monitoring.providers.search.searxng import SearxngSearch
from torale.monitoring.providers.search.tavily import TavilySearch
from torale.provider_settings import ProviderSettings

OPENAI = {"llm_base_url": "http://llm.local/v1", "llm_model": "llama3.1"}


def settings(**values) -> SimpleNamespace:
    return SimpleNamespace(**values)


def test_nothing_configured_names_the_variables() -> None:
    with pytest.raises(ProviderNotConfigured) as caught:
        build_providers(settings())
    message = caught.value.message
    assert message.startswith("No LLM provider configured")
    for variable in ("TORALE_LLM_BASE_URL", "TORALE_LLM_MODEL", "TORALE_GEMINI_API_KEY"):
        assert variable in message
    assert caught.value.retryable is False
    assert caught.value.error_type == "not_configured"


def test_openai_compatible_needs_a_model() -> None:
    with pytest.raises(ProviderNotConfigured, match="TORALE_LLM_MODEL"):
        build_providers(settings(llm_base_url="http://llm.local/v1"))


def test_openai_compatible_chosen_and_task_model_overrides() -> None:
    providers = build_providers(settings(**OPENAI), {"model": "qwen2.5"})
    assert isinstance(providers.llm, OpenAICompatibleLLM)
    assert providers.llm.model == "qwen2.5"
    assert providers.llm.base_url == "http://llm.local/v1"
    assert providers.search is None


def test_api_key_alone_means_api_openai_com() -> None:
    providers = build_providers(settings(llm_api_key="sk", llm_model="gpt-4o-mini"))
    assert providers.llm.base_url == "https://api.openai.com/v1"


def test_gemini_when_only_its_key_is_set() -> None:
    providers = build_providers(settings(gemini_api_key="g"))
    assert isinstance(providers.llm, GeminiLLM)
    assert providers.llm.model == "gemini-2.5-flash"
    assert providers.llm.base_url == "https://generativelanguage.googleapis.com"


def test_task_can_pick_gemini_only_if_configured() -> None:
    both = settings(**OPENAI, gemini_api_key="g")
    assert isinstance(build_providers(both, {"llm_provider": "gemini"}).llm, GeminiLLM)
    with pytest.raises(ProviderNotConfigured, match="TORALE_GEMINI_API_KEY"):
        build_providers(settings(**OPENAI), {"llm_provider": "gemini"})


def test_search_auto_selection_and_task_override() -> None:
    s = settings(**OPENAI, searxng_url="http://searx.local", brave_api_key="b")
    assert isinstance(build_providers(s).search, SearxngSearch)
    assert isinstance(build_providers(s, {"search_provider": "brave"}).search, BraveSearch)
    assert build_providers(s, {"search_provider": "none"}).search is None
    tavily = build_providers(settings(**OPENAI, tavily_api_key="t")).search
    assert isinstance(tavily, TavilySearch)
    assert tavily.base_url == "https://api.tavily.com"


def test_chosen_search_without_its_setting_names_it() -> None:
    with pytest.raises(ProviderNotConfigured, match="TORALE_SEARXNG_URL"):
        build_providers(settings(**OPENAI, search_provider="searxng"))
    with pytest.raises(ProviderNotConfigured, match="TORALE_BRAVE_API_KEY"):
        build_providers(settings(**OPENAI), {"search_provider": "brave"})


def test_bad_task_config_values() -> None:
    s = settings(**OPENAI)
    with pytest.raises(ProviderConfigError, match="search_provider='bing'"):
        build_providers(s, {"search_provider": "bing"})
    with pytest.raises(ProviderConfigError, match="max_results"):
        build_providers(s, {"max_results": 500})
    with pytest.raises(ProviderConfigError, match="model"):
        build_providers(s, {"model": ""})


def test_task_config_cannot_redirect_providers() -> None:
    providers = build_providers(
        settings(**OPENAI), {"llm_base_url": "http://169.254.169.254", "max_results": 3}
    )
    assert providers.llm.base_url == "http://llm.local/v1"
    assert providers.max_results == 3


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORALE_LLM_PROVIDER", "gemini")
    monkeypatch.setenv("TORALE_GEMINI_API_KEY", "env-key")
    monkeypatch.setenv("TORALE_GEMINI_BASE_URL", "http://gemini.local")
    monkeypatch.setenv("TORALE_SEARCH_PROVIDER", "brave")
    monkeypatch.setenv("TORALE_BRAVE_API_KEY", "brave-key")
    monkeypatch.setenv("TORALE_LLM_TIMEOUT_SECONDS", "12.5")
    providers = build_providers(ProviderSettings())
    assert isinstance(providers.llm, GeminiLLM)
    assert providers.llm.base_url == "http://gemini.local"
    assert isinstance(providers.search, BraveSearch)
    assert providers.search.base_url == "https://api.search.brave.com"


def test_unknown_provider_name_in_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORALE_SEARCH_PROVIDER", "bing")
    with pytest.raises(ValueError, match="search_provider"):
        ProviderSettings()
