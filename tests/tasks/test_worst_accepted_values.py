"""The worst value each task field accepts is stored, then read back on both doors.

A value that passes validation but breaks a later read (a 300-deep config once made
every list of its owner a 500) is the failure this guards against: each field is
filled to its limit (longest strings with multi-byte and astral characters, deepest
and largest JSON), and lists and items are read through REST and GraphQL.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import available_timezones

from tests.helpers import task_body
from torale.input_limits import (
    HEADER_NAME_MAX,
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    MAX_STRING_CHARS,
    NAME_MAX,
    SCHEDULE_MAX,
    TEXT_MAX,
    URL_MAX,
    json_depth,
)

FIELDS = """
  id name search_query condition_description schedule timezone notify_behavior
  executor_type config notifications state is_public next_run_at created_at
"""
LIST = f"{{ tasks(limit: 100) {{ total items {{ {FIELDS} }} }} }}"
ITEM = f"query($id: UUID!) {{ task(id: $id) {{ {FIELDS} }} }}"
CREATE = f"mutation($input: CreateTaskInput!) {{ create_task(input: $input) {{ {FIELDS} }} }}"


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def fill_to_limit(value: dict[str, Any], pad_key: str) -> dict[str, Any]:
    """`value` plus padding strings (each within MAX_STRING_CHARS) to exactly JSON_MAX_BYTES."""
    padded = {**value, f"{pad_key}1": "p" * (MAX_STRING_CHARS // 2)}
    padded[f"{pad_key}2"] = ""
    padded[f"{pad_key}2"] = "p" * (JSON_MAX_BYTES - _size(padded))
    assert len(padded[f"{pad_key}2"]) <= MAX_STRING_CHARS
    assert _size(padded) == JSON_MAX_BYTES
    return padded


def deepest_config() -> dict[str, Any]:
    chain: Any = "é😀"
    for level in range(JSON_MAX_DEPTH - 1):
        chain = {f"level{level}": chain}
    config = {"model": "test-model", "deep": chain, "list": [1.5, None, True, "ü" * 3000]}
    config = fill_to_limit(config, "pad")
    assert json_depth(config) == JSON_MAX_DEPTH
    return config


def largest_notifications() -> list[dict[str, Any]]:
    url = "https://93.184.216.34/" + "a" * (URL_MAX - len("https://93.184.216.34/"))
    webhook = {"type": "webhook", "url": url, "headers": {"X" * HEADER_NAME_MAX: ""}}
    channels = [webhook, {"type": "email", "address": "ops@example.com"}]
    room = JSON_MAX_BYTES - _size(channels)
    webhook["headers"]["X" * HEADER_NAME_MAX] = "v" * min(room, 4096)
    if room > 4096:
        webhook["headers"]["X-Pad"] = ""
        webhook["headers"]["X-Pad"] = "v" * min(JSON_MAX_BYTES - _size(channels), 4096)
    assert _size(channels) <= JSON_MAX_BYTES
    return channels


def longest_cron() -> str:
    cron = "0,5,10,15,20,25,30,35,40,45,50,55 0,2,4,6,8,10,12,14,16,18,20,22 1-31 1-12 0-6"
    assert len(cron) <= SCHEDULE_MAX
    return cron


def worst_body(suffix: str) -> dict[str, Any]:
    text = ("😀é" * TEXT_MAX)[: TEXT_MAX - len(suffix)] + suffix
    return task_body(
        name=("名" * NAME_MAX)[: NAME_MAX - len(suffix)] + suffix,
        search_query=text,
        condition_description=text,
        schedule=longest_cron(),
        timezone=max(available_timezones(), key=len),
        config=deepest_config(),
        notifications=largest_notifications(),
        is_public=True,
    )


async def test_worst_values_are_stored_and_read_on_both_doors(client, make_account):
    account = await make_account()
    rest_body = worst_body("R")
    created = await client.post("/api/v1/tasks", json=rest_body, headers=account.headers)
    assert created.status_code == 201, created.text
    graphql_body = worst_body("G")
    answer = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": graphql_body}},
        headers=account.headers,
    )
    assert "errors" not in answer.json(), answer.text
    sent = {
        created.json()["id"]: rest_body,
        answer.json()["data"]["create_task"]["id"]: graphql_body,
    }

    listed = await client.get("/api/v1/tasks?limit=100", headers=account.headers)
    assert listed.status_code == 200
    graphql_list = await client.post("/graphql", json={"query": LIST}, headers=account.headers)
    assert "errors" not in graphql_list.json(), graphql_list.text
    lists = [listed.json()["items"], graphql_list.json()["data"]["tasks"]["items"]]
    for items in lists:
        assert {item["id"] for item in items} == set(sent)

    for task_id, body in sent.items():
        item = await client.get(f"/api/v1/tasks/{task_id}", headers=account.headers)
        assert item.status_code == 200
        graphql_item = await client.post(
            "/graphql", json={"query": ITEM, "variables": {"id": task_id}}, headers=account.headers
        )
        assert "errors" not in graphql_item.json(), graphql_item.text
        reads = [item.json(), graphql_item.json()["data"]["task"]]
        reads += [next(i for i in items if i["id"] == task_id) for items in lists]
        for read in reads:
            for field in ("name", "search_query", "condition_description", "timezone"):
                assert read[field] == body[field]
            assert read["config"] == body["config"]
            assert read["notifications"] == body["notifications"]
            assert read["next_run_at"].endswith("Z")
