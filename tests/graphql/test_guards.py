"""GraphQL guards against a tiny standalone schema whose resolvers count their calls.

The schema is a `PipelineSchema`, `/graphql`'s own door, so the guards run exactly as
they do for the API, with the limits given here instead of the defaults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import strawberry
from graphql import get_introspection_query
from strawberry.asgi import GraphQL

from torale.graphql.guards import batching_config
from torale.graphql.limits import DEFAULT_LIMITS
from torale.graphql.pipeline_schema import PipelineSchema
from torale.http.body_size import MaxBodySizeMiddleware

CALLS = {"n": 0}


@strawberry.type
class Node:
    depth: int

    @strawberry.field
    def value(self) -> int:
        CALLS["n"] += 1
        return self.depth

    @strawberry.field
    def child(self) -> Node:
        CALLS["n"] += 1
        return Node(depth=self.depth + 1)

    @strawberry.field
    def children(self, limit: int = 10) -> list[Node]:
        CALLS["n"] += 1
        return [Node(depth=self.depth + 1) for _ in range(limit)]


@strawberry.type
class Query:
    @strawberry.field
    def node(self) -> Node:
        CALLS["n"] += 1
        return Node(depth=0)


LIMITS = replace(
    DEFAULT_LIMITS,
    max_depth=5,
    max_aliases=20,
    max_tokens=3000,
    max_cost=500,
    max_batch_operations=3,
)

schema = PipelineSchema(Query, limits=LIMITS, persisted=())


@pytest.fixture(autouse=True)
def reset_calls() -> None:
    CALLS["n"] = 0


def nested(depth: int) -> str:
    return "{ node " + "{ child " * (depth - 1) + "{ value }" + " }" * (depth - 1) + " }"


async def refused(query: str, variables: dict[str, Any] | None = None) -> list[str]:
    result = await schema.execute(query, variable_values=variables)
    assert result.errors, "expected the query to be refused"
    assert result.data is None
    assert CALLS["n"] == 0, "a refused query must not run any resolver"
    return [e.message for e in result.errors]


async def test_query_within_limits_runs() -> None:
    result = await schema.execute(nested(5))
    assert result.errors is None
    assert CALLS["n"] == 6


async def test_too_deep_is_refused_without_running_resolvers() -> None:
    messages = await refused(nested(12))
    assert any("exceeds maximum operation depth of 5" in m for m in messages)


async def test_hundreds_of_aliases_are_refused_without_running_resolvers() -> None:
    query = "{ " + " ".join(f"a{i}: node {{ value }}" for i in range(300)) + " }"
    messages = await refused(query)
    assert any(m == "300 aliases found. Allowed: 20" for m in messages)


async def test_aliases_hidden_in_fragments_count() -> None:
    fields = " ".join(f"v{i}: value" for i in range(25))
    messages = await refused(f"{{ node {{ ...F }} }} fragment F on Node {{ {fields} }}")
    assert "25 aliases found. Allowed: 20" in messages


async def test_huge_document_is_refused_by_the_token_limit() -> None:
    query = "{ node { " + "value " * 4000 + "} }"
    messages = await refused(query)
    assert any("more than 3000 tokens" in m for m in messages)


async def test_expensive_lists_are_refused() -> None:
    messages = await refused("{ node { children(limit: 50) { children(limit: 50) { value } } } }")
    assert messages == [
        "Query is too expensive: operation 'anonymous' exceeds the maximum cost of 500 fields; "
        "request fewer fields or smaller pages"
    ]


async def test_cost_reads_page_sizes_from_variables() -> None:
    query = """query Pages($n: Int!) {
        node { children(limit: $n) { children(limit: $n) { value } } }
    }"""
    await refused(query, {"n": 50})
    result = await schema.execute(query, variable_values={"n": 3})
    assert result.errors is None
    assert CALLS["n"] == 1 + 1 + 3 + 9  # node, children, 3 inner children, 9 values


async def test_cost_uses_argument_defaults_and_follows_fragments() -> None:
    # Default page size 10: 1 + 1 + 10 * (1 + 10 * 1) = 112, allowed.
    assert (await schema.execute("{ node { children { children { value } } } }")).errors is None
    CALLS["n"] = 0
    query = """{ node { ...Big } }
        fragment Big on Node { children(limit: 40) { ...Inner } }
        fragment Inner on Node { children(limit: 40) { value } }"""
    assert any("too expensive" in m for m in await refused(query))


async def test_introspection_is_not_counted_as_cost() -> None:
    result = await schema.execute(get_introspection_query())
    assert result.errors is None


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = MaxBodySizeMiddleware(GraphQL(schema), max_bytes=2048)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_batches_are_capped(client: httpx.AsyncClient) -> None:
    op = {"query": "{ node { value } }"}
    ok = await client.post("/graphql", json=[op] * 3)
    assert ok.status_code == 200
    assert [r["data"]["node"]["value"] for r in ok.json()] == [0, 0, 0]
    CALLS["n"] = 0
    too_many = await client.post("/graphql", json=[op] * 4)
    assert too_many.status_code == 400
    assert "Too many operations" in too_many.text
    assert CALLS["n"] == 0


async def test_batching_can_be_disabled() -> None:
    assert batching_config(replace(DEFAULT_LIMITS, max_batch_operations=0)) is None
    assert batching_config(DEFAULT_LIMITS) == {"max_operations": 10}


async def test_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    padding = "x" * 4000
    response = await client.post("/graphql", json={"query": "{ node { value } }", "x": padding})
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}
    assert CALLS["n"] == 0


async def test_chunked_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ node { value } }", "x": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}
    assert CALLS["n"] == 0


async def test_chunked_body_under_limit_is_replayed(client: httpx.AsyncClient) -> None:
    body = json.dumps({"query": "{ node { value } }"}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"node": {"value": 0}}}


async def test_bodyless_requests_pass_through(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ node { value } }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"node": {"value": 0}}}
