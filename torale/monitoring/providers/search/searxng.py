"""SearXNG's JSON API (the instance must list `json` under `search.formats`)."""

from __future__ import annotations

import httpx

from torale.monitoring.errors import ProviderAuthError
from torale.monitoring.providers.base import SearchHit
from torale.monitoring.providers.http import Endpoint, json_body, send
from torale.monitoring.providers.search._common import hits_from


class SearxngSearch:
    name = "searxng"

    def __init__(
        self, *, url: str, timeout: float = 20.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._client = client
        self._endpoint = Endpoint(
            label=f"SearXNG {self.url}",
            timeout=timeout,
            timeout_variable="TORALE_SEARCH_TIMEOUT_SECONDS",
        )

    async def search(self, query: str, *, max_results: int) -> list[SearchHit]:
        try:
            response = await send(
                self._client,
                self._endpoint,
                "GET",
                f"{self.url}/search",
                params={"q": query, "format": "json"},
                headers={"Accept": "application/json"},
            )
        except ProviderAuthError as exc:
            # The usual cause: the JSON format is disabled, which SearXNG answers with 403.
            raise ProviderAuthError(
                f"{exc.message}; if the instance is yours, enable the JSON API by adding "
                "`json` to `search.formats` in its settings.yml",
                upstream_status=exc.upstream_status,
            ) from exc
        body = json_body(response, self._endpoint)
        results = body.get("results") if isinstance(body, dict) else None
        return hits_from(results, self._endpoint, max_results=max_results, snippet_keys=["content"])
