"""Reading executions and notifications: filters, pages, access, GraphQL loaders."""

from __future__ import annotations

import uuid
from datetime import timedelta

from torale.db import unit_of_work
from torale.executions.models import Execution
from torale.models_base import utcnow
from torale.tasks.models import Task


async def _history(stack, task_id: str, specs: list[tuple[str, bool | None]]) -> list[str]:
    """Rows oldest first, one second apart; returns their ids in that order."""
    start = utcnow() - timedelta(hours=1)
    ids = []
    async with unit_of_work(stack.resources.session_factory) as session:
        for n, (status, met) in enumerate(specs):
            row = Execution(
                task_id=uuid.UUID(task_id),
                status=status,
                condition_met=met,
                created_at=start + timedelta(seconds=n),
                result={
                    "answer": f"answer {n}",
                    "reasoning": f"reasoning {n}",
                    "condition_met": bool(met),
                    "sources_count": 1,
                }
                if status == "success"
                else None,
                change_summary=f"summary {n}" if met else None,
                grounding_sources=[{"uri": f"https://example.org/{n}", "title": f"page {n}"}],
                attempt=1,
            )
            session.add(row)
            ids.append(str(row.id))
        task = await session.get(Task, uuid.UUID(task_id))
        task.last_execution_id = uuid.UUID(ids[-1])
    return ids


async def test_history_is_newest_first_filtered_and_paged(make_stack, make_account):
    account = await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(account.headers)
        ids = await _history(
            stack,
            task["id"],
            [("success", False), ("failed", None), ("success", True), ("running", None)],
        )
        path = f"/api/v1/tasks/{task['id']}/executions"
        everything = (await stack.http.get(path, headers=account.headers)).json()
        assert [e["id"] for e in everything["items"]] == ids[::-1]
        assert (everything["total"], everything["page"], everything["limit"]) == (4, 1, 20)
        first = everything["items"][1]
        assert first["result"] == {
            "answer": "answer 2",
            "reasoning": "reasoning 2",
            "condition_met": True,
            "sources_count": 1,
        }
        assert first["grounding_sources"] == [
            {"uri": "https://example.org/2", "title": "page 2", "snippet": None}
        ]
        assert {
            "id",
            "task_id",
            "status",
            "started_at",
            "completed_at",
            "condition_met",
            "result",
            "change_summary",
            "grounding_sources",
            "error_message",
            "attempt",
            "notification_sent",
            "created_at",
        } <= set(first)

        failed = (await stack.http.get(f"{path}?status=failed", headers=account.headers)).json()
        assert [e["id"] for e in failed["items"]] == [ids[1]] and failed["total"] == 1
        page2 = (await stack.http.get(f"{path}?limit=3&page=2", headers=account.headers)).json()
        assert [e["id"] for e in page2["items"]] == [ids[0]] and page2["total"] == 4

        bad = await stack.http.get(f"{path}?status=done", headers=account.headers)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]
        too_many = await stack.http.get(f"{path}?limit=101", headers=account.headers)
        assert too_many.status_code == 422

        one = await stack.http.get(f"{path}/{ids[2]}", headers=account.headers)
        assert one.status_code == 200 and one.json()["id"] == ids[2]


async def test_history_access_and_not_found(make_stack, make_account):
    owner, other = await make_account(), await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(owner.headers, is_public=True)
        elsewhere = await stack.create_task(owner.headers)
        (mine,) = await _history(stack, task["id"], [("success", True)])
        (theirs,) = await _history(stack, elsewhere["id"], [("success", True)])
        path = f"/api/v1/tasks/{task['id']}/executions"

        for url in (path, f"{path}/{mine}", f"/api/v1/tasks/{task['id']}/notifications"):
            refused = await stack.http.get(url, headers=other.headers)
            assert refused.status_code == 403, url
            assert refused.json() == {"detail": "Not authorized to access this task"}
        missing_task = await stack.http.get(
            f"/api/v1/tasks/{uuid.uuid4()}/executions", headers=owner.headers
        )
        assert missing_task.status_code == 404
        assert missing_task.json() == {"detail": "Task not found"}
        for execution_id in (uuid.uuid4(), theirs):
            missing = await stack.http.get(f"{path}/{execution_id}", headers=owner.headers)
            assert missing.status_code == 404
            assert missing.json() == {"detail": "Execution not found"}


async def test_notifications_only_met_conditions_with_task_names(make_stack, make_account):
    account, other = await make_account(), await make_account()
    async with make_stack() as stack:
        a = await stack.create_task(account.headers, name="Watch A")
        b = await stack.create_task(account.headers, name="Watch B")
        a_ids = await _history(stack, a["id"], [("success", True), ("success", False)])
        b_ids = await _history(stack, b["id"], [("success", True), ("success", True)])
        await _history(stack, (await stack.create_task(other.headers))["id"], [("success", True)])

        everything = (await stack.http.get("/api/v1/notifications", headers=account.headers)).json()
        assert everything["total"] == 3
        # Both histories start an hour ago: B's rows were written later, one per second.
        assert {n["id"] for n in everything["items"]} == {a_ids[0], *b_ids}
        assert {n["task_name"] for n in everything["items"]} == {"Watch A", "Watch B"}
        created = [n["created_at"] for n in everything["items"]]
        assert created == sorted(created, reverse=True)
        note = next(n for n in everything["items"] if n["id"] == a_ids[0])
        assert note == {
            "id": a_ids[0],
            "task_id": a["id"],
            "task_name": "Watch A",
            "status": "success",
            "condition_met": True,
            "answer": "answer 0",
            "reasoning": "reasoning 0",
            "change_summary": "summary 0",
            "grounding_sources": [
                {"uri": "https://example.org/0", "title": "page 0", "snippet": None}
            ],
            "created_at": note["created_at"],
        }

        of_a = (
            await stack.http.get(f"/api/v1/tasks/{a['id']}/notifications", headers=account.headers)
        ).json()
        assert [n["id"] for n in of_a["items"]] == [a_ids[0]] and of_a["total"] == 1
        paged = (
            await stack.http.get("/api/v1/notifications?limit=1&page=3", headers=account.headers)
        ).json()
        assert len(paged["items"]) == 1 and paged["total"] == 3
        theirs = (await stack.http.get("/api/v1/notifications", headers=other.headers)).json()
        assert theirs["total"] == 1


async def test_graphql_task_with_executions_and_notifications(make_stack, make_account):
    account = await make_account()
    async with make_stack() as stack:
        tasks = [await stack.create_task(account.headers, name=f"t{n}") for n in range(3)]
        histories = [
            await _history(
                stack, t["id"], [("success", True), ("failed", None), ("success", False)]
            )
            for t in tasks
        ]
        query = """
        query {
          tasks { items {
            id name
            last_execution { id status }
            recent_executions(limit: 2) { id status result { answer } }
          } }
          notifications { total items { id task_name } }
        }
        """
        response = await stack.http.post("/graphql", json={"query": query}, headers=account.headers)
        body = response.json()
        assert "errors" not in body, body
        by_id = {t["id"]: t for t in body["data"]["tasks"]["items"]}
        for task, ids in zip(tasks, histories, strict=True):
            shown = by_id[task["id"]]
            assert shown["last_execution"] == {"id": ids[-1], "status": "SUCCESS"}
            assert [e["id"] for e in shown["recent_executions"]] == [ids[2], ids[1]]
        notes = body["data"]["notifications"]
        assert notes["total"] == 3
        assert {n["task_name"] for n in notes["items"]} == {"t0", "t1", "t2"}


async def test_graphql_hides_executions_of_a_public_task_from_others(make_stack, make_account):
    owner, other = await make_account(), await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(owner.headers, is_public=True)
        await _history(stack, task["id"], [("success", True)])
        query = (
            f'query {{ task(id: "{task["id"]}") '
            "{ id last_execution { id } recent_executions { id } } }"
        )
        response = await stack.http.post("/graphql", json={"query": query}, headers=other.headers)
        shown = response.json()["data"]["task"]
        assert shown["last_execution"] is None and shown["recent_executions"] == []
