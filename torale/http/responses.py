"""JSON answers serialised once with orjson (GraphQL data is already plain JSON)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import Response


def json_bytes(content: Any) -> bytes:
    """Compact UTF-8 JSON, as both doors write it (REST bodies and `/graphql` answers)."""
    try:
        return orjson.dumps(content)
    except TypeError:
        # orjson refuses integers beyond 64 bits, which JSON (a task's config) may hold.
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)
