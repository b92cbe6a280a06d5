"""Export and import of tasks, over REST and GraphQL (torale.tasks.transfer)."""

from __future__ import annotations

import uuid

from tests.helpers import api_on_own_temporal, task_body
from torale.client.resources import TASK_FIELDS as CLIENT_TASK_FIELDS

WEBHOOK = {
    "type": "webhook",
    "url": "https://hooks.example.com/torale",
    "headers": {"Authorization": "Bearer very-secret-token", "X-Team": "ops"},
}
EMAIL = {"type": "email", "address": "ops@example.com"}

EXPORT_QUERY = """
query { export_tasks { version exported_at tasks {
  name search_query schedule timezone notify_behavior notifications state is_public config
} } }
"""
IMPORT_MUTATION = """
mutation ($input: ImportTasksInput!) { import_tasks(input: $input) {
  dry_run atomic applied created skipped invalid failed
  items { index status name task_id reason errors }
} }
"""


async def _names(client, account) -> list[str]:
    listed = (await client.get("/api/v1/tasks?limit=100", headers=account.headers)).json()
    return sorted(t["name"] for t in listed["items"])


async def test_export_has_every_task_and_no_secrets(client, make_account, schedule_of):
    account = await make_account()
    first = await client.post(
        "/api/v1/tasks",
        json=task_body(name="Prices", notifications=[WEBHOOK, EMAIL], config={"k": 1}),
        headers=account.headers,
    )
    second = await client.post(
        "/api/v1/tasks", json=task_body(name="Release"), headers=account.headers
    )
    await client.put(
        f"/api/v1/tasks/{second.json()['id']}", json={"state": "paused"}, headers=account.headers
    )
    other = await make_account()
    await client.post("/api/v1/tasks", json=task_body(name="Not mine"), headers=other.headers)

    # Not captured by /api/v1/tasks/{task_id}.
    response = await client.get("/api/v1/tasks/export", headers=account.headers)
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["version"] == 1 and export["exported_at"].endswith("Z")
    assert [t["name"] for t in export["tasks"]] == ["Prices", "Release"]
    prices, release = export["tasks"]
    assert prices["notifications"] == [
        {
            "type": "webhook",
            "url": "https://hooks.example.com/torale",
            "redacted_headers": ["Authorization", "X-Team"],
        },
        EMAIL,
    ]
    assert "very-secret-token" not in response.text and "id" not in prices
    assert prices["config"] == {"k": 1} and prices["state"] == "active"
    assert release["state"] == "paused"
    # The client declares the fields on its own (it never imports server code).
    assert set(prices) == CLIENT_TASK_FIELDS
    assert prices["failure_threshold"] == 3 and prices["output_schema"] is None

    graphql = await client.post("/graphql", json={"query": EXPORT_QUERY}, headers=account.headers)
    data = graphql.json()["data"]["export_tasks"]
    assert [t["name"] for t in data["tasks"]] == ["Prices", "Release"]
    assert data["tasks"][0]["notifications"] == prices["notifications"]
    assert first.status_code == 201

    anonymous = await client.get("/api/v1/tasks/export")
    assert anonymous.status_code == 401


PRICE_SCHEMA = {"type": "object", "properties": {"price": {"type": "number"}}}


async def test_round_trip_into_another_account(client, make_account, schedule_of):
    source = await make_account()
    await client.post(
        "/api/v1/tasks",
        json=task_body(
            name="Prices",
            notifications=[WEBHOOK],
            timezone="Europe/Paris",
            failure_threshold=5,
            output_schema=PRICE_SCHEMA,
        ),
        headers=source.headers,
    )
    paused = await client.post(
        "/api/v1/tasks", json=task_body(name="Paused one"), headers=source.headers
    )
    await client.put(
        f"/api/v1/tasks/{paused.json()['id']}", json={"state": "paused"}, headers=source.headers
    )
    export = (await client.get("/api/v1/tasks/export", headers=source.headers)).json()

    target = await make_account()
    # The export document itself is a valid import body (extra keys are ignored).
    response = await client.post("/api/v1/tasks/import", json=export, headers=target.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["applied"] is True and report["created"] == 2
    assert [i["status"] for i in report["items"]] == ["created", "created"]
    by_name = {i["name"]: i["task_id"] for i in report["items"]}

    prices = (await client.get(f"/api/v1/tasks/{by_name['Prices']}", headers=target.headers)).json()
    assert prices["timezone"] == "Europe/Paris"
    assert prices["failure_threshold"] == 5 and prices["output_schema"] == PRICE_SCHEMA
    # The header values were never exported; the channel comes back without them.
    assert prices["notifications"] == [{"type": "webhook", "url": WEBHOOK["url"]}]
    copy = await schedule_of(by_name["Paused one"])
    assert copy is not None and copy.paused
    assert (await schedule_of(by_name["Prices"])).paused is False

    # Idempotent: the same import again creates nothing.
    again = (await client.post("/api/v1/tasks/import", json=export, headers=target.headers)).json()
    assert again["created"] == 0 and again["skipped"] == 2
    assert {i["reason"] for i in again["items"]} == {"A task with this name exists"}
    assert await _names(client, target) == ["Paused one", "Prices"]


async def test_items_reported_one_by_one_and_dry_run_writes_nothing(client, make_account):
    account = await make_account()
    await client.post("/api/v1/tasks", json=task_body(name="Existing"), headers=account.headers)
    items = [
        task_body(name="New one"),
        task_body(name="Existing"),
        task_body(name="Bad cron", schedule="every day"),
        task_body(name="New one"),
        {"name": "No query", "schedule": "0 9 * * *", "colour": "red"},
        # No name: keyed by the name create would give it.
        task_body(search_query="What is the price of the Pixel 10 Pro today?"),
        "not an object",
    ]
    dry = await client.post(
        "/api/v1/tasks/import", json={"tasks": items, "dry_run": True}, headers=account.headers
    )
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True and report["applied"] is False
    assert [i["status"] for i in report["items"]] == [
        "created",
        "skipped",
        "invalid",
        "skipped",
        "invalid",
        "created",
        "invalid",
    ]
    assert (report["created"], report["skipped"], report["invalid"]) == (2, 2, 3)
    assert report["items"][3]["reason"] == "An earlier item has this name"
    assert report["items"][2]["errors"] == [
        {"loc": ["tasks", 2, "schedule"], "msg": "Invalid cron expression", "type": "value_error"}
    ]
    missing = {(tuple(e["loc"]), e["msg"]) for e in report["items"][4]["errors"]}
    assert missing == {
        (("tasks", 4, "colour"), "Unknown field"),
        (("tasks", 4, "search_query"), "Field required"),
        (("tasks", 4, "condition_description"), "Field required"),
    }
    assert report["items"][5]["name"] == "What is the price of the Pixel 10 Pro today?"
    assert report["items"][6]["errors"][0]["msg"] == "Each task must be an object"
    assert all(i["task_id"] is None for i in report["items"])
    assert await _names(client, account) == ["Existing"]

    applied = (
        await client.post("/api/v1/tasks/import", json={"tasks": items}, headers=account.headers)
    ).json()
    assert applied["applied"] is True and applied["created"] == 2
    assert [i["status"] for i in applied["items"]] == [i["status"] for i in report["items"]]
    assert all((i["task_id"] is not None) == (i["status"] == "created") for i in applied["items"])
    assert await _names(client, account) == [
        "Existing",
        "New one",
        "What is the price of the Pixel 10 Pro today?",
    ]


async def test_atomic_import_creates_nothing_unless_all_valid(client, make_account):
    account = await make_account()
    items = [task_body(name="A"), task_body(name="B", timezone="Mars/Olympus")]
    refused = (
        await client.post(
            "/api/v1/tasks/import", json={"tasks": items, "atomic": True}, headers=account.headers
        )
    ).json()
    assert refused["atomic"] is True and refused["applied"] is False
    assert [i["status"] for i in refused["items"]] == ["created", "invalid"]
    assert refused["items"][1]["errors"][0]["msg"] == "Unknown timezone: Mars/Olympus"
    assert await _names(client, account) == []

    items[1]["timezone"] = "Asia/Tokyo"
    done = (
        await client.post(
            "/api/v1/tasks/import", json={"tasks": items, "atomic": True}, headers=account.headers
        )
    ).json()
    assert done["applied"] is True and done["created"] == 2
    assert await _names(client, account) == ["A", "B"]


async def test_validation_is_the_same_as_create(client, make_account):
    """Private URLs in a query or a webhook are refused as create refuses them."""
    account = await make_account()
    body = task_body(
        name="Internal",
        notifications=[{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
    )
    created = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert created.status_code == 422
    imported = (
        await client.post("/api/v1/tasks/import", json={"tasks": [body]}, headers=account.headers)
    ).json()
    [item] = imported["items"]
    assert item["status"] == "invalid"
    assert [e["msg"] for e in item["errors"]] == [e["msg"] for e in created.json()["detail"]]


async def test_wrong_json_types_are_invalid_items(client, make_account):
    account = await make_account()
    item = task_body(name=5, schedule=["0 9 * * *"], is_public="yes", state=None)
    report = (
        await client.post("/api/v1/tasks/import", json={"tasks": [item]}, headers=account.headers)
    ).json()
    [result] = report["items"]
    assert result["status"] == "invalid" and result["name"] is None
    assert {(e["loc"][2], e["msg"]) for e in result["errors"]} == {
        ("name", "Must be a string"),
        ("schedule", "Must be a string"),
        ("is_public", "Must be a boolean"),
    }


async def test_bad_import_bodies(client, make_account):
    account = await make_account()
    missing = await client.post("/api/v1/tasks/import", json={}, headers=account.headers)
    assert missing.status_code == 422
    too_many = await client.post(
        "/api/v1/tasks/import",
        json={"tasks": [task_body(name=f"t{i}") for i in range(501)]},
        headers=account.headers,
    )
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["msg"] == "At most 500 tasks per import"
    assert await _names(client, account) == []


async def test_import_through_graphql(client, make_account):
    account = await make_account()
    variables = {
        "input": {
            "tasks": [task_body(name="From GraphQL"), task_body(name="Bad", schedule="* * *")],
            "dry_run": False,
        }
    }
    response = await client.post(
        "/graphql",
        json={"query": IMPORT_MUTATION, "variables": variables},
        headers=account.headers,
    )
    report = response.json()["data"]["import_tasks"]
    assert report["applied"] is True and (report["created"], report["invalid"]) == (1, 1)
    created, bad = report["items"]
    assert created["status"] == "created" and uuid.UUID(created["task_id"])
    assert bad["errors"][0]["loc"] == ["tasks", 1, "schedule"]
    assert await _names(client, account) == ["From GraphQL"]

    anonymous = await client.post(
        "/graphql", json={"query": IMPORT_MUTATION, "variables": variables}
    )
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_scheduler_down_fails_items_alone_or_the_atomic_whole(
    settings, make_account, doomed_temporal
):
    async with api_on_own_temporal(settings, doomed_temporal, make_account) as (
        http,
        account,
        _,
    ):
        await doomed_temporal.shutdown()
        items = [task_body(name="Needs a schedule"), task_body(name="Done", state="completed")]
        report = (
            await http.post("/api/v1/tasks/import", json={"tasks": items}, headers=account.headers)
        ).json()
        scheduled, completed = report["items"]
        # Only the item that needed Temporal failed (and was rolled back alone); a
        # completed task owns no schedule.
        assert scheduled["status"] == "failed" and scheduled["task_id"] is None
        assert scheduled["reason"] == "Scheduler unavailable, nothing was changed"
        assert completed["status"] == "created"
        assert (report["created"], report["failed"]) == (1, 1)

        atomic = await http.post(
            "/api/v1/tasks/import",
            json={"tasks": [task_body(name="Another one")], "atomic": True},
            headers=account.headers,
        )
        assert atomic.status_code == 503
        names = await _names(http, account)
        assert sorted(names) == sorted(["Done", "When is the next iPhone being released?"])


async def test_import_honours_idempotency_key(client, make_account):
    """A retried import with the same key replays the first report, even though a
    replay by name alone would now report every item skipped."""
    account = await make_account()
    headers = {**account.headers, "Idempotency-Key": "import-1"}
    body = {"tasks": [task_body(name="Keyed")]}
    first = await client.post("/api/v1/tasks/import", json=body, headers=headers)
    again = await client.post("/api/v1/tasks/import", json=body, headers=headers)
    assert first.json()["created"] == 1
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await _names(client, account) == ["Keyed"]


async def test_items_that_are_not_tasks_are_invalid_not_a_server_error(client, make_account):
    """Found by the fuzzer: null, and objects of nothing but unknown keys, in an atomic
    import."""
    account = await make_account()
    body = {
        "atomic": True,
        "tasks": [None, {"\u00e6\u0084": "\u001dm"}, {"\u00c7": [None, 2.2e-311], "x": [True]}],
        "version": -212808,
        "exported_at": "\u0011",
    }
    response = await client.post("/api/v1/tasks/import", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["applied"] is False and report["invalid"] == 3
    assert await _names(client, account) == []
