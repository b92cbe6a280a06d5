"""Atom feeds of public tasks (issue 15, item 4), read by feedparser, with validators."""

from __future__ import annotations

import uuid
from email.utils import format_datetime, parsedate_to_datetime

import feedparser

from tests.executions.execution_helpers import CHAT, evaluation

FEED_QUERY = """query($id: UUID!) {
  public_task_feed(id: $id) {
    task_id task_name updated_at
    entries { execution_id answer reasoning change_summary current_state grounding_sources }
  }
}"""


def feed_url(task_id: str) -> str:
    return f"/public/tasks/{task_id}/feed.atom"


async def test_feed_lists_condition_met_runs_and_answers_304(started_task, llm):
    async with started_task(
        evaluation(True, answer="Announced: September 19 <b>&</b>", state={"date": "09-19"}),
        evaluation(False, answer="Nothing new"),
        evaluation(True, answer="Pre-orders open September 12", state={"date": "09-12"}),
        notify_behavior="always",
    ) as (stack, account, task):
        runs = [await stack.run(account.headers, task["id"]) for _ in range(3)]
        shared = await stack.http.patch(
            f"/api/v1/tasks/{task['id']}/visibility",
            json={"is_public": True},
            headers=account.headers,
        )
        assert shared.status_code == 200

        # No credential needed: feed readers do not sign in.
        response = await stack.http.get(feed_url(task["id"]))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.version == "atom10"
        assert parsed.feed.title == task["name"]
        assert parsed.feed.id == f"urn:uuid:{task['id']}"
        # Newest first, condition-met runs only.
        assert [e.id for e in parsed.entries] == [
            f"urn:uuid:{runs[2]['id']}",
            f"urn:uuid:{runs[0]['id']}",
        ]
        newest, oldest = parsed.entries
        assert newest.title == "Pre-orders open September 12"
        assert oldest.title == "Announced: September 19 <b>&</b>"
        assert "Why: The sources only mention rumours." in oldest.content[0].value
        assert 'State: {"date": "09-19"}' in oldest.content[0].value
        assert [link.href for link in newest.links if link.rel == "related"] == [
            "https://www.apple.com/newsroom/iphone",
            "https://news.example.org/iphone-date",
        ]

        etag, modified = response.headers["etag"], response.headers["last-modified"]
        again = await stack.http.get(feed_url(task["id"]), headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        weak = await stack.http.get(
            feed_url(task["id"]), headers={"If-None-Match": f'"other", W/{etag}'}
        )
        assert weak.status_code == 304
        since = await stack.http.get(feed_url(task["id"]), headers={"If-Modified-Since": modified})
        assert since.status_code == 304
        earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
        stale = await stack.http.get(feed_url(task["id"]), headers={"If-Modified-Since": earlier})
        assert stale.status_code == 200
        # If-None-Match decides when both are sent.
        both = await stack.http.get(
            feed_url(task["id"]), headers={"If-None-Match": '"old"', "If-Modified-Since": modified}
        )
        assert both.status_code == 200

        llm.script("POST", CHAT, evaluation(True, answer="Shipping September 19"))
        await stack.run(account.headers, task["id"])
        changed = await stack.http.get(feed_url(task["id"]), headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert len(feedparser.parse(changed.content).entries) == 3

        graphql = await stack.http.post(
            "/graphql", json={"query": FEED_QUERY, "variables": {"id": task["id"]}}
        )
        data = graphql.json()["data"]["public_task_feed"]
        assert data["task_id"] == task["id"]
        assert [e["answer"] for e in data["entries"]] == [
            "Shipping September 19",
            "Pre-orders open September 12",
            "Announced: September 19 <b>&</b>",
        ]
        assert data["entries"][2]["current_state"] == {"date": "09-19"}


async def test_private_and_unknown_tasks_are_404_on_both_doors(client, make_account):
    account = await make_account()
    created = await client.post(
        "/api/v1/tasks",
        json={
            "search_query": "When is the next iPhone being released?",
            "condition_description": "Apple has announced a specific release date",
            "schedule": "0 9 * * *",
        },
        headers=account.headers,
    )
    task_id = created.json()["id"]
    for target in (task_id, str(uuid.uuid4())):
        # Even the owner: a private task has no public feed.
        response = await client.get(feed_url(target), headers=account.headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "Task not found"}
        graphql = await client.post(
            "/graphql", json={"query": FEED_QUERY, "variables": {"id": target}}
        )
        assert graphql.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    await client.patch(
        f"/api/v1/tasks/{task_id}/visibility", json={"is_public": True}, headers=account.headers
    )
    empty = await client.get(feed_url(task_id))
    assert empty.status_code == 200
    parsed = feedparser.parse(empty.content)
    assert parsed.bozo == 0 and parsed.entries == []
    assert parsed.feed.updated  # a valid feed needs `updated` even with no entries
    not_a_uuid = await client.get("/public/tasks/nope/feed.atom")
    assert not_a_uuid.status_code == 422
