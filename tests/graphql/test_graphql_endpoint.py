"""`/graphql`: the same domain as REST, with errors carrying `extensions.code`."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import task_body


async def gql(client, query, variables=None, headers=None):
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_me_and_tasks(client, make_account):
    account = await make_account()
    await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)
    body = await gql(
        client,
        "{ me { email role } tasks(limit: 5) { total items { name state next_run_at } } }",
        headers=account.headers,
    )
    assert "errors" not in body
    assert body["data"]["me"] == {"email": account.email, "role": "USER"}
    assert body["data"]["tasks"]["total"] == 1
    assert body["data"]["tasks"]["items"][0]["next_run_at"].endswith("Z")


async def test_answers_are_written_as_rest_writes_its_bodies(client, make_account):
    # UTF-8 text as it is and no spaces, by the encoder of REST's bodies (Strawberry's
    # own would write "caf\u00e9").
    account = await make_account()
    body = task_body(name="café ✓")
    created = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert created.status_code == 201, created.text
    response = await client.post(
        "/graphql",
        json={"query": "{ tasks(limit: 1) { items { name } } }"},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    assert response.content == '{"data":{"tasks":{"items":[{"name":"café ✓"}]}}}'.encode()


async def test_unauthenticated(client):
    body = await gql(client, "{ me { id } }")
    (error,) = body["errors"]
    assert error["message"] == "Authorization header missing"
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_invalid_key(client):
    body = await gql(client, "{ me { id } }", headers={"Authorization": "Bearer sk_nope"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "Invalid API key"


async def test_not_found_and_forbidden(client, make_account):
    owner, other = await make_account(), await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=owner.headers)).json()
    query = "query($id: UUID!) { task(id: $id) { id } }"
    missing = await gql(client, query, {"id": str(uuid.uuid4())}, owner.headers)
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert missing["errors"][0]["message"] == "Task not found"
    forbidden = await gql(client, query, {"id": task["id"]}, other.headers)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_validation_error_carries_the_rest_shape(client, make_account, database_url):
    import psycopg

    account = await make_account()
    mutation = """
      mutation($input: CreateTaskInput!) { create_task(input: $input) { id } }
    """
    body = await gql(client, mutation, {"input": task_body(schedule="61 * * * *")}, account.headers)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["detail"] == [
        {"loc": ["body", "schedule"], "msg": "Invalid cron expression", "type": "value_error"}
    ]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


async def test_conflict_code(client, make_account):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    mutation = """
      mutation($id: UUID!, $s: TaskState!) { update_task(id: $id, input: {state: $s}) { state } }
    """
    await gql(client, mutation, {"id": task["id"], "s": "COMPLETED"}, account.headers)
    body = await gql(client, mutation, {"id": task["id"], "s": "PAUSED"}, account.headers)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_mutation_commits(client, make_account):
    account = await make_account()
    mutation = 'mutation { create_api_key(input: {name: "gql"}) { key name } }'
    body = await gql(client, mutation, headers=account.headers)
    key = body["data"]["create_api_key"]["key"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200


async def test_unexpected_errors_are_masked(client, make_account, monkeypatch):
    from torale.users import service

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "list_api_keys", broken)
    account = await make_account()
    body = await gql(client, "{ api_keys { total } }", headers=account.headers)
    (error,) = body["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL"}
    assert "secret" not in str(body)


async def test_syntax_errors_are_shown(client, make_account):
    account = await make_account()
    response = await client.post("/graphql", json={"query": "{ me { "}, headers=account.headers)
    assert "Syntax Error" in response.json()["errors"][0]["message"]


async def test_graphiql_in_a_browser(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize("limit", [0, 101])
async def test_pagination_bounds(client, make_account, limit):
    account = await make_account()
    body = await gql(client, f"{{ tasks(limit: {limit}) {{ total }} }}", headers=account.headers)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert body["errors"][0]["extensions"]["detail"][0]["loc"] == ["query", "limit"]
