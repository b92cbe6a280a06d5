"""Hostile identity inputs get a clear 4xx and change nothing (issue 11)."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from tests.auth.oidc import AUDIENCE, ISSUER, signed, token

BAD_SUBJECT = {"detail": "Invalid token: bad subject"}
EVERY_DOOR = [
    ("GET", "/auth/me"),
    ("POST", "/auth/sync-user"),
    ("GET", "/auth/api-keys"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/admin/stats"),
]


def users(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT id, email, clerk_user_id, updated_at FROM users ORDER BY email"
        ).fetchall()


@pytest.mark.parametrize(
    "sub", ["user\x00admin", "\x00", "user_\ud800", "user\x07bell", "s" * 256], ids=repr
)
async def test_an_unusable_subject_is_401_on_every_endpoint(http, database_url, sub):
    headers = token(sub, "ada@example.com")
    for method, path in EVERY_DOOR:
        response = await http.request(method, path, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.json() == BAD_SUBJECT
    gql = (await http.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)).json()
    assert gql["errors"][0]["message"] == "Invalid token: bad subject"
    assert users(database_url) == []


async def test_nul_in_other_claims_is_refused_or_harmless(http, make_account, database_url):
    account = await make_account()
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "nul_claims", "iat": now, "exp": now + 300}
    cases = {
        "iss": ({**base, "iss": ISSUER + "\x00"}, 401),
        "aud": ({**base, "aud": AUDIENCE + "\x00"}, 401),
        # Not a verified email and not an admin: compared in Python, never stored.
        "email_verified": ({**base, "email": "x@example.com", "email_verified": "\x00"}, 403),
        "role": ({**base, "public_metadata": {"role": "admin\x00"}}, 422),
    }
    for name, (claims, status) in cases.items():
        response = await http.post("/auth/sync-user", headers=signed(claims))
        assert response.status_code == status, (name, response.text)
    assert users(database_url) == [
        (account.user_id, account.email, None, users(database_url)[0][3])
    ]


BAD_EMAILS = {
    "nul": (
        "ada\x00@example.com",
        "Email must not contain control characters or unpaired surrogates",
    ),
    "surrogate": (
        "ada\ud800@example.com",
        "Email must not contain control characters or unpaired surrogates",
    ),
    "10k": ("a" * 10_000 + "@example.com", "Email must be at most 320 characters"),
    "not an address": ("ada at example.com", "Email is not an email address"),
}


@pytest.mark.parametrize("case", BAD_EMAILS, ids=str)
async def test_an_unusable_email_is_422_for_new_and_known_subjects(http, database_url, case):
    email, message = BAD_EMAILS[case]
    expected = {"detail": [{"loc": ["token", "email"], "msg": message, "type": "value_error"}]}
    new = await http.post("/auth/sync-user", headers=token("new_sub", email))
    assert new.status_code == 422 and new.json() == expected
    assert users(database_url) == []

    assert (
        await http.post("/auth/sync-user", headers=token("known", "k@example.com"))
    ).status_code == 200
    before = users(database_url)
    known = await http.post("/auth/sync-user", headers=token("known", email))
    assert known.status_code == 422 and known.json() == expected
    assert users(database_url) == before


@pytest.mark.parametrize("variant", [str, str.upper, str.title], ids=["same", "upper", "title"])
async def test_switching_to_another_users_email_is_409(http, make_account, database_url, variant):
    other = await make_account(f"other-{uuid.uuid4().hex[:6]}@example.com")
    assert (
        await http.post("/auth/sync-user", headers=token("mover", "mover@example.com"))
    ).status_code == 200
    before = users(database_url)
    moved = await http.post("/auth/sync-user", headers=token("mover", variant(other.email)))
    assert moved.status_code == 409, moved.text
    assert moved.json() == {"detail": "This email belongs to another account"}
    assert users(database_url) == before


async def test_a_case_only_change_of_ones_own_email_is_kept(http, database_url):
    assert (
        await http.post("/auth/sync-user", headers=token("own", "own@example.com"))
    ).status_code == 200
    changed = await http.post("/auth/sync-user", headers=token("own", "Own@Example.com"))
    assert changed.status_code == 200 and changed.json()["email"] == "Own@Example.com"
    # Unverified, the same address in another case is simply not applied.
    kept = await http.post(
        "/auth/sync-user", headers=token("own", "OWN@example.com", verified=False)
    )
    assert kept.status_code == 200 and kept.json()["email"] == "Own@Example.com"


async def test_an_unverified_change_of_email_is_refused(http, database_url):
    assert (
        await http.post("/auth/sync-user", headers=token("chg", "chg@example.com"))
    ).status_code == 200
    before = users(database_url)
    moved = await http.post(
        "/auth/sync-user", headers=token("chg", "new@example.com", verified=False)
    )
    assert moved.status_code == 403
    assert users(database_url) == before


def _claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "probe",
        "iat": now,
        "exp": now + 300,
        "email": "probe@example.com",
        "email_verified": True,
        **changes,
    }


def _with_header(**header: object) -> dict[str, str]:
    return signed(_claims(), **header)


HOSTILE_TOKENS = {
    "kid with NUL": (lambda: _with_header(kid="app-1\x00"), 401),
    "kid lone surrogate": (lambda: _with_header(kid="\ud800"), 401),
    "kid 5,000 long": (lambda: _with_header(kid="k" * 5000), 401),
    "exp a string": (lambda: signed(_claims(exp="soon")), 401),
    "iat 1e300": (lambda: signed(_claims(iat=1e300)), 401),
    "nbf NUL": (lambda: signed(_claims(nbf="\x00")), 401),
    "iss lone surrogate": (lambda: signed(_claims(iss="\ud800")), 401),
    "email empty": (lambda: signed(_claims(email="")), 422),
    "email '@'": (lambda: signed(_claims(email="@")), 422),
    "email only NUL": (lambda: signed(_claims(email="\x00")), 422),
    "email 321 long": (lambda: signed(_claims(email="a" * 309 + "@example.com")), 422),
}


@pytest.mark.parametrize("case", HOSTILE_TOKENS, ids=str)
async def test_hostile_headers_and_claims_are_refused_without_a_server_error(
    http, database_url, case
):
    make, status = HOSTILE_TOKENS[case]
    response = await http.post("/auth/sync-user", headers=make())
    assert response.status_code == status, response.text
    assert users(database_url) == []
