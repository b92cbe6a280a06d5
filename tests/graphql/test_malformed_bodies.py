"""Malformed `/graphql` requests over a real socket: 400 with a GraphQL-shaped error,
never a 500 and never a reset connection (each was one or the other before)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fuzz.live_api import LiveApi, live_api
from tests.helpers import task_body

CREATE = "mutation($input: CreateTaskInput!) { create_task(input: $input) { id } }"


def _create_with_deep_config(depth: int) -> bytes:
    body = json.dumps({"query": CREATE, "variables": {"input": task_body(config="@")}})
    return body.replace('"@"', '{"x": ' + "[" * depth + "]" * depth + "}").encode()


JSON = "application/json"
MALFORMED: list[tuple[str, bytes, str, str]] = [
    ("list of a number", b"[1]", JSON, "JSON object with a `query`"),
    ("string", b'"x"', JSON, "JSON object with a `query`"),
    ("null", b"null", JSON, "JSON object with a `query`"),
    ("number", b"12", JSON, "JSON object with a `query`"),
    ("true", b"true", JSON, "JSON object with a `query`"),
    ("batch of lists", b"[[1]]", JSON, "JSON object with a `query`"),
    ("bytes that are not UTF-8", b'{"query":"\xff"}', JSON, "UTF-8 encoded JSON"),
    ("truncated JSON", b'{"query": "{ me { id } ', JSON, "UTF-8 encoded JSON"),
    ("100k-deep list", b"[" * 100_000 + b"]" * 100_000, JSON, "nested too deeply"),
    ("create_task with a 5,000-deep config", _create_with_deep_config(5000), JSON,
     "nested too deeply"),
    ("query not a string", b'{"query": 5}', JSON, "JSON object with a `query`"),
    ("operationName a list", b'{"query": "{ me { id } }", "operationName": [1]}', JSON,
     "JSON object with a `query`"),
    ("variables a list", b'{"query": "{ me { id } }", "variables": [1]}', JSON, "variables"),
    ("query 3,000 braces deep", json.dumps({"query": "{" * 3000 + "}" * 3000}).encode(), JSON,
     "Query is nested too deeply"),
    ("query list literal 2,000 deep",
     json.dumps({"query": "{ tasks(state: " + "[" * 2000 + "]" * 2000 + ") { total } }"}).encode(),
     JSON, "Query is nested too deeply"),
    ("plain text", b"{ me { id } }", "text/plain", "Unsupported content type"),
    ("empty batch", b"[]", JSON, "JSON object with a `query`"),
    ("no query", b"{}", JSON, "No GraphQL query found"),
    ("unknown operation named by a lone surrogate",
     b'{"query": "{ me { id } }", "operationName": "\\ud800"}', JSON,
     'Unknown operation named "\\ud800"'),
]  # fmt: skip


@pytest.fixture(scope="module")
def api(settings, tmp_path_factory) -> Iterator[LiveApi]:
    with live_api(settings, Path(tmp_path_factory.mktemp("graphql-api"))) as running:
        yield running


@pytest.mark.parametrize(
    ("label", "body", "content_type", "message"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_body_is_a_graphql_shaped_400(api, label, body, content_type, message):
    auth = {"Authorization": f"Bearer {api.admin_key()}"}
    headers = {**auth, "Content-Type": content_type}
    # A fresh connection each time: a reset would raise here instead of answering.
    with httpx.Client(base_url=api.base_url, timeout=30) as http:
        response = http.post("/graphql", content=body, headers=headers)
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert message in error["message"]
        assert error["extensions"] == {"code": "BAD_REQUEST"}
        # The server is fine afterwards, on the same connection.
        after = http.post("/graphql", json={"query": "{ me { role } }"}, headers=auth)
        assert after.json() == {"data": {"me": {"role": "ADMIN"}}}
        assert http.get("/api/v1/tasks", headers=auth).json()["total"] == 0
