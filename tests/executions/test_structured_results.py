"""Structured results (issue 15, item 2): a task's output_schema is checked at save,
asked of the LLM as structured output, validated with one repair, compared value by
value, and carried by the condition_met webhook."""

from __future__ import annotations

import uuid

import orjson
import pytest
from sqlalchemy import select

from tests.executions.execution_helpers import CHAT, evaluation, eventually, script_search
from tests.monitoring.monitoring_peer import gemini_reply, requested_schema
from torale.monitoring.changes import INITIAL_SUMMARY
from torale.webhooks.models import Delivery

PRICE_SCHEMA = {
    "type": "object",
    "properties": {
        "price": {"type": "number"},
        "in_stock": {"type": "boolean"},
    },
    "required": ["price", "in_stock"],
    "additionalProperties": False,
}

GRAPHQL_CREATE = """mutation($input: CreateTaskInput!) {
  create_task(input: $input) { id output_schema }
}"""
GRAPHQL_UPDATE = """mutation($id: UUID!, $input: UpdateTaskInput!) {
  update_task(id: $id, input: $input) { id output_schema last_known_state }
}"""
TASK = {
    "search_query": "What does the Pixel 10 cost at the Google Store?",
    "condition_description": "The Pixel 10 is in stock",
    "schedule": "0 9 * * *",
}


def _deep(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "nope"}, "Not a valid JSON Schema: 'nope' is not valid under any of the given"),
        ({"type": "object", "required": "price"}, "Not a valid JSON Schema: 'price' is not of"),
        ({"type": "array"}, 'Must describe an object: the root needs "type": "object"'),
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}},
            "$ref and $defs are not supported: write the schema inline",
        ),
        (_deep(5), "Must be nested at most 8 levels deep"),
        (
            {
                "type": "object",
                "properties": {f"p{i}": {"description": "x" * 900} for i in range(20)},
            },
            "Must be at most 16384 bytes as JSON",
        ),
        (
            {"$schema": "https://example.com/my-dialect", "type": "object"},
            "Unknown JSON Schema dialect in $schema: https://example.com/my-dialect",
        ),
    ],
)
async def test_invalid_output_schemas_are_422_on_both_doors(client, make_account, schema, message):
    account = await make_account()
    rest = await client.post(
        "/api/v1/tasks", json={**TASK, "output_schema": schema}, headers=account.headers
    )
    assert rest.status_code == 422, rest.text
    (error,) = rest.json()["detail"]
    assert error["loc"] == ["body", "output_schema"]
    assert error["msg"].startswith(message)

    graphql = await client.post(
        "/graphql",
        json={"query": GRAPHQL_CREATE, "variables": {"input": {**TASK, "output_schema": schema}}},
        headers=account.headers,
    )
    (gql_error,) = graphql.json()["errors"]
    assert gql_error["extensions"]["code"] == "VALIDATION"
    assert gql_error["extensions"]["detail"][0]["msg"].startswith(message)
    listed = await client.get("/api/v1/tasks", headers=account.headers)
    assert listed.json()["total"] == 0  # nothing was created


async def test_output_schema_is_saved_updated_and_cleared(client, make_account):
    account = await make_account()
    made = await client.post(
        "/graphql",
        json={
            "query": GRAPHQL_CREATE,
            "variables": {"input": {**TASK, "output_schema": PRICE_SCHEMA}},
        },
        headers=account.headers,
    )
    task = made.json()["data"]["create_task"]
    assert task["output_schema"] == PRICE_SCHEMA
    draft07 = {"$schema": "http://json-schema.org/draft-07/schema#", **PRICE_SCHEMA}
    updated = await client.post(
        "/graphql",
        json={
            "query": GRAPHQL_UPDATE,
            "variables": {"id": task["id"], "input": {"output_schema": draft07}},
        },
        headers=account.headers,
    )
    assert updated.json()["data"]["update_task"]["output_schema"] == draft07
    cleared = await client.put(
        f"/api/v1/tasks/{task['id']}", json={"output_schema": None}, headers=account.headers
    )
    assert cleared.status_code == 200 and cleared.json()["output_schema"] is None


async def _condition_met_body(stack, execution_id: str) -> dict:
    async def rows() -> list[Delivery]:
        async with stack.resources.session_factory() as session:
            found = await session.execute(
                select(Delivery).where(Delivery.execution_id == uuid.UUID(execution_id))
            )
            return list(found.scalars())

    (delivery,) = await eventually(rows, lambda found: len(found) == 1, within=10)
    return orjson.loads(delivery.body)


async def test_openai_is_asked_for_the_shape_repaired_once_and_compared_by_value(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    llm.script(
        "POST",
        CHAT,
        # The first reply misses the shape; the repair fixes it.
        evaluation(True, answer="In stock at $499", state={"price": "$499"}),
        evaluation(True, answer="In stock at $499", state={"price": 499, "in_stock": True}),
        evaluation(True, answer="In stock at $449", state={"price": 449, "in_stock": True}),
        evaluation(True, answer="Still $449", state={"price": 449.0, "in_stock": True}),
    )
    account = await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(
            account.headers,
            notify_behavior="track_state",
            output_schema=PRICE_SCHEMA,
            notifications=[{"type": "webhook", "url": "https://hooks.example.com/torale"}],
        )
        first = await stack.run(account.headers, task["id"])
        assert first["status"] == "success", first["error_message"]
        assert first["current_state"] == {"price": 499, "in_stock": True}
        assert first["change_summary"] == INITIAL_SUMMARY

        asked, repair = llm.requests_to(CHAT)[:2]
        schema = requested_schema(asked)
        assert schema is not None
        assert schema["properties"]["current_state"]["properties"] == PRICE_SCHEMA["properties"]
        assert schema["properties"]["current_state"]["required"] == ["price", "in_stock"]
        assert asked.json()["response_format"]["json_schema"]["name"] == "evaluation"
        repair_prompt = repair.json()["messages"][1]["content"]
        assert "does not match the required JSON schema" in repair_prompt
        assert "current_state/price: '$499' is not of type 'number'" in repair_prompt
        assert requested_schema(repair) == schema

        body = await _condition_met_body(stack, first["id"])
        assert body["type"] == "condition_met"
        assert body["data"]["current_state"] == {"price": 499, "in_stock": True}

        second = await stack.run(account.headers, task["id"])
        # Compared value by value: no LLM call to compare (3 requests in all so far).
        assert second["change_summary"] == "price changed from 499 to 449"
        assert len(llm.requests_to(CHAT)) == 3
        assert (await stack.row(second["id"])).notification_due is True

        third = await stack.run(account.headers, task["id"])
        assert third["change_summary"] == "No significant changes detected"
        assert (await stack.row(third["id"])).notification_due is False
        after = await stack.task(account.headers, task["id"])
        assert after["last_known_state"] == {"price": 449.0, "in_stock": True}


async def test_a_reply_still_wrong_after_the_repair_is_a_readable_failure(started_task, llm):
    async with started_task(
        evaluation(True, state={"price": "cheap"}), output_schema=PRICE_SCHEMA
    ) as (stack, account, task):
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "failed"
        assert done["error_type"] == "invalid_llm_response"
        assert done["error_message"].startswith(
            "LLM openai did not return a result matching the task's output_schema, even "
            "after one repair attempt: current_state"
        )
        assert "'in_stock' is a required property" in done["error_message"]
        # One ask, one repair, no Temporal retries of a reply that will not improve.
        assert len(llm.requests_to(CHAT)) == 2


async def test_gemini_is_sent_response_mime_type_and_response_schema(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    path = "/v1beta/models/gemini-test:generateContent"
    reply = {
        "condition_met": False,
        "answer": "Out of stock",
        "reasoning": "The store says sold out.",
        "current_state": {"price": 499, "in_stock": False},
    }
    llm.script("POST", path, gemini_reply(orjson.dumps(reply).decode()))
    account = await make_account()
    async with make_stack(
        llm_provider="gemini",
        gemini_api_key="g-key",
        gemini_model="gemini-test",
        gemini_base_url=llm.url,
    ) as stack:
        task = await stack.create_task(account.headers, output_schema=PRICE_SCHEMA)
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "success", done["error_message"]
        assert done["current_state"] == {"price": 499, "in_stock": False}
    (request,) = llm.requests_to(path)
    config = request.json()["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    state = requested_schema(request)["properties"]["current_state"]
    # Gemini's OpenAPI subset: no additionalProperties, properties in order.
    assert state["properties"] == PRICE_SCHEMA["properties"]
    assert state["propertyOrdering"] == ["price", "in_stock"]
    assert "additionalProperties" not in state


async def test_preview_tries_an_output_schema_on_both_doors(make_stack, make_account, llm, searx):
    script_search(searx)
    llm.script("POST", CHAT, evaluation(True, state={"price": 449, "in_stock": True}))
    account = await make_account()
    async with make_stack() as stack:
        rest = await stack.http.post(
            "/api/v1/tasks/preview",
            json={
                "search_query": TASK["search_query"],
                "condition_description": TASK["condition_description"],
                "output_schema": PRICE_SCHEMA,
            },
            headers=account.headers,
        )
        assert rest.status_code == 200, rest.text
        assert rest.json()["current_state"] == {"price": 449, "in_stock": True}
        asked = requested_schema(llm.requests_to(CHAT)[0])
        assert asked["properties"]["current_state"]["required"] == ["price", "in_stock"]

        query = """query($input: PreviewInput!) {
          preview_task(input: $input) { condition_met current_state }
        }"""
        bad = {
            "search_query": TASK["search_query"],
            "condition_description": TASK["condition_description"],
            "output_schema": {"type": "array"},
        }
        refused = await stack.http.post(
            "/graphql", json={"query": query, "variables": {"input": bad}}, headers=account.headers
        )
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION"
        assert error["extensions"]["detail"][0]["loc"] == ["body", "output_schema"]
        assert len(llm.requests_to(CHAT)) == 1  # refused before any provider call
