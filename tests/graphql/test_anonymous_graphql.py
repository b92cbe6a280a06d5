"""`/graphql` without credentials: limited per client address; introspection by environment."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.helpers import asgi_client, running_app

INTROSPECTION = {"query": "{ __schema { queryType { name } } }"}
TYPENAME = {"query": "{ __typename }"}


def client_at(app: object, address: str) -> Any:
    return asgi_client(app, client=(address, 40000))


def some_address() -> str:
    # Counters live in a shared Redis: a fresh address per test keeps tests independent.
    return "10." + ".".join(str(random.randrange(256)) for _ in range(3))


async def test_anonymous_calls_are_limited_per_client_address(settings, make_account):
    account = await make_account()
    async with running_app(settings, graphql_anonymous_rate_limits="3/minute;50/hour") as app:
        address, other = some_address(), some_address()
        async with client_at(app, address) as client, client_at(app, other) as neighbour:
            seen = []
            for credentials in ({}, {"Authorization": "Bearer sk_not_a_real_key"}, {}):
                answer = await client.post("/graphql", json=TYPENAME, headers=credentials)
                assert answer.status_code == 200
                seen.append(
                    (answer.headers["X-RateLimit-Limit"], answer.headers["X-RateLimit-Remaining"])
                )
            assert seen == [("3", "2"), ("3", "1"), ("3", "0")]
            refused = await client.post("/graphql", json=TYPENAME)
            assert refused.status_code == 429
            # GraphQL-shaped, like every other /graphql answer.
            (error,) = refused.json()["errors"]
            assert error["message"] == "Rate limit exceeded"
            assert error["extensions"]["code"] == "RATE_LIMITED"
            retry_after = int(refused.headers["Retry-After"])
            assert 1 <= retry_after <= 60 and error["extensions"]["retry_after"] == retry_after
            assert refused.headers["X-RateLimit-Remaining"] == "0"
            assert int(refused.headers["X-RateLimit-Reset"]) > 0
            # Another address has its own budget; a real credential its own limits.
            assert (await neighbour.post("/graphql", json=TYPENAME)).status_code == 200
            mine = await client.post("/graphql", json=TYPENAME, headers=account.headers)
            assert mine.status_code == 200 and mine.headers["X-RateLimit-Limit"] == "100"


async def test_introspection_is_on_outside_production(client):
    body = (await client.post("/graphql", json=INTROSPECTION)).json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("enabled", [None, False], ids=["default", "disabled"])
async def test_introspection_is_off_in_production_unless_enabled(settings, enabled):
    async with (
        running_app(settings, environment="production", graphql_introspection=enabled) as app,
        client_at(app, some_address()) as client,
    ):
        body = (await client.post("/graphql", json=INTROSPECTION)).json()
        assert body["data"] is None
        assert "introspection has been disabled" in body["errors"][0]["message"]
        typename = (await client.post("/graphql", json=TYPENAME)).json()
        assert typename["data"] == {"__typename": "Query"}
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in ide.text.lower()


async def test_introspection_can_be_enabled_in_production(settings):
    async with (
        running_app(settings, environment="production", graphql_introspection=True) as app,
        client_at(app, some_address()) as client,
    ):
        body = (await client.post("/graphql", json=INTROSPECTION)).json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
