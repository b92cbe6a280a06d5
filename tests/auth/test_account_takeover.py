"""Nobody gets someone else's account by putting its email in a token (issue 11).

The victims are made the way `torale users create` makes them (no subject yet), an
ordinary user and an admin; the attacker holds a validly signed token of their own
subject carrying the victim's email, without a verified-email claim that is JSON true.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.auth.oidc import token

REFUSED_LINK = (
    "An account with this email already exists; it is linked to your sign-in only when "
    "your identity provider says the email is verified (claim 'email_verified')"
)
TAKEN = "This email belongs to another account"
SYNC_FIRST = {"detail": "User not found: call POST /auth/sync-user first"}

# How the token fails to say "verified": false, absent, and values that only look true.
UNVERIFIED = [False, None, "false", "true", 1, "yes"]


def subject_of(database_url: str, user_id: object) -> str | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT clerk_user_id FROM users WHERE id = %s", (user_id,)).fetchone()
    assert row is not None
    return row[0]


async def assert_victim_intact(http, database_url, victim) -> None:
    assert subject_of(database_url, victim.user_id) is None
    me = await http.get("/auth/me", headers=victim.headers)
    assert me.status_code == 200 and me.json()["email"] == victim.email


@pytest.mark.parametrize("admin", [False, True], ids=["user", "admin"])
async def test_an_unverified_email_never_links_an_existing_account(
    http, make_account, database_url, admin
):
    victim = await make_account(admin=admin)
    attempts = refused = 0
    emails = [victim.email, victim.email.upper()]
    for email in emails:
        for verified in UNVERIFIED:
            attacker = token(f"attacker_{uuid.uuid4().hex[:8]}", email, verified=verified)
            attempts += 1
            synced = await http.post("/auth/sync-user", headers=attacker)
            assert synced.status_code == 409, (email, verified, synced.text)
            assert synced.json() == {"detail": REFUSED_LINK}
            # The attacker's token still belongs to nobody: the victim's keys stay hidden.
            for path in ("/auth/api-keys", "/auth/me", "/api/v1/tasks"):
                hidden = await http.get(path, headers=attacker)
                assert hidden.status_code == 401 and hidden.json() == SYNC_FIRST, path
            listed = await http.post(
                "/graphql", json={"query": "{ api_keys { total } }"}, headers=attacker
            )
            assert listed.json()["data"] == {"api_keys": None}
            assert listed.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            refused += 1
    assert (attempts, refused) == (len(emails) * len(UNVERIFIED),) * 2
    await assert_victim_intact(http, database_url, victim)


async def test_the_graphql_door_refuses_the_same_link(http, make_account, database_url):
    victim = await make_account(admin=True)
    attacker = token("attacker_gql", victim.email, verified=False)
    body = (
        await http.post(
            "/graphql", json={"query": "mutation { sync_user { id } }"}, headers=attacker
        )
    ).json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == REFUSED_LINK
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    await assert_victim_intact(http, database_url, victim)


@pytest.mark.parametrize("admin", [False, True], ids=["user", "admin"])
async def test_a_linked_account_is_never_relinked_even_with_a_verified_email(
    http, make_account, database_url, admin
):
    victim = await make_account(admin=admin)
    owner = token("owner_1", victim.email)
    assert (await http.post("/auth/sync-user", headers=owner)).status_code == 200
    for email in (victim.email, victim.email.upper()):
        attacker = token(f"attacker_{uuid.uuid4().hex[:8]}", email, verified=True)
        synced = await http.post("/auth/sync-user", headers=attacker)
        assert synced.status_code == 409 and synced.json() == {"detail": TAKEN}
        assert (await http.get("/auth/api-keys", headers=attacker)).json() == SYNC_FIRST
    assert subject_of(database_url, victim.user_id) == "owner_1"


async def test_a_verified_email_links_the_account_made_for_it(http, make_account, database_url):
    # The intended path: an operator creates the user, its owner signs in with the provider.
    victim = await make_account(admin=True)
    synced = await http.post("/auth/sync-user", headers=token("owner_2", victim.email))
    assert synced.status_code == 200, synced.text
    assert synced.json()["id"] == str(victim.user_id)
    keys = (await http.get("/auth/api-keys", headers=token("owner_2", victim.email))).json()
    assert keys["total"] == 1
    assert subject_of(database_url, victim.user_id) == "owner_2"


@pytest.mark.parametrize("verified", UNVERIFIED)
async def test_an_unverified_email_creates_no_account(http, database_url, verified):
    # Otherwise anyone could claim an address before its owner (or an operator) arrives.
    email = f"someone-{uuid.uuid4().hex[:6]}@example.com"
    synced = await http.post(
        "/auth/sync-user", headers=token("early_bird", email, verified=verified)
    )
    assert synced.status_code == 403
    assert synced.json() == {
        "detail": "Your identity provider has not verified this email (claim 'email_verified'); "
        "verify it there, then sync again"
    }
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


async def test_the_verified_claim_is_configurable(settings, issuer, make_account, database_url):
    from tests.auth.oidc import jwt_settings
    from tests.helpers import app_client

    victim = await make_account()
    async with app_client(
        jwt_settings(settings, issuer.url + "/jwks", jwt_email_verified_claim="ext.mail_ok")
    ) as (_, client):
        # The default claim means nothing now; the configured one decides.
        plain = await client.post("/auth/sync-user", headers=token("s1", victim.email))
        assert plain.status_code == 409
        assert "claim 'ext.mail_ok'" in plain.json()["detail"]
        custom = token("s1", victim.email, verified=None, ext={"mail_ok": True})
        linked = await client.post("/auth/sync-user", headers=custom)
    assert linked.status_code == 200 and linked.json()["id"] == str(victim.user_id)
