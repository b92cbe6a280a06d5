"""Every `/graphql` error carries `extensions.code`, whichever phase refused the request."""

from __future__ import annotations

import pytest

from torale.graphql.limits import DEFAULT_LIMITS


def _nested(depth: int) -> str:
    # Deeper than the schema goes: the depth guard and field validation both refuse it.
    inner = "id"
    for i in range(depth):
        inner = f"f{i} {{ {inner} }}"
    return f"{{ {inner} }}"


# case -> (query, code, part of the message of the error that must carry the code)
CASES = {
    "syntax": ("{ me { ", "GRAPHQL_PARSE_FAILED", "Syntax Error"),
    "unknown field": ("{ me { no_such_field } }", "GRAPHQL_VALIDATION_FAILED", "no_such_field"),
    "unknown enum literal": (
        "{ tasks(state: active) { total } }",
        "GRAPHQL_VALIDATION_FAILED",
        "TaskState",
    ),
    "wrong literal type": ('{ tasks(limit: "ten") { total } }', "GRAPHQL_VALIDATION_FAILED", "Int"),
    "depth": (
        _nested(DEFAULT_LIMITS.max_depth + 2),
        "QUERY_TOO_COMPLEX",
        "exceeds maximum operation depth",
    ),
    "aliases": (
        "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(DEFAULT_LIMITS.max_aliases + 1)) + " }",
        "QUERY_TOO_COMPLEX",
        "aliases",
    ),
    "cost": (
        "{ tasks(limit: 100) { items { recent_executions(limit: 100) "
        "{ grounding_sources { uri title snippet } } } } }",
        "QUERY_TOO_COMPLEX",
        "too expensive",
    ),
    "tokens": (
        "{ me { " + "id " * DEFAULT_LIMITS.max_tokens + "} }",
        "QUERY_TOO_COMPLEX",
        "tokens",
    ),
}


@pytest.mark.parametrize("case", CASES)
async def test_refused_documents_carry_a_code(client, make_account, case):
    account = await make_account()
    query, code, message = CASES[case]
    response = await client.post("/graphql", json={"query": query}, headers=account.headers)
    body = response.json()
    assert body.get("data") is None and body["errors"], body
    assert all(e["extensions"]["code"] for e in body["errors"]), body
    coded = {e["extensions"]["code"] for e in body["errors"] if message in e["message"]}
    assert coded == {code}, body


async def test_variables_that_do_not_coerce_are_bad_user_input(client, make_account):
    account = await make_account()
    response = await client.post(
        "/graphql",
        json={
            "query": "query($id: UUID!, $limit: Int!) "
            "{ task(id: $id) { id } tasks(limit: $limit) { total } }",
            "variables": {"id": "not-a-uuid", "limit": "many"},
        },
        headers=account.headers,
    )
    errors = response.json()["errors"]
    assert len(errors) == 2
    assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}


async def test_domain_errors_keep_their_own_codes(client, make_account):
    account = await make_account()
    response = await client.post(
        "/graphql",
        json={"query": "{ tasks(limit: 500) { total } admin_stats { tasks { total } } }"},
        headers=account.headers,
    )
    codes = {e["path"][0]: e["extensions"]["code"] for e in response.json()["errors"]}
    assert codes == {"tasks": "VALIDATION", "admin_stats": "FORBIDDEN"}


async def test_introspection_refusal_is_a_validation_code(settings):
    from tests.helpers import asgi_client, running_app

    async with (
        running_app(settings, environment="production") as app,
        asgi_client(app, client=("10.9.8.7", 40000)) as http,
    ):
        body = (
            await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        ).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_rate_limited_graphql_call_is_graphql_shaped(settings, make_account):
    from tests.helpers import app_client

    account = await make_account()
    async with app_client(settings, rate_limits="2/minute") as (_, http):
        query = {"query": "{ me { id } }"}
        for _ in range(2):
            ok = await http.post("/graphql", json=query, headers=account.headers)
            assert ok.status_code == 200
        refused = await http.post("/graphql", json=query, headers=account.headers)
        rest = await http.get("/auth/me", headers=account.headers)
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    assert refused.json() == {
        "errors": [
            {
                "message": "Rate limit exceeded",
                "extensions": {"code": "RATE_LIMITED", "retry_after": retry_after},
            }
        ]
    }
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # REST keeps its own shape.
    assert rest.status_code == 429 and rest.json()["detail"] == "Rate limit exceeded"
