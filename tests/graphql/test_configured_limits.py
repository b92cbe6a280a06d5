"""The GraphQL limits and the body size are settings: a lower value refuses, on the real
app, a request the defaults accept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from torale.app import create_app
from torale.config import Settings
from torale.graphql.limits import DEFAULT_LIMITS, GraphQLLimits
from torale.graphql.schema import schema, schema_for

# Low, but admitting the REST API's own operations (compiled with the same limits, an
# operation a limit refuses stops start-up).
STRICT = {
    "graphql_max_depth": 3,
    "graphql_max_aliases": 2,
    "graphql_max_tokens": 100,
    "graphql_max_batch_operations": 2,
    "max_request_body_bytes": 4096,
}

DEEP = "{ tasks { items { last_execution { grounding_sources { uri } } } } }"
ALIASES = "{ a: me { id } b: me { id } c: me { id } }"
LONG = "{ me { " + "id " * 120 + "} }"


@pytest.fixture(scope="module")
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(**{**settings.model_dump(), **STRICT}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def test_settings_reach_the_schema() -> None:
    assert schema_for(Settings()) is schema
    strict = schema_for(Settings(**STRICT))
    assert strict.pipeline.limits == replace(
        DEFAULT_LIMITS, max_depth=3, max_aliases=2, max_tokens=100, max_batch_operations=2
    )
    assert strict.config.batching_config == {"max_operations": 2}
    assert schema.pipeline.limits == DEFAULT_LIMITS


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORALE_GRAPHQL_MAX_DEPTH", "4")
    monkeypatch.setenv("TORALE_MAX_REQUEST_BODY_BYTES", "2048")
    configured = Settings()
    assert GraphQLLimits.from_settings(configured).max_depth == 4
    assert configured.max_request_body_bytes == 2048


@pytest.mark.parametrize("query", [DEEP, ALIASES, LONG], ids=["depth", "aliases", "tokens"])
async def test_lower_limits_refuse_what_the_defaults_accept(
    query: str, client: httpx.AsyncClient, strict_client: httpx.AsyncClient, make_account
) -> None:
    account = await make_account()
    accepted = await client.post("/graphql", json={"query": query}, headers=account.headers)
    assert "errors" not in accepted.json(), accepted.json()
    refused = await strict_client.post("/graphql", json={"query": query}, headers=account.headers)
    body = refused.json()
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]


async def test_lower_batch_limit_refuses_a_batch_the_default_accepts(
    client: httpx.AsyncClient, strict_client: httpx.AsyncClient, make_account
) -> None:
    account = await make_account()
    batch = [{"query": "{ me { id } }"}] * 3
    assert (await client.post("/graphql", json=batch, headers=account.headers)).status_code == 200
    refused = await strict_client.post("/graphql", json=batch, headers=account.headers)
    assert refused.status_code == 400
    assert "Too many operations" in refused.text


async def test_lower_body_limit_refuses_a_body_the_default_accepts(
    client: httpx.AsyncClient, strict_client: httpx.AsyncClient, make_account
) -> None:
    account = await make_account()
    body = {"query": "{ me { id } }", "variables": {"padding": "x" * 5000}}
    assert (await client.post("/graphql", json=body, headers=account.headers)).status_code == 200
    refused = await strict_client.post("/graphql", json=body, headers=account.headers)
    assert refused.status_code == 413
    assert refused.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
