"""The README's provider setups are real: each one's exports configure that provider."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from torale.config import Settings
from torale.monitoring.providers.factory import build_providers
from torale.monitoring.providers.llm.gemini import GeminiLLM
from torale.monitoring.providers.llm.openai_compat import OpenAICompatibleLLM
from torale.monitoring.providers.search.searxng import SearxngSearch
from torale.provider_settings import ProviderSettings

README = Path(__file__).resolve().parent.parent / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _setups() -> dict[str, dict[str, str]]:
    """Bold label -> the variables its code block exports."""
    setups: dict[str, dict[str, str]] = {}
    # A bold label, then (before any other label) its first bash block.
    pattern = r"\*\*([^*]+)\*\*(?:(?!\*\*).)*?```bash\n(.*?)```"
    for label, block in re.findall(pattern, _section("Providers"), re.S):
        exports = re.findall(r"^export (TORALE_\w+)=(\S+)", block, re.M)
        setups[label] = dict(exports)
    return setups


def _configured(monkeypatch, *labels: str):
    for name in [n for n in dict(Settings.model_fields) if n.startswith(("llm_", "gemini_"))]:
        monkeypatch.delenv(f"TORALE_{name.upper()}", raising=False)
    setups = _setups()
    for label in labels:
        for name, value in setups[label].items():
            monkeypatch.setenv(name, value)
    return build_providers(ProviderSettings())


def test_first_steps_warn_before_anything_else_that_runs_need_providers():
    first_steps = _section("First steps")
    before_code = first_steps[: first_steps.index("```")]
    assert "Every run of a task fails until an LLM and a search provider are configured" in (
        before_code.replace("**", "").replace("\n", " ")
    )
    assert "(#providers)" in before_code


def test_every_variable_named_in_providers_is_a_real_setting():
    known = {f"TORALE_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"\bTORALE_[A-Z_]+\b", _section("Providers")))
    assert named and named <= known, named - known


@pytest.mark.parametrize("label", ["Ollama", "vLLM", "llama.cpp"])
def test_each_openai_compatible_setup_with_searxng_is_complete(monkeypatch, label):
    providers = _configured(monkeypatch, label, "SearXNG")
    assert isinstance(providers.llm, OpenAICompatibleLLM)
    assert providers.llm.base_url == _setups()[label]["TORALE_LLM_BASE_URL"]
    assert providers.llm.base_url.endswith("/v1")
    assert providers.llm.model == _setups()[label]["TORALE_LLM_MODEL"]
    assert isinstance(providers.search, SearxngSearch)
    assert providers.search.url == "http://127.0.0.1:8888"


def test_the_gemini_setup_needs_no_search_provider(monkeypatch):
    for name in ("TORALE_SEARCH_PROVIDER", "TORALE_SEARXNG_URL"):
        monkeypatch.delenv(name, raising=False)
    providers = _configured(monkeypatch, "Gemini")
    assert isinstance(providers.llm, GeminiLLM) and providers.search is None
