"""POST /api/v1/tasks/preview and /suggest: synchronous provider calls, nothing saved."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.executions.execution_helpers import CHAT, evaluation, script_search
from tests.monitoring.monitoring_peer import Reply, chat_json
from torale.executions.models import Execution
from torale.tasks.models import Task

PREVIEW = {
    "search_query": "When is the next iPhone being released?",
    "condition_description": "Apple has announced a specific release date",
}


async def _counts(stack) -> tuple[int, int]:
    async with stack.resources.session_factory() as session:
        executions = (await session.execute(select(func.count()).select_from(Execution))).scalar()
        tasks = (await session.execute(select(func.count()).select_from(Task))).scalar()
    return executions, tasks


async def test_preview_evaluates_and_saves_nothing(make_stack, make_account, llm, searx):
    script_search(searx)
    llm.script("POST", CHAT, evaluation(True, answer="September 19", reasoning="Newsroom says so"))
    account = await make_account()
    async with make_stack() as stack:
        response = await stack.http.post(
            "/api/v1/tasks/preview", json=PREVIEW, headers=account.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["condition_met"] is True and body["answer"] == "September 19"
        assert body["reasoning"] == "Newsroom says so"
        assert body["grounding_sources"][0]["uri"] == "https://www.apple.com/newsroom/iphone"
        assert set(body) == {
            "condition_met",
            "answer",
            "reasoning",
            "grounding_sources",
            "current_state",
        }
        assert await _counts(stack) == (0, 0)


async def test_preview_provider_outage_is_503_with_the_providers_message(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    llm.script("POST", CHAT, Reply(500, {"error": {"message": "overloaded"}}))
    account = await make_account()
    async with make_stack() as stack:
        response = await stack.http.post(
            "/api/v1/tasks/preview", json=PREVIEW, headers=account.headers
        )
        assert response.status_code == 503
        assert "HTTP 500" in response.json()["detail"]
        assert await _counts(stack) == (0, 0)


async def test_preview_not_configured_is_503_naming_the_variables(make_stack, make_account):
    account = await make_account()
    async with make_stack(providers=False) as stack:
        response = await stack.http.post(
            "/api/v1/tasks/preview", json=PREVIEW, headers=account.headers
        )
        assert response.status_code == 503
        assert "TORALE_LLM_BASE_URL" in response.json()["detail"]


async def test_preview_validates_input_and_needs_auth(make_stack, make_account, llm):
    account = await make_account()
    async with make_stack() as stack:
        short = await stack.http.post(
            "/api/v1/tasks/preview",
            json={**PREVIEW, "search_query": "short"},
            headers=account.headers,
        )
        assert short.status_code == 422
        assert short.json()["detail"][0]["loc"] == ["body", "search_query"]
        bad_config = await stack.http.post(
            "/api/v1/tasks/preview",
            json={**PREVIEW, "config": {"search_provider": "bing"}},
            headers=account.headers,
        )
        assert bad_config.status_code == 422
        assert bad_config.json()["detail"][0]["loc"] == ["body", "config"]
        assert "search_provider" in bad_config.json()["detail"][0]["msg"]
        assert (await stack.http.post("/api/v1/tasks/preview", json=PREVIEW)).status_code == 401
        assert llm.requests == []


SUGGESTION = {
    "name": "iPhone 18 release date",
    "search_query": "iPhone 18 release date announcement",
    "condition_description": "Apple has announced the iPhone 18 release date",
    "schedule": "0 9 * * *",
    "notify_behavior": "once",
}


async def test_suggest_returns_a_valid_task_draft(make_stack, make_account, llm):
    llm.script("POST", CHAT, chat_json(SUGGESTION))
    account = await make_account()
    async with make_stack() as stack:
        response = await stack.http.post(
            "/api/v1/tasks/suggest",
            json={"prompt": "Tell me when the iPhone 18 release date is announced"},
            headers=account.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json() == SUGGESTION
        # The draft is accepted as a task as is.
        created = await stack.create_task(account.headers, **response.json())
        assert created["schedule"] == "0 9 * * *"


async def test_suggest_repairs_an_invalid_cron(make_stack, make_account, llm):
    llm.script(
        "POST",
        CHAT,
        chat_json({**SUGGESTION, "schedule": "every morning at 9"}),
        chat_json({"schedule": "0 9 * * 1-5"}),
    )
    account = await make_account()
    async with make_stack() as stack:
        response = await stack.http.post(
            "/api/v1/tasks/suggest", json={"prompt": "iPhone 18 news"}, headers=account.headers
        )
        assert response.status_code == 200
        assert response.json()["schedule"] == "0 9 * * 1-5"
        assert "every morning at 9" in llm.requests[1].json()["messages"][1]["content"]


async def test_suggest_falls_back_when_the_repair_is_invalid_too(make_stack, make_account, llm):
    llm.script(
        "POST",
        CHAT,
        chat_json({**SUGGESTION, "schedule": "* * * * * *", "notify_behavior": "sometimes"}),
        chat_json({"schedule": "*/10 * * * * *"}),
    )
    account = await make_account()
    async with make_stack(min_schedule_interval_seconds=3600) as stack:
        response = await stack.http.post(
            "/api/v1/tasks/suggest",
            json={
                "prompt": "check more often",
                "current_task": {**SUGGESTION, "schedule": "*/5 * * * *"},
            },
            headers=account.headers,
        )
        assert response.status_code == 200
        draft = response.json()
        # Neither the proposal, the repair, nor the current (too frequent) schedule
        # passes: the safe default does. The invalid enum keeps the current value.
        assert draft["schedule"] == "0 9 * * *"
        assert draft["notify_behavior"] == "once"


async def test_suggest_with_current_task_keeps_what_the_prompt_does_not_change(
    make_stack, make_account, llm
):
    llm.script("POST", CHAT, chat_json({**SUGGESTION, "name": "", "schedule": "0 8 * * *"}))
    account = await make_account()
    async with make_stack() as stack:
        current = {**SUGGESTION, "name": "My watch"}
        response = await stack.http.post(
            "/api/v1/tasks/suggest",
            json={"prompt": "check at 8 instead", "current_task": current},
            headers=account.headers,
        )
        draft = response.json()
        assert draft["schedule"] == "0 8 * * *" and draft["name"] == "My watch"
        assert "My watch" in llm.requests[0].json()["messages"][1]["content"]


async def test_suggest_bad_input_and_outage(make_stack, make_account, llm):
    llm.script("POST", CHAT, Reply(502, "bad gateway"))
    account = await make_account()
    async with make_stack() as stack:
        empty = await stack.http.post(
            "/api/v1/tasks/suggest", json={"prompt": "  "}, headers=account.headers
        )
        assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "prompt"]
        down = await stack.http.post(
            "/api/v1/tasks/suggest", json={"prompt": "iPhone news"}, headers=account.headers
        )
        assert down.status_code == 503 and "502" in down.json()["detail"]


async def test_suggest_bad_input_is_422_even_with_no_provider(client, make_account):
    """The session's app has no LLM configured: a bad prompt is still the caller's 422."""
    account = await make_account()
    response = await client.post(
        "/api/v1/tasks/suggest", json={"prompt": "", "current_task": {}}, headers=account.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]
    configured = await client.post(
        "/api/v1/tasks/suggest", json={"prompt": "iPhone news"}, headers=account.headers
    )
    assert configured.status_code == 503
    assert "TORALE_LLM_BASE_URL" in configured.json()["detail"]
