"""Logs at production cost: a client's mistake is one line without a traceback, our bug
is one traceback, and the access log is off unless sampled in."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from torale.log_setup import JsonFormatter

MISSING_TASK = '{ task(id: "%s") { id } }'


def traced(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.exc_info or r.exc_text]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    return caplog


async def test_graphql_client_errors_are_one_line_each(client, make_account, logs):
    account = await make_account()
    logs.clear()
    missing = await client.post(
        "/graphql", json={"query": MISSING_TASK % uuid.uuid4()}, headers=account.headers
    )
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    syntax = await client.post("/graphql", json={"query": "{ me { "}, headers=account.headers)
    assert "Syntax Error" in syntax.json()["errors"][0]["message"]

    assert traced(logs.records) == []
    lines = [r for r in logs.records if r.name == "torale.graphql.client_errors"]
    assert [(r.levelno, r.code) for r in lines] == [
        (logging.INFO, "NOT_FOUND"),
        (logging.INFO, "GRAPHQL_PARSE_FAILED"),
    ]
    assert "Task not found" in lines[0].getMessage()
    assert all("\n" not in r.getMessage() for r in logs.records)


async def test_rest_client_errors_are_one_line_each(client, make_account, logs):
    account = await make_account()
    logs.clear()
    missing = await client.get(f"/api/v1/tasks/{uuid.uuid4()}", headers=account.headers)
    assert missing.status_code == 404
    invalid = await client.post("/api/v1/tasks", json={"name": ""}, headers=account.headers)
    assert invalid.status_code == 422

    assert traced(logs.records) == []
    lines = [r for r in logs.records if r.name == "torale.http.client_errors"]
    assert [(r.status, r.code) for r in lines] == [(404, "NOT_FOUND"), (422, "VALIDATION_ERROR")]


@pytest.fixture
async def broken_api_keys(make_account, logs, monkeypatch):
    """Listing API keys fails with a bug; an account to ask with (the logs cleared)."""
    from torale.users import service

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "list_api_keys", broken)
    account = await make_account()
    logs.clear()
    return account


async def test_an_unexpected_graphql_error_logs_one_traceback(client, broken_api_keys, logs):
    account = broken_api_keys
    body = (
        await client.post(
            "/graphql", json={"query": "{ api_keys { total } }"}, headers=account.headers
        )
    ).json()
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL"}
    (record,) = traced(logs.records)
    assert record.levelno == logging.ERROR and "a bug" in str(record.exc_info[1])


async def test_an_unexpected_rest_error_logs_one_traceback_and_answers_500(
    client, broken_api_keys, logs
):
    account = broken_api_keys
    response = await client.get("/auth/api-keys", headers=account.headers)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    (record,) = traced(logs.records)
    assert "GET /auth/api-keys" in record.getMessage()
    assert "a bug" in str(record.exc_info[1])


async def test_no_access_log_unless_sampled(app, settings, make_account, logs):
    from tests.helpers import app_client, asgi_client

    account = await make_account()
    logs.clear()
    async with asgi_client(app) as quiet:
        assert (await quiet.get("/api/v1/tasks", headers=account.headers)).status_code == 200
    assert [r for r in logs.records if r.name == "torale.access"] == []

    async with app_client(settings, access_log_sample=1.0) as (_, http):
        assert (await http.get("/api/v1/tasks", headers=account.headers)).status_code == 200
    (record,) = [r for r in logs.records if r.name == "torale.access"]
    assert (record.method, record.path, record.status) == ("GET", "/api/v1/tasks", 200)
    assert record.duration_ms > 0
    entry = json.loads(JsonFormatter().format(record))
    assert entry["logger"] == "torale.access" and entry["status"] == 200
    assert "traceback" not in entry


def test_json_lines_carry_extras_and_one_traceback():
    formatter = JsonFormatter()
    plain = logging.LogRecord("torale.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    plain.execution_id = "e-1"
    entry = json.loads(formatter.format(plain))
    assert entry["message"] == "hello you" and entry["level"] == "WARNING"
    assert entry["execution_id"] == "e-1" and "traceback" not in entry
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord(
            "torale.x", logging.ERROR, __file__, 1, "oops", (), sys.exc_info()
        )
    line = formatter.format(failed)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["traceback"]
