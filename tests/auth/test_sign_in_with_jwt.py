"""Signing in with an OIDC JWT end to end: sync-user, then REST and GraphQL with the token."""

from __future__ import annotations

import time
import uuid

import psycopg

from tests.auth.oidc import token


async def test_sync_then_use_rest_and_graphql(http):
    sub = f"user_{uuid.uuid4().hex[:8]}"
    before = await http.get("/auth/me", headers=token(sub))
    assert before.status_code == 401
    assert before.json() == {"detail": "User not found: call POST /auth/sync-user first"}

    created = await http.post("/auth/sync-user", headers=token(sub))
    assert created.status_code == 200, created.text
    user = created.json()
    assert user["clerk_user_id"] == sub and user["email"] == "ada@example.com"
    assert user["role"] == "user"

    updated = await http.post("/auth/sync-user", headers=token(sub, "ada@new.example.com"))
    assert updated.json()["id"] == user["id"]
    assert updated.json()["email"] == "ada@new.example.com"

    me = await http.get("/auth/me", headers=token(sub))
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    assert "X-RateLimit-Remaining" in me.headers
    gql = await http.post("/graphql", json={"query": "{ me { email } }"}, headers=token(sub))
    assert gql.json()["data"]["me"]["email"] == "ada@new.example.com"


async def test_sync_requires_a_jwt(http, make_account):
    account = await make_account()
    response = await http.post("/auth/sync-user", headers=account.headers)
    assert response.status_code == 401
    assert "JWT" in response.json()["detail"]


async def test_expired_token(http):
    expired = token("user_x", exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    response = await http.get("/auth/me", headers=expired)
    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired"}


async def test_admin_claim_grants_admin(http):
    sub = f"user_{uuid.uuid4().hex[:8]}"
    claim = {"public_metadata": {"role": "admin"}}
    await http.post("/auth/sync-user", headers=token(sub, f"{sub}@example.com", **claim))
    me = (await http.get("/auth/me", headers=token(sub, f"{sub}@example.com", **claim))).json()
    assert me["role"] == "admin"
    # The claim is honoured per request; without it the stored role applies.
    plain = (await http.get("/auth/me", headers=token(sub, f"{sub}@example.com"))).json()
    assert plain["role"] == "user"


async def test_deactivated_user_cannot_sign_in(http, database_url):
    sub = f"user_{uuid.uuid4().hex[:8]}"
    await http.post("/auth/sync-user", headers=token(sub, f"{sub}@example.com"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET state = 'deactivated' WHERE clerk_user_id = %s", (sub,))
    for method, path in (("GET", "/auth/me"), ("POST", "/auth/sync-user")):
        response = await http.request(method, path, headers=token(sub, f"{sub}@example.com"))
        assert response.status_code == 401
        assert response.json() == {"detail": "User account is deactivated"}


async def test_an_unsynced_token_on_graphql_is_counted_per_subject_not_per_address(http):
    # A verified token is a credential: the per-caller limits apply, not the anonymous ones.
    sub = f"user_{uuid.uuid4().hex[:8]}"
    response = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=token(sub))
    assert response.json()["errors"][0]["message"] == (
        "User not found: call POST /auth/sync-user first"
    )
    assert response.headers["X-RateLimit-Limit"] == "100"
    anonymous = await http.post("/graphql", json={"query": "{ me { id } }"})
    assert anonymous.headers["X-RateLimit-Limit"] == "60"
    # The same on the REST door that serves such a token: sync-user is counted too.
    synced = await http.post("/auth/sync-user", headers=token(sub))
    assert synced.headers["X-RateLimit-Limit"] == "100"
    assert synced.headers["X-RateLimit-Remaining"] == "98"
