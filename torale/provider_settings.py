"""Provider settings, read from `TORALE_*` variables.

Kept apart from `torale.config.Settings` (which extends them) so the providers can be
built and tested on their own; `build_providers` (torale.monitoring.providers) accepts
any object with these attribute names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LLMProviderName = Literal["openai", "gemini"]
SearchProviderName = Literal["searxng", "tavily", "brave", "none"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
TAVILY_BASE_URL = "https://api.tavily.com"
BRAVE_BASE_URL = "https://api.search.brave.com"


class ProviderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TORALE_", extra="ignore", frozen=True)

    # Unset means "pick whichever is configured" (OpenAI-compatible first).
    llm_provider: LLMProviderName | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    gemini_api_key: str | None = None
    gemini_base_url: str = GEMINI_BASE_URL
    gemini_model: str = "gemini-2.5-flash"
    llm_timeout_seconds: float = Field(default=60.0, gt=0)

    search_provider: SearchProviderName | None = None
    searxng_url: str | None = None
    tavily_api_key: str | None = None
    tavily_base_url: str = TAVILY_BASE_URL
    brave_api_key: str | None = None
    brave_base_url: str = BRAVE_BASE_URL
    search_timeout_seconds: float = Field(default=20.0, gt=0)
    search_max_results: int = Field(default=5, ge=1, le=20)

    fetch_timeout_seconds: float = Field(default=15.0, gt=0)
    fetch_max_bytes: int = Field(default=2_000_000, ge=1_000)
    allow_private_urls: bool = False
