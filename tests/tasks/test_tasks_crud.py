"""Task create/list/get/update/delete over REST, with the Temporal schedule checked each step."""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import task_body


async def test_create_defaults_and_schedule(client, make_account, schedule_of):
    account = await make_account()
    response = await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["name"] == "When is the next iPhone being released?"
    assert task["timezone"] == "UTC"
    assert task["notify_behavior"] == "once"
    assert task["executor_type"] == "llm_grounded_search"
    assert task["state"] == "active"
    assert task["is_public"] is False
    assert task["notifications"] == [] and task["config"] == {}
    assert task["condition_met"] is False and task["last_execution_id"] is None
    assert task["next_run_at"].endswith("T09:00:00Z")
    assert task["user_id"] == str(account.user_id)

    schedule = await schedule_of(task["id"])
    assert schedule is not None
    assert schedule.cron == "0 9 * * *" and schedule.timezone == "UTC" and not schedule.paused


async def test_list_filters_and_pagination(client, make_account):
    account = await make_account()
    ids = []
    for i in range(3):
        r = await client.post(
            "/api/v1/tasks", json=task_body(name=f"t{i}"), headers=account.headers
        )
        ids.append(r.json()["id"])
    await client.put(f"/api/v1/tasks/{ids[0]}", json={"state": "paused"}, headers=account.headers)

    everything = (await client.get("/api/v1/tasks", headers=account.headers)).json()
    assert [t["name"] for t in everything["items"]] == ["t2", "t1", "t0"]
    assert everything["total"] == 3 and everything["limit"] == 20

    paused = (await client.get("/api/v1/tasks?state=paused", headers=account.headers)).json()
    assert [t["id"] for t in paused["items"]] == [ids[0]] and paused["total"] == 1
    active = (await client.get("/api/v1/tasks?active=true", headers=account.headers)).json()
    assert {t["id"] for t in active["items"]} == set(ids[1:])
    assert active["items"][0]["next_run_at"] is not None
    page2 = (await client.get("/api/v1/tasks?limit=2&page=2", headers=account.headers)).json()
    assert [t["name"] for t in page2["items"]] == ["t0"] and page2["total"] == 3
    # Past the end: no row carries the total (it comes with the rows), still right.
    past = (await client.get("/api/v1/tasks?limit=2&page=5", headers=account.headers)).json()
    assert past["items"] == [] and past["total"] == 3 and past["page"] == 5
    assert paused["items"][0]["next_run_at"] is None

    other = await make_account()
    assert (await client.get("/api/v1/tasks", headers=other.headers)).json()["total"] == 0
    bad = await client.get("/api/v1/tasks?state=sleeping", headers=account.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "state"]


async def test_update_schedule_and_timezone_moves_the_schedule(client, make_account, schedule_of):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    response = await client.put(
        f"/api/v1/tasks/{task['id']}",
        json={"schedule": "30 7 * * 1-5", "timezone": "Europe/Paris", "name": "renamed"},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["schedule"] == "30 7 * * 1-5" and updated["timezone"] == "Europe/Paris"
    assert updated["name"] == "renamed"
    assert updated["search_query"] == task["search_query"]
    schedule = await schedule_of(task["id"])
    assert schedule.cron == "30 7 * * 1-5" and schedule.timezone == "Europe/Paris"


async def test_state_machine_moves_the_schedule(client, make_account, schedule_of):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    url = f"/api/v1/tasks/{task['id']}"

    paused = (await client.put(url, json={"state": "paused"}, headers=account.headers)).json()
    assert paused["state"] == "paused" and paused["state_changed_at"] > task["state_changed_at"]
    assert (await schedule_of(task["id"])).paused

    active = (await client.put(url, json={"state": "active"}, headers=account.headers)).json()
    assert active["state"] == "active"
    assert not (await schedule_of(task["id"])).paused

    done = (await client.put(url, json={"state": "completed"}, headers=account.headers)).json()
    assert done["state"] == "completed" and done["next_run_at"] is None
    assert await schedule_of(task["id"]) is None

    illegal = await client.put(url, json={"state": "paused"}, headers=account.headers)
    assert illegal.status_code == 409
    assert illegal.json() == {"detail": "Cannot change task state from completed to paused"}

    again = (await client.put(url, json={"state": "active"}, headers=account.headers)).json()
    assert again["state"] == "active"
    assert (await schedule_of(task["id"])).cron == "0 9 * * *"


async def test_delete_removes_task_schedule_and_executions(
    client, make_account, schedule_of, database_url
):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO executions (id, task_id, status, trigger) "
            "VALUES (gen_random_uuid(), %s, 'success', 'manual')",
            (task["id"],),
        )
    response = await client.delete(f"/api/v1/tasks/{task['id']}", headers=account.headers)
    assert response.status_code == 204 and response.content == b""
    assert (
        await client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers)
    ).status_code == 404
    assert await schedule_of(task["id"]) is None
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM executions").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("override", "loc", "msg_part"),
    [
        ({"schedule": "* * * *"}, "schedule", "Invalid cron expression"),
        ({"schedule": "invalid"}, "schedule", "Invalid cron expression"),
        ({"schedule": "61 * * * *"}, "schedule", "Invalid cron expression"),
        ({"schedule": "0 9 * * * *"}, "schedule", "Invalid cron expression"),
        ({"schedule": "0 9 L * *"}, "schedule", "Invalid cron expression"),
        ({"schedule": "0 9 * * 5#3"}, "schedule", "Invalid cron expression"),
        ({"schedule": "0 0 31 2 *"}, "schedule", "Invalid cron expression"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Unknown timezone"),
        ({"notify_behavior": "sometimes"}, "notify_behavior", "once, always, track_state"),
        ({"search_query": "short"}, "search_query", "between 10 and 500"),
        ({"search_query": "x" * 501}, "search_query", "between 10 and 500"),
        ({"condition_description": "tiny"}, "condition_description", "between 10 and 500"),
        ({"name": "n" * 201}, "name", "at most 200"),
        ({"executor_type": "shell"}, "executor_type", "llm_grounded_search"),
    ],
)
async def test_create_validation(client, make_account, database_url, override, loc, msg_part):
    account = await make_account()
    response = await client.post(
        "/api/v1/tasks", json=task_body(**override), headers=account.headers
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", loc]
    assert msg_part in error["msg"]
    if loc == "schedule":
        assert error["msg"] == "Invalid cron expression" and error["type"] == "value_error"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("channel", "msg_part"),
    [
        ({"type": "webhook", "url": "ftp://example.com/hook"}, "http or https"),
        ({"type": "webhook"}, "url is required"),
        ({"type": "email", "address": "not-an-address"}, "valid email"),
        ({"type": "sms", "number": "123"}, "'webhook' or 'email'"),
        ("https://example.com", "must be an object"),
    ],
)
async def test_channel_validation(client, make_account, channel, msg_part):
    account = await make_account()
    body = task_body(notifications=[{"type": "email", "address": "ok@example.com"}, channel])
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "notifications", 1]
    assert msg_part in error["msg"]


async def test_valid_channels_are_stored(client, make_account):
    account = await make_account()
    channels = [
        {"type": "webhook", "url": "https://hooks.example.com/x", "headers": {"X-Token": "t"}},
        {"type": "email", "address": "alerts@example.com"},
    ]
    task = (
        await client.post(
            "/api/v1/tasks", json=task_body(notifications=channels), headers=account.headers
        )
    ).json()
    assert task["notifications"] == channels


async def test_minimum_interval(client, make_account):
    account = await make_account()
    ok = await client.post(
        "/api/v1/tasks", json=task_body(schedule="* * * * *"), headers=account.headers
    )
    assert ok.status_code == 201


async def test_minimum_interval_is_configurable(settings, make_account):

    from tests.helpers import app_client

    async with app_client(settings, min_schedule_interval_seconds=300) as (_, http):
        account = await make_account()
        r = await http.post(
            "/api/v1/tasks", json=task_body(schedule="*/2 * * * *"), headers=account.headers
        )
        assert r.status_code == 422
        assert r.json()["detail"][0]["msg"] == (
            "Schedule runs more often than the minimum interval of 5 minutes"
        )
        r = await http.post(
            "/api/v1/tasks", json=task_body(schedule="*/5 * * * *"), headers=account.headers
        )
        assert r.status_code == 201


async def test_wrong_json_types_are_422(client, make_account, database_url):
    account = await make_account()
    for body in (
        [task_body()],
        "a string",
        {**task_body(), "notifications": {"type": "email"}},
        {**task_body(), "config": [1, 2]},
        {**task_body(), "schedule": 5},
    ):
        response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
        assert response.status_code == 422, body
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


async def test_update_validation_changes_nothing(client, make_account, schedule_of):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    url = f"/api/v1/tasks/{task['id']}"
    for body in (
        {"schedule": "61 * * * *"},
        {"state": "sleeping"},
        {"timezone": "Nowhere/City"},
        {"schedule": None},
    ):
        response = await client.put(url, json=body, headers=account.headers)
        assert response.status_code == 422, body
    after = (await client.get(url, headers=account.headers)).json()
    assert after["schedule"] == "0 9 * * *" and after["updated_at"] == task["updated_at"]
    assert (await schedule_of(task["id"])).cron == "0 9 * * *"


async def test_missing_task_is_404(client, make_account):
    import uuid

    account = await make_account()
    missing = f"/api/v1/tasks/{uuid.uuid4()}"
    for method, kwargs in (
        ("GET", {}),
        ("PUT", {"json": {"name": "x"}}),
        ("DELETE", {}),
        ("PATCH", {"json": {"is_public": True}}),
    ):
        suffix = "/visibility" if method == "PATCH" else ""
        response = await client.request(method, missing + suffix, headers=account.headers, **kwargs)
        assert response.status_code == 404, method
        assert response.json() == {"detail": "Task not found"}
    fork = await client.post(missing + "/fork", headers=account.headers)
    assert fork.status_code == 404


async def test_webhook_to_an_internal_address_is_refused_at_configuration(
    client, make_account, database_url
):
    account = await make_account()
    for url in (
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.1/x",
        "http://localhost/hook",
    ):
        body = task_body(notifications=[{"type": "webhook", "url": url}])
        response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
        assert response.status_code == 422, url
        (error,) = response.json()["detail"]
        assert error["loc"] == ["body", "notifications", 0]
        assert "address" in error["msg"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


async def test_internal_webhooks_are_allowed_when_configured(settings, make_account):

    from tests.helpers import app_client

    async with app_client(settings, allow_private_urls=True) as (_, http):
        account = await make_account()
        body = task_body(notifications=[{"type": "webhook", "url": "http://127.0.0.1:9/h"}])
        response = await http.post("/api/v1/tasks", json=body, headers=account.headers)
        assert response.status_code == 201
