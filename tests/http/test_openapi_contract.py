"""The OpenAPI document states every refusal and every input constraint (issue 13), and
405 answers name every method of the path."""

from __future__ import annotations

import uuid

import pytest

from torale.input_limits import NAME_MAX, TEXT_MAX, TEXT_MIN
from torale.tasks.models import NotifyBehavior, TaskState


@pytest.fixture
async def document(client) -> dict:
    return (await client.get("/openapi.json")).json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, route in item.items():
            if "x-graphql-operation" in route:
                yield method, path, route


def body_schema(document: dict, path: str, method: str) -> dict:
    ref = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    if "anyOf" in ref:  # an optional body
        ref = next(option for option in ref["anyOf"] if "$ref" in option)
    return document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


async def test_every_operation_documents_its_refusals_with_their_bodies(document):
    seen = 0
    for method, path, route in operations(document):
        responses = route["responses"]
        expected = {"401", "429", "503"}
        if route.get("parameters") or route.get("requestBody"):
            expected.add("422")
        if route.get("requestBody"):
            expected |= {"400", "413"}
        if "{task_id}" in path:
            expected.add("404")
            if not path.startswith("/public/"):  # a public feed refuses nobody with 403
                expected.add("403")
        if path.startswith("/admin"):
            expected.add("403")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if status[0] in "23":  # answers, and the feed's 304
                continue
            schema = response["content"]["application/json"]["schema"]["$ref"]
            wanted = {"422": "ValidationErrorBody", "429": "RateLimitError"}.get(status, "Error")
            assert schema.endswith(f"/{wanted}"), (method, path, status)
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        seen += 1
    assert seen == 36  # all but the probes
    assert "409" in document["paths"]["/api/v1/tasks/{task_id}"]["put"]["responses"]
    assert "409" in document["paths"]["/api/v1/tasks/{task_id}/execute"]["post"]["responses"]


async def test_task_inputs_document_their_constraints(document):
    create = body_schema(document, "/api/v1/tasks", "post")
    assert create["additionalProperties"] is False
    assert set(create["required"]) == {"search_query", "condition_description", "schedule"}
    fields = create["properties"]
    for name in ("search_query", "condition_description"):
        assert fields[name]["minLength"] == TEXT_MIN and fields[name]["maxLength"] == TEXT_MAX
        assert fields[name]["pattern"]
    name = next(o for o in fields["name"]["anyOf"] if o["type"] == "string")
    assert name["maxLength"] == NAME_MAX and name["pattern"] == r"\S"
    assert fields["notify_behavior"]["enum"] == [b.value for b in NotifyBehavior]
    assert "Europe/Paris" in fields["timezone"]["enum"] and fields["timezone"]["default"] == "UTC"
    assert fields["schedule"]["format"] == "cron" and fields["schedule"]["pattern"]
    config = fields["config"]["properties"]
    assert (config["max_results"]["minimum"], config["max_results"]["maximum"]) == (1, 20)
    assert config["llm_provider"]["enum"] == ["openai", "gemini"]
    channel_kinds = [
        c["properties"]["type"]["const"] for c in fields["notifications"]["items"]["oneOf"]
    ]
    assert channel_kinds == ["webhook", "email"]

    update = body_schema(document, "/api/v1/tasks/{task_id}", "put")
    assert update["additionalProperties"] is False and "required" not in update
    assert update["properties"]["state"]["enum"] == [s.value for s in TaskState]
    # A partial update's fields are not nullable, except `name` (null regenerates it).
    assert "anyOf" not in update["properties"]["schedule"]
    assert "default" not in update["properties"]["schedule"]

    key = body_schema(document, "/auth/api-keys", "post")["properties"]["name"]
    assert (key["maxLength"], key["pattern"]) == (100, r"\S")
    for path in ("/api/v1/tasks/preview", "/api/v1/tasks/suggest", "/api/v1/webhooks/test"):
        assert body_schema(document, path, "post")["additionalProperties"] is False


async def test_text_pattern_says_what_the_domain_checks():
    import re

    from torale.errors import ValidationFailed
    from torale.tasks.inputs import TEXT_PATTERN
    from torale.tasks.validation import check_text

    samples = [
        "a" * 10, " " * 5 + "a" * 10 + "\n", "a" * 9, "   " + "a" * 8 + "   ", "a" * 500,
        "a" * 501, " " * 491 + "a" * 9, "a        b", "\ta\u00a0b\u2003c d e f g", "\n" * 12,
    ]  # fmt: skip
    for text in samples:
        try:
            check_text("search_query", text)
            accepted = True
        except ValidationFailed:
            accepted = False
        documented = bool(re.search(TEXT_PATTERN, text)) and TEXT_MIN <= len(text) <= TEXT_MAX
        assert accepted == documented, repr(text)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/tasks/preview", "POST"),
        ("GET", "/api/v1/tasks/suggest", "POST"),
        ("PATCH", f"/api/v1/tasks/{uuid.uuid4()}", "DELETE, GET, PUT"),
        ("PATCH", "/api/v1/tasks/not-a-uuid", "DELETE, GET, PUT"),
        ("DELETE", "/api/v1/tasks", "GET, POST"),
        ("PUT", "/auth/me", "GET"),
        ("POST", f"/api/v1/tasks/{uuid.uuid4()}/visibility", "PATCH"),
    ],
)
async def test_a_wrong_method_is_405_naming_every_method_of_the_path(
    client, make_account, method, path, allow
):
    account = await make_account()
    response = await client.request(method, path, json={}, headers=account.headers)
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == allow
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_the_literal_path_still_answers_its_own_method(client, make_account):
    account = await make_account()
    response = await client.post(
        "/api/v1/tasks/preview", json={"search_query": "x"}, headers=account.headers
    )
    assert response.status_code == 422  # reached the route: its body was checked
