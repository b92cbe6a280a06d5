"""API-key authentication and the /auth endpoints (SPEC §4)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import psycopg


def _count(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql).fetchone()[0]


async def test_me_returns_the_caller(client, make_account):
    account = await make_account("Me@Example.com")
    response = await client.get("/auth/me", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(account.user_id)
    assert body["email"] == "Me@Example.com"
    assert body["role"] == "user"
    assert body["state"] == "active"
    assert body["clerk_user_id"] is None
    assert body["created_at"].endswith("Z")


async def test_full_key_flow(client, make_account, database_url):
    account = await make_account()
    created = await client.post("/auth/api-keys", json={"name": "ci"}, headers=account.headers)
    assert created.status_code == 201
    new = created.json()
    assert re.fullmatch(r"sk_[A-Za-z0-9]{32}", new["key"])
    assert new["key_prefix"] == f"sk_...{new['key'][-5:]}"
    assert new["name"] == "ci"

    listed = await client.get("/auth/api-keys", headers={"Authorization": f"Bearer {new['key']}"})
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == 2 and page["page"] == 1 and page["limit"] == 20
    assert {k["name"] for k in page["items"]} == {"ci", "test"}
    assert all("key" not in k for k in page["items"])
    assert all(k["state"] == "active" for k in page["items"])

    # Only the hash is stored, never the key.
    assert (
        _count(database_url, f"SELECT count(*) FROM api_keys WHERE key_hash = '{new['key']}'") == 0
    )

    revoked = await client.delete(f"/auth/api-keys/{new['id']}", headers=account.headers)
    assert revoked.status_code == 200
    assert revoked.json() == {"message": "API key revoked successfully"}
    after = await client.get("/auth/me", headers={"Authorization": f"Bearer {new['key']}"})
    assert after.status_code == 401
    assert after.json() == {"detail": "Invalid API key"}


async def test_missing_header(client):
    response = await client.get("/auth/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authorization header missing"}


async def test_basic_scheme_is_refused(client, make_account):
    account = await make_account()
    response = await client.get("/auth/me", headers={"Authorization": f"Basic {account.key}"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


async def test_unknown_key(client):
    response = await client.get("/auth/me", headers={"Authorization": "Bearer sk_" + "a" * 32})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key"}


async def test_key_of_deactivated_user_is_refused(client, make_account, database_url):
    account = await make_account()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET state = 'deactivated' WHERE id = %s", (account.user_id,))
    response = await client.get("/auth/me", headers=account.headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key"}


async def test_key_name_bounds(client, make_account, database_url):
    account = await make_account()
    for name in ("", "   ", "x" * 101):
        response = await client.post("/auth/api-keys", json={"name": name}, headers=account.headers)
        assert response.status_code == 422, name
        (error,) = response.json()["detail"]
        assert error["loc"] == ["body", "name"]
        assert error["type"] == "value_error"
    ok = await client.post("/auth/api-keys", json={"name": "x" * 100}, headers=account.headers)
    assert ok.status_code == 201
    assert _count(database_url, "SELECT count(*) FROM api_keys") == 2


async def test_revoking_someone_elses_key_is_404_and_changes_nothing(
    client, make_account, database_url
):
    owner = await make_account()
    other = await make_account()
    keys = (await client.get("/auth/api-keys", headers=owner.headers)).json()["items"]
    response = await client.delete(f"/auth/api-keys/{keys[0]['id']}", headers=other.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "API key not found"}
    assert (await client.get("/auth/me", headers=owner.headers)).status_code == 200
    assert _count(database_url, "SELECT count(*) FROM api_keys WHERE state = 'revoked'") == 0


async def test_revoking_an_unknown_key_is_404(client, make_account):
    account = await make_account()
    response = await client.delete(f"/auth/api-keys/{uuid.uuid4()}", headers=account.headers)
    assert response.status_code == 404


async def test_non_uuid_path_is_422(client, make_account):
    account = await make_account()
    response = await client.delete("/auth/api-keys/not-a-uuid", headers=account.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "key_id"]


async def test_pagination_bounds(client, make_account):
    account = await make_account()
    for query, field in (("limit=0", "limit"), ("limit=101", "limit"), ("page=0", "page")):
        response = await client.get(f"/auth/api-keys?{query}", headers=account.headers)
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["loc"] == ["query", field]
    ok = await client.get("/auth/api-keys?limit=100&page=2", headers=account.headers)
    assert ok.status_code == 200
    assert ok.json() == {"items": [], "total": 1, "page": 2, "limit": 100}


async def test_unknown_fields_and_bad_json_are_422(client, make_account, database_url):
    account = await make_account()
    extra = await client.post(
        "/auth/api-keys", json={"name": "k", "admin": True}, headers=account.headers
    )
    assert extra.status_code == 422
    assert extra.json()["detail"][0]["loc"] == ["body", "admin"]
    for body in (b"{not json", b'["a list"]', b'{"name": 5}'):
        response = await client.post(
            "/auth/api-keys",
            content=body,
            headers={**account.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, body
        assert isinstance(response.json()["detail"], list)
    assert _count(database_url, "SELECT count(*) FROM api_keys") == 1


async def test_last_used_is_buffered_not_written_per_request(
    client, make_account, resources, database_url
):
    account = await make_account()
    before = len(resources.last_used)
    used_from = datetime.now(UTC)
    await client.get("/auth/me", headers=account.headers)
    used_until = datetime.now(UTC)
    assert len(resources.last_used) >= max(before, 1)
    sql = (
        f"SELECT count(*) FROM api_keys WHERE user_id = '{account.user_id}' "
        "AND last_used_at IS NOT NULL"
    )
    assert _count(database_url, sql) == 0
    await resources.last_used.flush(resources.session_factory)
    assert _count(database_url, sql) == 1
    # The moment of the request, as an aware UTC time.
    stamp = (
        f"SELECT count(*) FROM api_keys WHERE user_id = '{account.user_id}' AND "
        f"last_used_at BETWEEN '{used_from.isoformat()}' AND '{used_until.isoformat()}'"
    )
    assert _count(database_url, stamp) == 1
