"""What the search backends share: keyed endpoints, and result lists into `SearchHit`s."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from torale.monitoring.errors import ProviderUnavailable
from torale.monitoring.providers.base import SearchHit
from torale.monitoring.providers.http import Endpoint, HostedAPI

_TAG = re.compile(r"<[^>]+>")


def plain(text: Any) -> str:
    """Snippets arrive with highlight markup (`<strong>`) and entities; keep the words."""
    if not isinstance(text, str):
        return ""
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub("", text))).strip()


def hits_from(
    results: Any,
    endpoint: Endpoint,
    *,
    max_results: int,
    snippet_keys: Iterable[str],
) -> list[SearchHit]:
    if not isinstance(results, list):
        raise ProviderUnavailable(f"{endpoint.label} returned no result list")
    keys = tuple(snippet_keys)
    hits: list[SearchHit] = []
    for item in results:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        snippet = next((plain(item[k]) for k in keys if item.get(k)), "") or None
        hits.append(
            SearchHit(
                uri=item["url"], title=plain(item.get("title")) or item["url"], snippet=snippet
            )
        )
        if len(hits) >= max_results:
            break
    return hits


class KeyedSearchAPI(HostedAPI):
    """A hosted search API reached with an API key (Tavily, Brave)."""

    timeout_variable = "TORALE_SEARCH_TIMEOUT_SECONDS"
    default_timeout = 20.0
