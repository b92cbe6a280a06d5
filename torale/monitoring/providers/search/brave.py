"""Brave Search's web search API."""

from __future__ import annotations

from torale.monitoring.providers.base import SearchHit
from torale.monitoring.providers.http import json_body, send
from torale.monitoring.providers.search._common import KeyedSearchAPI, hits_from

_BRAVE_MAX_COUNT = 20


class BraveSearch(KeyedSearchAPI):
    name = "brave"
    label = "Brave Search"
    key_variable = "TORALE_BRAVE_API_KEY"

    async def search(self, query: str, *, max_results: int) -> list[SearchHit]:
        response = await send(
            self._client,
            self._endpoint,
            "GET",
            f"{self.base_url}/res/v1/web/search",
            params={"q": query, "count": min(max_results, _BRAVE_MAX_COUNT)},
            headers={"Accept": "application/json", "X-Subscription-Token": self._api_key},
        )
        body = json_body(response, self._endpoint)
        web = body.get("web") if isinstance(body, dict) else None
        # No `web` section is Brave's way of saying "nothing found".
        results = web.get("results") if isinstance(web, dict) else []
        return hits_from(
            results,
            self._endpoint,
            max_results=max_results,
            snippet_keys=["description"],
        )
