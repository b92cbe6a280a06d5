"""A URL in the search query is fetched on every run: the SSRF guard refuses internal ones
when the task is saved or previewed (422 naming `search_query`), not at the first run
(or with a 503 from the preview's fetch, as before)."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import task_body

INTERNAL = [
    "http://127.0.0.1:9/admin",
    "http://169.254.169.254/latest/meta-data",
    "http://2130706433/",
    "http://[::ffff:10.0.0.1]/x",
    "http://127.0.0.1.:9/x",
]
PREVIEW = "query($input: PreviewInput!) { preview_task(input: $input) { answer } }"
CREATE = "mutation($input: CreateTaskInput!) { create_task(input: $input) { id } }"


def query_naming(url: str) -> str:
    return f"What does {url} say about the release?"


@pytest.mark.parametrize("url", INTERNAL)
async def test_refused_at_save_on_both_doors(client, make_account, database_url, url):
    account = await make_account()
    body = task_body(search_query=query_naming(url))
    rest = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert rest.status_code == 422, rest.text
    (error,) = rest.json()["detail"]
    assert error["loc"] == ["body", "search_query"]
    assert error["msg"].startswith(f"Refusing to fetch {url}: ")
    graphql = await client.post(
        "/graphql", json={"query": CREATE, "variables": {"input": body}}, headers=account.headers
    )
    assert graphql.json()["errors"][0]["extensions"]["detail"][0]["loc"] == ["body", "search_query"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


async def test_refused_when_an_update_names_one(client, make_account):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    response = await client.put(
        f"/api/v1/tasks/{task['id']}",
        json={"search_query": query_naming(INTERNAL[0])},
        headers=account.headers,
    )
    assert response.status_code == 422
    after = await client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers)
    assert after.json()["search_query"] == task["search_query"]


@pytest.mark.parametrize("url", INTERNAL)
async def test_refused_at_preview_with_422_not_503(client, make_account, url):
    account = await make_account()
    body = {"search_query": query_naming(url), "condition_description": "It names a date"}
    rest = await client.post("/api/v1/tasks/preview", json=body, headers=account.headers)
    assert rest.status_code == 422, rest.text
    assert rest.json()["detail"][0]["loc"] == ["body", "search_query"]
    graphql = await client.post(
        "/graphql", json={"query": PREVIEW, "variables": {"input": body}}, headers=account.headers
    )
    assert graphql.json()["errors"][0]["extensions"]["code"] == "VALIDATION"


async def test_public_literal_is_accepted_at_save(client, make_account):
    account = await make_account()
    body = task_body(search_query=query_naming("https://93.184.216.34/news"))
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
