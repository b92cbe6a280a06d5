"""Deactivating and reactivating users: keys revoked, tasks paused, nothing deleted."""

from __future__ import annotations

import uuid

from tests.helpers import app_client, task_body
from torale.admin.deactivation import DEACTIVATED_NOTE


async def _tasks(client, account, count: int, paused: int = 0) -> list[str]:
    ids = []
    for i in range(count):
        created = await client.post(
            "/api/v1/tasks", json=task_body(name=f"t{i}"), headers=account.headers
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    for task_id in ids[:paused]:
        await client.put(
            f"/api/v1/tasks/{task_id}", json={"state": "paused"}, headers=account.headers
        )
    return ids


async def test_deactivate_blocks_pauses_and_keeps_everything(
    client, admin, make_account, sql, schedule_of
):
    user = await make_account()
    bystander = await make_account()
    task_ids = await _tasks(client, user, 3, paused=1)
    (other_task,) = await _tasks(client, bystander, 1)
    assert (await client.get("/auth/me", headers=user.headers)).status_code == 200

    response = await client.patch(f"/admin/users/{user.user_id}/deactivate", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "User deactivated successfully",
        "user_id": str(user.user_id),
        "tasks_paused": 2,
    }

    refused = await client.get("/auth/me", headers=user.headers)
    assert refused.status_code == 401 and refused.json() == {"detail": "Invalid API key"}
    rows = sql("SELECT state, deactivated_at FROM users WHERE id = %s", user.user_id)
    assert rows[0][0] == "deactivated" and rows[0][1] is not None
    assert sql("SELECT state FROM api_keys WHERE user_id = %s", user.user_id) == [("revoked",)]
    states = sql("SELECT state FROM tasks WHERE user_id = %s", user.user_id)
    assert sorted(s for (s,) in states) == ["paused"] * 3  # nothing deleted
    for task_id in task_ids:
        schedule = await schedule_of(task_id)
        assert schedule is not None and schedule.paused and schedule.next_run_at is None
    assert (await schedule_of(task_ids[1])).note == DEACTIVATED_NOTE
    # Someone else's tasks are untouched.
    assert not (await schedule_of(other_task)).paused
    assert (await client.get("/auth/me", headers=bystander.headers)).status_code == 200

    listed = (await client.get("/admin/users", headers=admin.headers)).json()["items"]
    mine = next(u for u in listed if u["id"] == str(user.user_id))
    assert mine["state"] == "deactivated" and mine["active_tasks_count"] == 0
    assert mine["tasks_count"] == 3

    again = await client.patch(f"/admin/users/{user.user_id}/deactivate", headers=admin.headers)
    assert again.status_code == 200 and again.json()["tasks_paused"] == 0
    assert sql("SELECT deactivated_at FROM users WHERE id = %s", user.user_id) == [(rows[0][1],)]


async def test_activate_lets_the_user_back_with_tasks_still_paused(
    client, gql, admin, make_account, sql, schedule_of
):
    user = await make_account()
    (task_id,) = await _tasks(client, user, 1)
    data = await gql(
        "mutation($id: UUID!) { deactivate_user(id: $id) { message user_id tasks_paused } }",
        admin.headers,
        id=str(user.user_id),
    )
    assert data["data"]["deactivate_user"]["tasks_paused"] == 1

    response = await client.patch(f"/admin/users/{user.user_id}/activate", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "User activated successfully",
        "user_id": str(user.user_id),
    }
    assert sql("SELECT state, deactivated_at FROM users WHERE id = %s", user.user_id) == [
        ("active", None)
    ]
    assert sql("SELECT state FROM tasks WHERE id = %s", task_id) == [("paused",)]
    assert (await schedule_of(task_id)).paused
    # Revoked keys stay revoked: the user signs in again or is given a new key.
    assert (await client.get("/auth/me", headers=user.headers)).status_code == 401
    twice = await client.patch(f"/admin/users/{user.user_id}/activate", headers=admin.headers)
    assert twice.status_code == 200


async def test_self_and_unknown_users(client, gql, admin, sql):
    own = await client.patch(f"/admin/users/{admin.user_id}/deactivate", headers=admin.headers)
    assert own.status_code == 409
    assert own.json() == {"detail": "You cannot deactivate your own account"}
    assert sql("SELECT state FROM users WHERE id = %s", admin.user_id) == [("active",)]
    assert (await client.get("/auth/me", headers=admin.headers)).status_code == 200

    missing = str(uuid.uuid4())
    for action in ("deactivate", "activate"):
        response = await client.patch(f"/admin/users/{missing}/{action}", headers=admin.headers)
        assert response.status_code == 404 and response.json() == {"detail": "User not found"}
    (error,) = (
        await gql(
            "mutation($id: UUID!) { deactivate_user(id: $id) { user_id } }",
            admin.headers,
            id=str(admin.user_id),
        )
    )["errors"]
    assert error["extensions"]["code"] == "CONFLICT"
    bad = await client.patch("/admin/users/not-a-uuid/deactivate", headers=admin.headers)
    assert bad.status_code == 422


async def test_temporal_down_changes_nothing(settings, make_account, sql, doomed_temporal):
    address = doomed_temporal.client.service_client.config.target_host
    async with app_client(settings, temporal_address=address) as (_, http):
        admin = await make_account(admin=True)
        user = await make_account()
        await _tasks(http, user, 2)
        await doomed_temporal.shutdown()

        response = await http.patch(
            f"/admin/users/{user.user_id}/deactivate", headers=admin.headers
        )
        assert response.status_code == 503, response.text
        assert sql("SELECT state FROM users WHERE id = %s", user.user_id) == [("active",)]
        assert sql("SELECT state FROM api_keys WHERE user_id = %s", user.user_id) == [("active",)]
        assert sql("SELECT DISTINCT state FROM tasks WHERE user_id = %s", user.user_id) == [
            ("active",)
        ]
        assert (await http.get("/auth/me", headers=user.headers)).status_code == 200

        listing = await http.get("/admin/temporal/schedules", headers=admin.headers)
        assert listing.status_code == 503
        assert listing.json() == {"detail": "Temporal unavailable"}
