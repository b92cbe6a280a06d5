"""Temporal stopped mid-flight: every write is refused with 503 and changes nothing."""

from __future__ import annotations

import psycopg

from tests.helpers import api_on_own_temporal, task_body

UNAVAILABLE = {"detail": "Scheduler unavailable, nothing was changed"}


def _rows(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT id, name, schedule, timezone, state, state_changed_at, updated_at "
            "FROM tasks ORDER BY created_at"
        ).fetchall()


async def test_writes_are_refused_and_rolled_back(
    settings, make_account, database_url, doomed_temporal
):
    async with api_on_own_temporal(settings, doomed_temporal, make_account) as (
        http,
        account,
        task,
    ):
        url = f"/api/v1/tasks/{task['id']}"
        before = _rows(database_url)

        await doomed_temporal.shutdown()

        attempts = [
            ("POST", "/api/v1/tasks", {"json": task_body(name="never")}),
            ("PUT", url, {"json": {"schedule": "0 10 * * *"}}),
            ("PUT", url, {"json": {"state": "paused"}}),
            ("PUT", url, {"json": {"state": "completed"}}),
            ("DELETE", url, {}),
            ("POST", url + "/fork", {}),
        ]
        for method, path, kwargs in attempts:
            response = await http.request(method, path, headers=account.headers, **kwargs)
            assert response.status_code == 503, (method, path, response.text)
            assert response.json() == UNAVAILABLE
            assert _rows(database_url) == before, (method, path)

        # Reads do not need Temporal.
        assert (await http.get(url, headers=account.headers)).status_code == 200
        ready = await http.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["temporal"] == "down"
        assert "temporal" in ready.json()["detail"]
