"""Probes and the API documents, reachable without credentials."""

from __future__ import annotations

import re
from pathlib import Path


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_checks_every_dependency(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok", "temporal": "ok"}


async def test_ready_names_what_is_down(settings):

    from tests.helpers import app_client

    async with app_client(settings, redis_url="redis://127.0.0.1:1/0") as (_, http):
        response = await http.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"] == "down" and body["checks"]["postgres"] == "ok"
    assert body["detail"] == "Not ready: redis unreachable"


async def test_docs_and_openapi(client):
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/redoc")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = spec["paths"]["/api/v1/tasks"]["post"]
    assert "201" in create["responses"]


def _spec_endpoints() -> set[tuple[str, str]] | None:
    spec_md = Path(__file__).resolve().parents[3] / "shared" / "SPEC.md"
    if not spec_md.exists():
        return None
    return {
        (m, re.sub(r"\{[^}]+\}", "{}", p))
        for m, p in re.findall(
            r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`", spec_md.read_text(), re.M
        )
    }


async def test_openapi_offers_every_implemented_spec_endpoint(client):
    """Each endpoint of SPEC sections 4 and 5 built so far is in the OpenAPI document."""
    wanted = {
        ("GET", "/auth/me"),
        ("POST", "/auth/api-keys"),
        ("GET", "/auth/api-keys"),
        ("DELETE", "/auth/api-keys/{}"),
        ("POST", "/api/v1/tasks"),
        ("GET", "/api/v1/tasks"),
        ("GET", "/api/v1/tasks/{}"),
        ("PUT", "/api/v1/tasks/{}"),
        ("DELETE", "/api/v1/tasks/{}"),
        ("PATCH", "/api/v1/tasks/{}/visibility"),
        ("POST", "/api/v1/tasks/{}/fork"),
    }
    listed = _spec_endpoints()
    if listed is not None:
        assert wanted <= listed
    doc = (await client.get("/openapi.json")).json()
    have = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, ops in doc["paths"].items()
        for method in ops
    }
    assert wanted <= have


async def test_page_beyond_the_bound_is_422_not_500(client, make_account):
    account = await make_account()
    for path in ("/api/v1/tasks", "/auth/api-keys", "/api/v1/notifications"):
        response = await client.get(f"{path}?page=82051562627", headers=account.headers)
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["loc"] == ["query", "page"]
    ok = await client.get("/api/v1/tasks?page=1000000", headers=account.headers)
    assert ok.status_code == 200 and ok.json()["items"] == []


async def test_nul_characters_are_422_and_change_nothing(client, make_account, database_url):
    import psycopg

    account = await make_account()
    key = await client.post("/auth/api-keys", json={"name": "a\u0000b"}, headers=account.headers)
    assert key.status_code == 422
    assert key.json()["detail"][0]["loc"] == ["body", "name"]
    body = {
        "search_query": "When is the next iPhone being released?",
        "condition_description": "Apple has announced a specific release date",
        "schedule": "0 9 * * *",
        "config": {"model": "x\u0000y"},
    }
    task = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert task.status_code == 422
    assert task.json()["detail"][0]["loc"] == ["body", "config", "model"]
    gql = await client.post(
        "/graphql",
        json={
            "query": "mutation($n: String!) { create_api_key(input: {name: $n}) { id } }",
            "variables": {"n": "nul\u0000"},
        },
        headers=account.headers,
    )
    assert gql.json()["errors"][0]["extensions"]["code"] == "VALIDATION"
    literal = await client.post(
        "/graphql",
        json={"query": 'mutation { create_api_key(input: {name: "a\\u0000"}) { id } }'},
        headers=account.headers,
    )
    assert literal.json()["errors"][0]["extensions"]["code"] == "VALIDATION"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0
