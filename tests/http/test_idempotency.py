"""`Idempotency-Key` on POST creates (torale.http.idempotency), over the real app,
PostgreSQL, Redis and Temporal."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.helpers import task_body

TASKS = "/api/v1/tasks"


def keyed(account, key: str) -> dict[str, str]:
    return {**account.headers, "Idempotency-Key": key}


async def task_total(client, account) -> int:
    response = await client.get(TASKS, headers=account.headers)
    return response.json()["total"]


async def test_same_key_and_body_replays_the_first_answer(client, make_account):
    account = await make_account()
    key = str(uuid.uuid4())
    first = await client.post(TASKS, json=task_body(), headers=keyed(account, key))
    # The same content in another key order and spacing is the same request.
    reordered = dict(reversed(list(task_body().items())))
    again = await client.post(TASKS, json=reordered, headers=keyed(account, key))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await task_total(client, account) == 1


async def test_same_key_with_another_body_is_422_and_creates_nothing(client, make_account):
    account = await make_account()
    key = str(uuid.uuid4())
    assert (
        await client.post(TASKS, json=task_body(), headers=keyed(account, key))
    ).status_code == 201
    other = await client.post(
        TASKS, json=task_body(schedule="0 8 * * *"), headers=keyed(account, key)
    )
    assert other.status_code == 422
    [error] = other.json()["detail"]
    assert error["loc"] == ["header", "Idempotency-Key"]
    assert "different request" in error["msg"]
    assert await task_total(client, account) == 1


async def test_concurrent_duplicates_create_exactly_one_task(client, make_account):
    account = await make_account()
    key = str(uuid.uuid4())
    answers = await asyncio.gather(
        *(client.post(TASKS, json=task_body(), headers=keyed(account, key)) for _ in range(8))
    )
    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert await task_total(client, account) == 1


async def test_a_duplicate_that_cannot_wait_gets_409_never_a_second_task(
    app, settings, make_account
):
    from tests.helpers import app_client

    async with app_client(settings, idempotency_wait_seconds=0) as (_, http):
        account = await make_account()
        key = str(uuid.uuid4())
        answers = await asyncio.gather(
            *(http.post(TASKS, json=task_body(), headers=keyed(account, key)) for _ in range(6))
        )
        codes = [a.status_code for a in answers]
        assert set(codes) <= {201, 409}, codes
        assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
        for refused in (a for a in answers if a.status_code == 409):
            assert "still being processed" in refused.json()["detail"]
        assert await task_total(http, account) == 1


async def test_keys_are_per_user(client, make_account):
    alice, bob = await make_account(), await make_account()
    key = str(uuid.uuid4())
    a = await client.post(TASKS, json=task_body(), headers=keyed(alice, key))
    b = await client.post(TASKS, json=task_body(), headers=keyed(bob, key))
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["user_id"] == str(bob.user_id)


async def test_errors_are_not_kept_so_a_corrected_retry_runs(client, make_account):
    account = await make_account()
    key = str(uuid.uuid4())
    bad = await client.post(TASKS, json=task_body(schedule="nope"), headers=keyed(account, key))
    assert bad.status_code == 422
    assert "idempotent-replayed" not in bad.headers
    good = await client.post(TASKS, json=task_body(), headers=keyed(account, key))
    assert good.status_code == 201
    assert await task_total(client, account) == 1


async def test_without_the_header_every_post_creates(client, make_account):
    account = await make_account()
    for _ in range(2):
        assert (
            await client.post(TASKS, json=task_body(), headers=account.headers)
        ).status_code == 201
    assert await task_total(client, account) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9".encode(), "a\tb"])
async def test_unusable_keys_are_422(client, make_account, key):
    account = await make_account()
    headers = {**account.headers, "Idempotency-Key": key}
    response = await client.post(TASKS, json=task_body(), headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await task_total(client, account) == 0


async def test_api_key_create_execute_and_fork_replay(client, make_account):
    account = await make_account()
    created = await client.post(TASKS, json=task_body(), headers=account.headers)
    task_id = created.json()["id"]
    for path, body in (
        ("/auth/api-keys", {"name": "ci"}),
        (f"{TASKS}/{task_id}/fork", {"name": "mine"}),
        (f"{TASKS}/{task_id}/execute", None),
    ):
        key = str(uuid.uuid4())
        first = await client.post(path, json=body, headers=keyed(account, key))
        again = await client.post(path, json=body, headers=keyed(account, key))
        assert first.status_code in (201, 202), first.text
        assert (again.status_code, again.json()) == (first.status_code, first.json()), path
        assert again.headers["idempotent-replayed"] == "true"
    keys = (await client.get("/auth/api-keys", headers=account.headers)).json()
    assert keys["total"] == 2  # the account's own key and one "ci"
    assert await task_total(client, account) == 2  # the task and one fork


async def test_replayed_answers_are_sealed_in_redis(client, make_account, resources):
    account = await make_account()
    key = str(uuid.uuid4())
    created = await client.post("/auth/api-keys", json={"name": "ci"}, headers=keyed(account, key))
    plain = created.json()["key"]
    stored = [
        await resources.redis.get(k)
        async for k in resources.redis.scan_iter("torale:idempotency:*")
    ]
    assert stored and all(plain.encode() not in value for value in stored)


def test_openapi_documents_the_header_on_creates(app):
    document = app.openapi()
    opted_in = {
        ("post", "/api/v1/tasks"),
        ("post", "/api/v1/tasks/{task_id}/fork"),
        ("post", "/api/v1/tasks/{task_id}/execute"),
        ("post", "/api/v1/tasks/import"),
        ("post", "/auth/api-keys"),
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert ("Idempotency-Key" in names) == ((method, path) in opted_in), (method, path)


async def test_a_keyed_create_authenticates_and_counts_once(client, make_account):
    """The key's claim and the handler share the request's one authenticated context:
    the request is counted once against the rate limits, as an unkeyed create is."""
    account = await make_account()
    plain = await client.post(TASKS, json=task_body(), headers=account.headers)
    keyed_create = await client.post(
        TASKS, json=task_body(name="keyed"), headers=keyed(account, str(uuid.uuid4()))
    )
    assert plain.status_code == keyed_create.status_code == 201
    assert plain.headers["X-RateLimit-Remaining"] == "99"
    assert keyed_create.headers["X-RateLimit-Remaining"] == "98"
