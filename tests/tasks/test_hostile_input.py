"""Hostile task input: every case is a 4xx with a clear message on both doors, and nothing
is saved. The limits come from `torale.input_limits`; the fields' own rules from SPEC §5."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.helpers import task_body
from torale.input_limits import JSON_MAX_BYTES, JSON_MAX_DEPTH, MAX_STRING_CHARS

CREATE = "mutation($input: CreateTaskInput!) { create_task(input: $input) { id } }"
UPDATE = (
    "mutation($id: UUID!, $input: UpdateTaskInput!) { update_task(id: $id, input: $input) { id } }"
)


def nested(depth: int, leaf: Any = 1) -> str:
    """JSON text of `depth` nested arrays: built as text, since encoding it would recurse."""
    return "[" * depth + json.dumps(leaf) + "]" * depth


def raw_body(fields: dict[str, Any], **raw: str) -> bytes:
    """A JSON body with `raw` fields spliced in as JSON text (for values too deep to encode)."""
    text = json.dumps({**fields, **{name: f"@{name}@" for name in raw}})
    for name, value in raw.items():
        text = text.replace(json.dumps(f"@{name}@"), value)
    return text.encode()


def deep_object(depth: int) -> dict[str, Any]:
    value: Any = "leaf"
    for level in range(depth - 1):
        value = {f"k{level}": value}
    return {"top": value}


def count_tasks(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM tasks").fetchone()[0]


SURROGATE = "\ud800"
# (label, fields replacing the valid body's, raw JSON fields, expected loc, message part)
ATTACKS: list[tuple[str, dict[str, Any], dict[str, str], list[Any], str]] = [
    ("surrogate in search_query", {"search_query": f"abc {SURROGATE} defghijk"}, {},
     ["body", "search_query"], "unpaired surrogates"),
    ("surrogate in name", {"name": f"x{SURROGATE}"}, {}, ["body", "name"], "unpaired surrogates"),
    ("surrogate in condition", {"condition_description": f"{SURROGATE}" * 12}, {},
     ["body", "condition_description"], "unpaired surrogates"),
    ("surrogate as config key", {"config": {SURROGATE: 1}}, {},
     ["body", "config", "\\ud800"], "unpaired surrogates"),
    ("surrogate in config value", {"config": {"model": f"m{SURROGATE}"}}, {},
     ["body", "config", "model"], "unpaired surrogates"),
    ("low surrogate alone", {"search_query": "abcdefghijk \udfff"}, {},
     ["body", "search_query"], "unpaired surrogates"),
    ("300-character timezone", {"timezone": "A" * 300}, {}, ["body", "timezone"],
     "Unknown timezone"),
    ("path as timezone", {"timezone": "../../../etc/passwd"}, {}, ["body", "timezone"],
     "Unknown timezone"),
    ("zoneinfo file that is no zone", {"timezone": "zone.tab"}, {}, ["body", "timezone"],
     "Unknown timezone"),
    ("config 300 levels deep", {}, {"config": '{"x": ' + nested(299) + "}"}, ["body", "config"],
     f"at most {JSON_MAX_DEPTH} levels"),
    ("config one level too deep", {"config": deep_object(JSON_MAX_DEPTH + 1)}, {},
     ["body", "config"], f"at most {JSON_MAX_DEPTH} levels"),
    ("config over 16 KiB", {"config": {f"k{i}": "x" * 1000 for i in range(17)}}, {},
     ["body", "config"], f"at most {JSON_MAX_BYTES} bytes"),
    ("string over the request cap", {"config": {"model": "m" * (MAX_STRING_CHARS + 1)}}, {},
     ["body", "config", "model"], f"at most {MAX_STRING_CHARS} characters"),
    ("notifications too deep", {}, {"notifications": nested(40, {"type": "email"})},
     ["body", "notifications"], f"at most {JSON_MAX_DEPTH} levels"),
    ("name 201 characters", {"name": "n" * 201}, {}, ["body", "name"], "at most 200"),
    ("search_query 501 characters", {"search_query": "q" * 501}, {}, ["body", "search_query"],
     "between 10 and 500"),
    ("cron range backwards (days)", {"schedule": "0 0 1-0 * *"}, {}, ["body", "schedule"],
     "Invalid cron expression"),
    ("cron range backwards (names)", {"schedule": "0 9 * * fri-mon"}, {}, ["body", "schedule"],
     "Invalid cron expression"),
    ("cron range backwards (months)", {"schedule": "0 9 1 dec-jan *"}, {}, ["body", "schedule"],
     "Invalid cron expression"),
    ("cron 5,000 characters", {"schedule": "0 " * 2500}, {}, ["body", "schedule"],
     "Invalid cron expression"),
    ("webhook URL 3,000 characters",
     {"notifications": [{"type": "webhook", "url": "https://93.184.216.34/" + "a" * 3000}]}, {},
     ["body", "notifications", 0], "at most 2048"),
    ("header value with CR",
     {"notifications": [{"type": "webhook", "url": "https://93.184.216.34/h",
                         "headers": {"X-A": "a\rb"}}]}, {},
     ["body", "notifications", 0], "one-line values"),
    ("header name with trailing newline",
     {"notifications": [{"type": "webhook", "url": "https://93.184.216.34/h",
                         "headers": {"X-A\n": "b"}}]}, {},
     ["body", "notifications", 0], "header names"),
]  # fmt: skip


def attack_body(fields: dict[str, Any], raw: dict[str, str]) -> bytes:
    return raw_body(task_body(**fields), **raw)


@pytest.mark.parametrize(
    ("label", "fields", "raw", "loc", "message"), ATTACKS, ids=[a[0] for a in ATTACKS]
)
async def test_rest_create_refuses(
    client, make_account, database_url, label, fields, raw, loc, message
):
    account = await make_account()
    response = await client.post(
        "/api/v1/tasks",
        content=attack_body(fields, raw),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    (error,) = [e for e in response.json()["detail"] if e["loc"] == loc]
    assert message in error["msg"]
    assert count_tasks(database_url) == 0
    # The owner's reads still work (a stored bad value once broke them with 500s).
    assert (await client.get("/api/v1/tasks", headers=account.headers)).status_code == 200


@pytest.mark.parametrize(
    ("label", "fields", "raw", "loc", "message"), ATTACKS, ids=[a[0] for a in ATTACKS]
)
async def test_graphql_create_refuses(
    client, make_account, database_url, label, fields, raw, loc, message
):
    account = await make_account()
    body = b'{"query": ' + json.dumps(CREATE).encode() + b', "variables": {"input": '
    body += attack_body(fields, raw) + b"}}"
    response = await client.post(
        "/graphql", content=body, headers={**account.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert any(e["loc"] == loc and message in e["msg"] for e in error["extensions"]["detail"])
    assert count_tasks(database_url) == 0


@pytest.mark.parametrize("door", ["rest", "graphql"])
async def test_update_refuses_and_changes_nothing(client, make_account, database_url, door):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    refused = 0
    for _label, fields, raw, _loc, _message in ATTACKS:
        changes = attack_body(fields, raw) if raw else json.dumps(fields).encode()
        if door == "rest":
            response = await client.put(
                f"/api/v1/tasks/{task['id']}",
                content=changes,
                headers={**account.headers, "Content-Type": "application/json"},
            )
            refused += response.status_code == 422
        else:
            body = b'{"query": ' + json.dumps(UPDATE).encode()
            body += b', "variables": {"id": "' + task["id"].encode() + b'", "input": ' + changes
            response = await client.post(
                "/graphql",
                content=body + b"}}",
                headers={**account.headers, "Content-Type": "application/json"},
            )
            errors = response.json().get("errors") or [{}]
            refused += errors[0].get("extensions", {}).get("code") == "VALIDATION"
    assert refused == len(ATTACKS)
    after = (await client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers)).json()
    assert {k: after[k] for k in task if k not in ("next_run_at",)} == {
        k: task[k] for k in task if k not in ("next_run_at",)
    }


async def test_config_5000_deep_is_a_clear_400_on_rest(client, make_account, database_url):
    account = await make_account()
    response = await client.post(
        "/api/v1/tasks",
        content=raw_body(task_body(), config='{"x": ' + nested(5000) + "}"),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert count_tasks(database_url) == 0


async def test_graphql_literal_config_too_deep_is_refused(client, make_account, database_url):
    account = await make_account()
    deep_literal = "{a: " * 9 + "1" + "}" * 9
    query = (
        'mutation { create_task(input: {search_query: "When is the next iPhone out?", '
        'condition_description: "Apple announced a date", schedule: "0 9 * * *", '
        f"config: {deep_literal}}}) {{ id }} }}"
    )
    response = await client.post("/graphql", json={"query": query}, headers=account.headers)
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert count_tasks(database_url) == 0


@pytest.mark.parametrize("door", ["rest", "graphql"])
async def test_invalid_cron_is_422_not_a_scheduler_failure(client, make_account, door):
    """Temporal refuses backwards ranges; croniter reads them as wrapping. We refuse first."""
    account = await make_account()
    body = task_body(schedule="0 0 1-0 * *")
    if door == "rest":
        response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"loc": ["body", "schedule"], "msg": "Invalid cron expression", "type": "value_error"}
        ]
    else:
        response = await client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": body}},
            headers=account.headers,
        )
        assert response.json()["errors"][0]["extensions"]["detail"][0]["msg"] == (
            "Invalid cron expression"
        )


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        (
            "/api/v1/tasks/preview",
            {
                "search_query": "When is the next iPhone out?",
                "condition_description": "Apple announced a date",
                "config": deep_object(JSON_MAX_DEPTH + 1),
            },
            ["body", "config"],
        ),
        (
            "/api/v1/tasks/suggest",
            {"prompt": "Tell me when the iPhone ships", "current_task": deep_object(40)},
            ["body", "current_task"],
        ),
    ],
)
async def test_other_json_fields_have_the_same_limits(client, make_account, path, body, loc):
    account = await make_account()
    response = await client.post(path, json=body, headers=account.headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
