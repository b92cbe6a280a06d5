"""Strict inputs (issue 13): unknown fields, configs no run could use, refused key names
and JWTs on a server without an identity provider, over the real app."""

from __future__ import annotations

import base64
import json

import psycopg
import pytest

from tests.helpers import app_client, task_body
from torale.auth.authenticate import NO_IDENTITY_PROVIDER

PREVIEW = {
    "search_query": "When is the next iPhone being released?",
    "condition_description": "Apple has announced a specific release date",
}
BAD_CONFIGS = [
    ({"max_results": 50}, "max_results=50 must be an integer 1-20"),
    ({"llm_provider": "claude"}, "llm_provider='claude' is not one of openai, gemini"),
    ({"search_provider": "bing"}, "search_provider='bing' is not one of"),
    ({"model": "  "}, "must be a non-empty string"),
]
CREATE = "mutation($input: CreateTaskInput!) { create_task(input: $input) { id config } }"
UPDATE = (
    "mutation($id: UUID!, $input: UpdateTaskInput!) "
    "{ update_task(id: $id, input: $input) { id config } }"
)


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def unknown_field_error(response) -> dict:
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    return error


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/tasks", {**task_body(), "is_active": False}),
        ("PUT", "/api/v1/tasks/{id}", {"is_active": False}),
        ("PATCH", "/api/v1/tasks/{id}/visibility", {"is_public": True, "is_active": False}),
        ("POST", "/api/v1/tasks/{id}/fork", {"is_active": False}),
        ("POST", "/api/v1/tasks/preview", {**PREVIEW, "is_active": False}),
        ("POST", "/api/v1/tasks/suggest", {"prompt": "iPhone release", "is_active": False}),
        ("POST", "/auth/api-keys", {"name": "k", "is_active": False}),
        ("POST", "/api/v1/webhooks/test", {"url": "https://x.test/h", "is_active": False}),
    ],
)
async def test_an_unknown_body_field_is_422_naming_it(
    client, make_account, database_url, method, path, body
):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    before = (count(database_url, "tasks"), count(database_url, "api_keys"))
    response = await client.request(
        method, path.format(id=task["id"]), json=body, headers=account.headers
    )
    error = unknown_field_error(response)
    assert error["loc"] == ["body", "is_active"]
    assert error["type"] == "extra_forbidden"
    assert (count(database_url, "tasks"), count(database_url, "api_keys")) == before
    after = await client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers)
    assert after.json()["state"] == "active" and after.json()["is_public"] is False


async def test_an_unknown_graphql_input_field_is_refused_naming_it(
    client, make_account, database_url
):
    account = await make_account()
    response = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": {**task_body(), "is_active": False}}},
        headers=account.headers,
    )
    (error,) = response.json()["errors"]
    assert "unknown field 'is_active'" in error["message"]
    literal = (
        'mutation { update_task(id: "00000000-0000-4000-8000-000000000000", '
        "input: {is_active: false}) { id } }"
    )
    response = await client.post("/graphql", json={"query": literal}, headers=account.headers)
    (error,) = response.json()["errors"]
    assert "unknown field 'is_active'" in error["message"]
    assert count(database_url, "tasks") == 0


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS)
async def test_a_config_no_run_could_use_is_refused_at_save_as_preview_refuses_it(
    client, make_account, database_url, config, message
):
    account = await make_account()
    h = account.headers
    answers = [
        await client.post("/api/v1/tasks", json=task_body(config=config), headers=h),
        await client.post("/api/v1/tasks/preview", json={**PREVIEW, "config": config}, headers=h),
    ]
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=h)).json()
    answers.append(
        await client.put(f"/api/v1/tasks/{task['id']}", json={"config": config}, headers=h)
    )
    for answer in answers:
        assert answer.status_code == 422, answer.text
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", "config"] and message in error["msg"]

    for query, variables in (
        (CREATE, {"input": task_body(config=config)}),
        (UPDATE, {"id": task["id"], "input": {"config": config}}),
    ):
        body = (
            await client.post("/graphql", json={"query": query, "variables": variables}, headers=h)
        ).json()
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "VALIDATION"
        assert message in error["extensions"]["detail"][0]["msg"]
    assert count(database_url, "tasks") == 1
    stored = await client.get(f"/api/v1/tasks/{task['id']}", headers=h)
    assert stored.json()["config"] == {}


async def test_a_usable_config_is_saved(client, make_account):
    account = await make_account()
    config = {"max_results": 20, "llm_provider": "gemini", "model": "m", "search_provider": "none"}
    created = await client.post(
        "/api/v1/tasks", json=task_body(config=config), headers=account.headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["config"] == config


async def test_a_refused_key_creation_is_not_counted(settings, make_account, database_url):
    async with app_client(settings, api_key_creation_rate_limits="2/hour") as (_, http):
        account = await make_account()
        for name in ("   ", "", "n" * 101, "x" * 500):
            refused = await http.post(
                "/auth/api-keys", json={"name": name}, headers=account.headers
            )
            assert refused.status_code == 422, refused.text
        codes = [
            (
                await http.post("/auth/api-keys", json={"name": f"k{i}"}, headers=account.headers)
            ).status_code
            for i in range(3)
        ]
        assert codes == [201, 201, 429]


def _segment(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


async def test_a_jwt_without_an_identity_provider_is_told_so(client):
    token = f"{_segment({'alg': 'RS256', 'typ': 'JWT'})}.{_segment({'sub': 'u'})}.c2ln"
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"detail": NO_IDENTITY_PROVIDER}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    # Anything else that is not a key is still an invalid API key.
    other = await client.get("/auth/me", headers={"Authorization": "Bearer sk_nope"})
    assert other.json() == {"detail": "Invalid API key"}


async def test_an_empty_name_is_refused_and_an_omitted_one_generated(client, make_account):
    account = await make_account()
    h = account.headers
    empty = await client.post("/api/v1/tasks", json=task_body(name=""), headers=h)
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "name"]
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=h)).json()
    assert task["name"] == task_body()["search_query"]
    fork = await client.post(f"/api/v1/tasks/{task['id']}/fork", json={"name": ""}, headers=h)
    assert fork.status_code == 422
    fork = await client.post(f"/api/v1/tasks/{task['id']}/fork", json={}, headers=h)
    assert fork.json()["name"] == f"{task['name']} (Copy)"
