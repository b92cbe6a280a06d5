"""Tavily's search API."""

from __future__ import annotations

from torale.monitoring.providers.base import SearchHit
from torale.monitoring.providers.http import json_body, send
from torale.monitoring.providers.search._common import KeyedSearchAPI, hits_from


class TavilySearch(KeyedSearchAPI):
    name = "tavily"
    label = "Tavily"
    key_variable = "TORALE_TAVILY_API_KEY"

    async def search(self, query: str, *, max_results: int) -> list[SearchHit]:
        response = await send(
            self._client,
            self._endpoint,
            "POST",
            f"{self.base_url}/search",
            headers={"Authorization": f"Bearer {self._api_key}"},
            json={"query": query, "max_results": max_results, "search_depth": "basic"},
        )
        body = json_body(response, self._endpoint)
        results = body.get("results") if isinstance(body, dict) else None
        return hits_from(results, self._endpoint, max_results=max_results, snippet_keys=["content"])
