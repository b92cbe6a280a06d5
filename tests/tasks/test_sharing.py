"""Access rules, visibility, public reads and forks (SPEC §5)."""

from __future__ import annotations

from tests.helpers import task_body

CHANNELS = [{"type": "email", "address": "owner@example.com"}]


async def _task(client, account, **overrides):
    body = task_body(notifications=CHANNELS, **overrides)
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert response.status_code == 201
    return response.json()


async def test_private_task_is_403_for_others(client, make_account):
    owner, other = await make_account(), await make_account()
    task = await _task(client, owner)
    url = f"/api/v1/tasks/{task['id']}"
    for method, path, kwargs in (
        ("GET", url, {}),
        ("PUT", url, {"json": {"name": "mine now"}}),
        ("DELETE", url, {}),
        ("PATCH", url + "/visibility", {"json": {"is_public": True}}),
        ("POST", url + "/fork", {}),
    ):
        response = await client.request(method, path, headers=other.headers, **kwargs)
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": "Not authorized to access this task"}
    unchanged = (await client.get(url, headers=owner.headers)).json()
    assert unchanged["name"] == task["name"] and unchanged["is_public"] is False


async def test_public_task_read_by_others_counts_views_and_hides_channels(client, make_account):
    owner, other = await make_account(), await make_account()
    task = await _task(client, owner)
    url = f"/api/v1/tasks/{task['id']}"
    shared = await client.patch(
        url + "/visibility", json={"is_public": True}, headers=owner.headers
    )
    assert shared.status_code == 200
    assert shared.json() == {"id": task["id"], "is_public": True}

    first = (await client.get(url, headers=other.headers)).json()
    second = (await client.get(url, headers=other.headers)).json()
    assert "notifications" not in first
    assert (first["view_count"], second["view_count"]) == (1, 2)
    mine = (await client.get(url, headers=owner.headers)).json()
    assert mine["notifications"] == CHANNELS and mine["view_count"] == 2

    for method, kwargs in (("PUT", {"json": {"name": "x"}}), ("DELETE", {})):
        response = await client.request(method, url, headers=other.headers, **kwargs)
        assert response.status_code == 403


async def test_fork_of_someone_elses_public_task(client, make_account, schedule_of):
    owner, other = await make_account(), await make_account()
    task = await _task(client, owner, name="Launch watch", timezone="Europe/Paris")
    url = f"/api/v1/tasks/{task['id']}"
    await client.patch(url + "/visibility", json={"is_public": True}, headers=owner.headers)

    response = await client.post(url + "/fork", headers=other.headers)
    assert response.status_code == 201
    fork = response.json()
    assert fork["name"] == "Launch watch (Copy)"
    assert fork["user_id"] == str(other.user_id)
    assert fork["state"] == "paused" and fork["is_public"] is False
    assert fork["forked_from_task_id"] == task["id"]
    assert fork["notifications"] == []
    for field in (
        "search_query",
        "condition_description",
        "schedule",
        "timezone",
        "notify_behavior",
    ):
        assert fork[field] == task[field]
    assert (await schedule_of(fork["id"])).paused

    source = (await client.get(url, headers=owner.headers)).json()
    assert source["subscriber_count"] == 1 and source["view_count"] == 0


async def test_fork_own_task_keeps_channels_and_takes_a_name(client, make_account):
    owner = await make_account()
    task = await _task(client, owner)
    response = await client.post(
        f"/api/v1/tasks/{task['id']}/fork", json={"name": "Second copy"}, headers=owner.headers
    )
    fork = response.json()
    assert response.status_code == 201 and fork["name"] == "Second copy"
    assert fork["notifications"] == CHANNELS
    source = (await client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers)).json()
    assert source["subscriber_count"] == 0
