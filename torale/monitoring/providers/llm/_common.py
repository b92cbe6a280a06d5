"""What the hosted LLMs share: a model name, and the model in every error message."""

from __future__ import annotations

import httpx

from torale.monitoring.providers.http import HostedAPI


class HostedLLM(HostedAPI):
    timeout_variable = "TORALE_LLM_TIMEOUT_SECONDS"
    default_timeout = 60.0

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            client=client,
            detail=f" (model {model})",
        )
        self.model = model
