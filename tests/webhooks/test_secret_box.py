"""Webhook signing secrets are sealed at rest and open only for their user, under our key."""

from __future__ import annotations

import stat
import uuid

import psycopg
import pytest

from torale.devstack.secret_key import SECRET_KEY_FILE, data_dir_secret_key
from torale.secret_box import SEALED_PREFIX, SecretBox, SecretUnreadable

KEY = "k" * 40
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_sealed_secret_opens_for_its_user_and_hides_the_secret():
    box, user = SecretBox(KEY), uuid.uuid4()
    sealed = box.seal(SECRET, user)
    assert sealed.startswith(SEALED_PREFIX) and SECRET not in sealed
    assert box.seal(SECRET, user) != sealed  # a fresh nonce every time
    assert box.open(sealed, user) == SECRET


def test_a_sealed_secret_does_not_open_for_another_user_or_key():
    user = uuid.uuid4()
    sealed = SecretBox(KEY).seal(SECRET, user)
    with pytest.raises(SecretUnreadable, match="does not open with this TORALE_SECRET_KEY"):
        SecretBox(KEY).open(sealed, uuid.uuid4())
    with pytest.raises(SecretUnreadable, match="does not open"):
        SecretBox("x" * 40).open(sealed, user)
    with pytest.raises(SecretUnreadable, match="TORALE_SECRET_KEY is not set"):
        SecretBox(None).open(sealed, user)


def test_secrets_stored_in_clear_still_open_and_no_key_stores_in_clear():
    user = uuid.uuid4()
    assert SecretBox(KEY).open(SECRET, user) == SECRET
    assert SecretBox(None).seal(SECRET, user) == SECRET


def _stored(database_url: str, user_id) -> tuple[str, str | None]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT secret, previous_secret FROM webhook_secrets WHERE user_id = %s", (user_id,)
        ).fetchone()


async def test_the_database_only_ever_holds_sealed_secrets(client, make_account, database_url):
    account = await make_account()
    shown = (await client.get("/api/v1/webhooks/secret", headers=account.headers)).json()
    stored, _ = _stored(database_url, account.user_id)
    assert stored.startswith(SEALED_PREFIX) and shown["secret"] not in stored

    rotated = await client.post("/api/v1/webhooks/secret/rotate", headers=account.headers)
    current, previous = _stored(database_url, account.user_id)
    assert current.startswith(SEALED_PREFIX) and previous.startswith(SEALED_PREFIX)
    assert rotated.json()["secret"] not in current and shown["secret"] not in previous


async def test_a_secret_stored_in_clear_is_served_and_sealed_at_rotation(
    client, make_account, database_url, settings
):
    account = await make_account()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO webhook_secrets (user_id, secret) VALUES (%s, %s)",
            (account.user_id, SECRET),
        )
    shown = await client.get("/api/v1/webhooks/secret", headers=account.headers)
    assert shown.json()["secret"] == SECRET

    await client.post("/api/v1/webhooks/secret/rotate", headers=account.headers)
    current, previous = _stored(database_url, account.user_id)
    box = SecretBox.from_settings(settings)
    assert previous.startswith(SEALED_PREFIX)
    assert box.open(previous, account.user_id) == SECRET
    assert current.startswith(SEALED_PREFIX)


def test_the_data_dir_key_is_created_once_private_and_reused(tmp_path):
    key = data_dir_secret_key(tmp_path)
    assert key is not None and len(key) >= 32
    assert stat.S_IMODE((tmp_path / SECRET_KEY_FILE).stat().st_mode) == 0o600
    assert data_dir_secret_key(tmp_path) == key
    assert sorted(p.name for p in tmp_path.iterdir()) == [SECRET_KEY_FILE]  # nothing staged left


def test_no_data_dir_key_when_the_directory_cannot_hold_one(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert data_dir_secret_key(blocked) is None
