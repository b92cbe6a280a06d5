"""Stats, queries, executions, errors and users checked figure by figure on a known data set."""

from __future__ import annotations

import pytest

from tests.helpers import task_body

Q1 = "When is the next iPhone being released?"
Q2 = "Has the price of the Steam Deck dropped below $300?"


@pytest.fixture
async def dataset(client, admin, make_account, sql, add_execution):
    """Four users, five tasks (made over REST, so schedules exist), six executions.

    | user | task | query | state     | executions (age, status, duration, extra)          |
    | u1   | t1   | Q1    | active    | e1 2h success 1000ms sent; e2 3h failed 3000ms       |
    |      |      |       |           | search_timeout; e3 30h success 5000ms sent           |
    | u1   | t2   | Q1    | paused    |                                                      |
    | u2   | t3   | Q1    | active    | e4 50min failed (no type, no end); e5 10min running  |
    | u2   | t4   | Q2    | active    | e6 40 days success 2000ms                            |
    | u3   | t5   | Q2    | completed |                                                      |
    u3 signed in 2 days ago and was created 20 days ago; the admin has no activity.
    """
    u1, u2, u3 = [await make_account(f"u{i}@example.com") for i in (1, 2, 3)]

    async def task(account, query, state="active"):
        body = task_body(search_query=query)
        created = await client.post("/api/v1/tasks", json=body, headers=account.headers)
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        if state != "active":
            changed = await client.put(
                f"/api/v1/tasks/{task_id}", json={"state": state}, headers=account.headers
            )
            assert changed.status_code == 200, changed.text
        return task_id

    t1 = await task(u1, Q1)
    await task(u1, Q1, "paused")
    t3 = await task(u2, Q1)
    t4 = await task(u2, Q2)
    await task(u3, Q2, "completed")
    sql(
        "UPDATE users SET last_login = now() - interval '2 days', "
        "created_at = now() - interval '20 days' WHERE id = %s",
        u3.user_id,
    )
    ex = {
        "e1": add_execution(t1, "success", age="2 hours", duration_ms=1000, notification_sent=True),
        "e2": add_execution(
            t1, "failed", age="3 hours", duration_ms=3000, error_type="search_timeout"
        ),
        "e3": add_execution(
            t1, "success", age="30 hours", duration_ms=5000, notification_sent=True
        ),
        "e4": add_execution(t3, "failed", age="50 minutes"),
        "e5": add_execution(t3, "running", age="10 minutes"),
        "e6": add_execution(t4, "success", age="40 days", duration_ms=2000),
    }
    return {"admin": admin, "u1": u1, "u2": u2, "u3": u3, "ex": ex}


STATS_QUERY = """{ admin_stats {
  users { total active_30d new_7d } tasks { total active paused completed }
  executions { total_24h success_24h failed_24h avg_duration_ms }
  notifications { sent_24h sent_7d } popular_queries { query count }
  deliveries { pending retrying failed stranded oldest_due_age_seconds } } }"""


async def test_stats_figures(client, gql, dataset):
    headers = dataset["admin"].headers
    response = await client.get("/admin/stats", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        # active_30d: u1 and u2 by their executions, u3 by signing in; not the admin.
        "users": {"total": 4, "active_30d": 3, "new_7d": 3},
        "tasks": {"total": 5, "active": 3, "paused": 1, "completed": 1},
        # e1, e2, e4, e5; only e1 and e2 have both timestamps.
        "executions": {
            "total_24h": 4,
            "success_24h": 1,
            "failed_24h": 2,
            "avg_duration_ms": 2000.0,
        },
        "notifications": {"sent_24h": 1, "sent_7d": 2},
        "popular_queries": [{"query": Q1, "count": 3}, {"query": Q2, "count": 2}],
        "deliveries": {
            "pending": 0,
            "retrying": 0,
            "failed": 0,
            "stranded": 0,
            "oldest_due_age_seconds": None,
        },
    }
    assert (await gql(STATS_QUERY, headers))["data"]["admin_stats"] == response.json()


async def test_stats_delivery_figures(client, gql, admin, dataset, sql):
    """One row per case; the figures an operator watches for stuck notifications."""
    u1 = dataset["u1"]
    [(task_id,)] = sql("SELECT id FROM tasks WHERE user_id = %s LIMIT 1", u1.user_id)
    cases = [
        # status, attempts, due (seconds from now), lease (seconds from now, None: none)
        ("pending", 0, -10, 60),  # pending: its message is live
        ("pending", 0, -100, None),  # pending and stranded: never enqueued; the oldest due
        ("pending", 2, 300, 310),  # retrying, not due yet
        ("pending", 1, -30, -1),  # retrying and stranded: its lease ran out
        ("failed", 3, None, None),
        ("succeeded", 1, None, None),
        ("gone", 1, None, None),
    ]
    for status, attempts, due, lease in cases:
        sql(
            """
            INSERT INTO deliveries (id, task_id, user_id, channel, target, event_id,
                event_type, body, status, attempt_count, next_attempt_at, lease_expires_at)
            VALUES (gen_random_uuid(), %s, %s, 'webhook', 'https://example.com/hook',
                gen_random_uuid()::text, 'condition_met', convert_to('{}', 'UTF8'), %s, %s,
                now() + make_interval(secs => %s), now() + make_interval(secs => %s))
            """,
            task_id,
            u1.user_id,
            status,
            attempts,
            due,
            lease,
        )
    response = await client.get("/admin/stats", headers=admin.headers)
    assert response.status_code == 200, response.text
    figures = response.json()["deliveries"]
    age = figures.pop("oldest_due_age_seconds")
    assert figures == {"pending": 2, "retrying": 2, "failed": 1, "stranded": 2}
    assert 100 <= age < 160
    graphql = (await gql(STATS_QUERY, admin.headers))["data"]["admin_stats"]["deliveries"]
    assert graphql["pending"] == 2 and graphql["stranded"] == 2


async def test_stats_on_an_empty_platform(client, admin):
    stats = (await client.get("/admin/stats", headers=admin.headers)).json()
    assert stats["users"] == {"total": 1, "active_30d": 0, "new_7d": 1}
    assert stats["executions"]["avg_duration_ms"] is None
    assert stats["popular_queries"] == []


async def test_queries_figures_and_pages(client, dataset):
    headers = dataset["admin"].headers
    response = await client.get("/admin/queries", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [
            {
                "search_query": Q1,
                "total_tasks": 3,
                "active_tasks": 2,
                "total_executions": 5,
                # e1, e3 succeeded out of e1..e4 finished; e5 still running.
                "success_rate": 0.5,
                "avg_duration_ms": 3000.0,
            },
            {
                "search_query": Q2,
                "total_tasks": 2,
                "active_tasks": 1,
                "total_executions": 1,
                "success_rate": 1.0,
                "avg_duration_ms": 2000.0,
            },
        ],
        "total": 2,
        "page": 1,
        "limit": 50,
    }
    second = (await client.get("/admin/queries?limit=1&page=2", headers=headers)).json()
    assert [q["search_query"] for q in second["items"]] == [Q2]
    assert second["total"] == 2 and second["limit"] == 1
    # Past the end no row carries the total: it still counts the groups, not the tasks.
    past = (await client.get("/admin/queries?limit=1&page=5", headers=headers)).json()
    assert past["items"] == [] and past["total"] == 2


async def test_executions_window_status_and_joins(client, dataset):
    headers, ex = dataset["admin"].headers, dataset["ex"]

    async def ids(query: str = "") -> list[str]:
        response = await client.get(f"/admin/executions{query}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [item["id"] for item in body["items"]]

    assert await ids() == [ex["e5"], ex["e4"], ex["e1"], ex["e2"]]
    assert await ids("?hours=1") == [ex["e5"], ex["e4"]]
    assert await ids("?hours=48") == [ex["e5"], ex["e4"], ex["e1"], ex["e2"], ex["e3"]]
    assert await ids("?hours=720") == [ex[k] for k in ("e5", "e4", "e1", "e2", "e3")]
    assert await ids("?status=failed") == [ex["e4"], ex["e2"]]
    assert await ids("?status=success&hours=48") == [ex["e1"], ex["e3"]]

    body = (await client.get("/admin/executions?limit=2&page=2", headers=headers)).json()
    assert [i["id"] for i in body["items"]] == [ex["e1"], ex["e2"]] and body["total"] == 4
    first = body["items"][0]
    assert first["user_email"] == "u1@example.com"
    assert first["search_query"] == Q1
    assert first["duration_ms"] == 1000 and isinstance(first["duration_ms"], int)
    assert first["status"] == "success" and first["notification_sent"] is True
    assert first["created_at"].endswith("Z")
    running = (await client.get("/admin/executions?limit=1", headers=headers)).json()["items"][0]
    assert running["user_email"] == "u2@example.com" and running["duration_ms"] is None


async def test_errors_grouped_by_stored_type(client, gql, dataset):
    headers, ex = dataset["admin"].headers, dataset["ex"]
    response = await client.get("/admin/errors", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["id"] for i in body["items"]] == [ex["e4"], ex["e2"]]
    assert body["error_types"] == {"search_timeout": 1, "unknown": 1}
    assert body["total"] == 2 and body["limit"] == 50
    assert body["items"][1]["error_message"] == "it broke"

    narrow = (await client.get("/admin/errors?hours=1", headers=headers)).json()
    assert [i["id"] for i in narrow["items"]] == [ex["e4"]]
    assert narrow["error_types"] == {"unknown": 1}
    # The counts cover the whole window, not only the page shown.
    paged = (await client.get("/admin/errors?limit=1&page=2", headers=headers)).json()
    assert [i["id"] for i in paged["items"]] == [ex["e2"]]
    assert paged["error_types"] == {"search_timeout": 1, "unknown": 1}

    data = await gql("{ admin_errors(hours: 1) { total error_types } }", headers)
    assert data["data"]["admin_errors"] == {"total": 1, "error_types": {"unknown": 1}}


async def test_users_figures_and_active_only(client, dataset, sql):
    headers = dataset["admin"].headers
    body = (await client.get("/admin/users", headers=headers)).json()
    by_email = {u["email"]: u for u in body["items"]}
    assert body["total"] == 4 and body["limit"] == 50
    figures = ("tasks_count", "active_tasks_count", "executions_24h", "notifications_7d")
    assert {e: tuple(u[f] for f in figures) for e, u in by_email.items()} == {
        "u1@example.com": (2, 1, 2, 2),
        "u2@example.com": (2, 2, 2, 0),
        "u3@example.com": (1, 0, 0, 0),
        dataset["admin"].email: (0, 0, 0, 0),
    }
    assert by_email["u3@example.com"]["last_login"].endswith("Z")
    assert by_email["u1@example.com"]["last_login"] is None
    # Newest first: u3 was backdated to 20 days ago.
    assert body["items"][-1]["email"] == "u3@example.com"

    sql("UPDATE users SET state = 'deactivated' WHERE id = %s", dataset["u3"].user_id)
    active = (await client.get("/admin/users?active_only=true", headers=headers)).json()
    assert active["total"] == 3
    assert "u3@example.com" not in {u["email"] for u in active["items"]}
    page = (await client.get("/admin/users?limit=3&page=2", headers=headers)).json()
    assert [u["email"] for u in page["items"]] == ["u3@example.com"]
