from __future__ import annotations

import pytest
from monitoring_peer import ScriptedServer, chat_json

from torale.errors import ValidationFailed
from torale.monitoring.providers.llm.openai_compat import OpenAICompatibleLLM
from torale.monitoring.suggest import DEFAULT_SCHEDULE, cron_problem, suggest_task

CHAT = "/v1/chat/completions"
GOOD = {
    "name": "iPhone 17 release",
    "search_query": "Apple iPhone 17 release date announcement",
    "condition_description": "Apple has officially announced the iPhone 17 release date",
    "schedule": "0 9 * * *",
    "notify_behavior": "once",
}
CURRENT = {
    "name": "Widget price",
    "search_query": "Widget Pro price at shop.example",
    "condition_description": "The Widget Pro costs less than $450",
    "schedule": "0 */6 * * *",
    "notify_behavior": "track_state",
    "timezone": "Europe/Berlin",
}


def llm(peer: ScriptedServer) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(base_url=f"{peer.url}/v1", model="m", timeout=5)


def test_cron_problem() -> None:
    assert cron_problem("0 9 * * 1-5") is None
    assert "5-field" in cron_problem("0 0 9 * * *")
    assert "5-field" in cron_problem("@daily")
    assert "not a valid" in cron_problem("61 * * * *")
    assert "more often" in cron_problem("* * * * *", min_interval_seconds=300)
    assert cron_problem(None) is not None


async def test_valid_suggestion_is_returned_as_is(peer: ScriptedServer) -> None:
    peer.script("POST", CHAT, chat_json(GOOD))
    assert await suggest_task(llm(peer), "tell me when the iPhone 17 is announced") == GOOD
    body = peer.requests_to(CHAT)[0].json()
    assert body["response_format"]["json_schema"]["strict"] is True


async def test_invalid_cron_is_repaired_by_asking_again(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        CHAT,
        chat_json({**GOOD, "schedule": "every morning"}),
        chat_json({"schedule": "30 8 * * *"}),
    )
    suggestion = await suggest_task(llm(peer), "iPhone 17 announcement, check mornings")
    assert suggestion["schedule"] == "30 8 * * *"
    repair = peer.requests_to(CHAT)[1].json()["messages"][1]["content"]
    assert "'every morning' was rejected" in repair and "5-field" in repair


async def test_cron_still_invalid_falls_back_to_default(peer: ScriptedServer) -> None:
    peer.script(
        "POST",
        CHAT,
        chat_json({**GOOD, "schedule": "0 0 9 * * *"}),
        chat_json({"schedule": "99 99 * * *"}),
    )
    suggestion = await suggest_task(llm(peer), "iPhone 17 announcement")
    assert suggestion["schedule"] == DEFAULT_SCHEDULE
    assert len(peer.requests_to(CHAT)) == 2


async def test_too_frequent_cron_is_not_accepted(peer: ScriptedServer) -> None:
    peer.script(
        "POST", CHAT, chat_json({**GOOD, "schedule": "* * * * *"}), chat_json({"schedule": "x"})
    )
    suggestion = await suggest_task(llm(peer), "iPhone 17 announcement", min_interval_seconds=3600)
    assert suggestion["schedule"] == DEFAULT_SCHEDULE


async def test_current_task_fields_survive_what_the_prompt_does_not_change(
    peer: ScriptedServer,
) -> None:
    # The model changes the schedule as asked but garbles the rest; the current values stay.
    peer.script(
        "POST",
        CHAT,
        chat_json(
            {
                "name": "",
                "search_query": "short",
                "condition_description": 5,
                "schedule": "0 8 * * *",
                "notify_behavior": "sometimes",
            }
        ),
    )
    suggestion = await suggest_task(llm(peer), "check every morning at 8 instead", CURRENT)
    assert suggestion == {
        "name": "Widget price",
        "search_query": CURRENT["search_query"],
        "condition_description": CURRENT["condition_description"],
        "schedule": "0 8 * * *",
        "notify_behavior": "track_state",
    }
    prompt = peer.requests_to(CHAT)[0].json()["messages"][1]["content"]
    assert '"schedule": "0 */6 * * *"' in prompt and "timezone" not in prompt


async def test_invalid_cron_keeps_the_current_schedule(peer: ScriptedServer) -> None:
    peer.script(
        "POST", CHAT, chat_json({**CURRENT, "schedule": "bad"}), chat_json({"schedule": "bad"})
    )
    suggestion = await suggest_task(llm(peer), "rename it to Widget watch", CURRENT)
    assert suggestion["schedule"] == CURRENT["schedule"]


async def test_empty_reply_still_gives_a_valid_task(peer: ScriptedServer) -> None:
    peer.script("POST", CHAT, chat_json({}), chat_json({}))
    suggestion = await suggest_task(llm(peer), "  Watch the price of the Widget Pro  ")
    assert suggestion == {
        "name": "Watch the price of the Widget Pro",
        "search_query": "Watch the price of the Widget Pro",
        "condition_description": "There is new information about: Watch the price of the "
        "Widget Pro",
        "schedule": DEFAULT_SCHEDULE,
        "notify_behavior": "once",
    }


async def test_long_fields_are_bounded(peer: ScriptedServer) -> None:
    peer.script("POST", CHAT, chat_json({**GOOD, "name": "n" * 300, "search_query": "q" * 800}))
    suggestion = await suggest_task(llm(peer), "p" * 700)
    # Too long from the model: the prompt, cut to 500, becomes the query; the name follows it.
    assert suggestion["search_query"] == "p" * 499 + "…"
    assert suggestion["name"] == "p" * 59 + "…"


async def test_prompt_must_say_something(peer: ScriptedServer) -> None:
    with pytest.raises(ValidationFailed, match="Describe what to monitor"):
        await suggest_task(llm(peer), "   ")
    peer.script("POST", CHAT, chat_json({}))
    with pytest.raises(ValidationFailed, match="at least 10 characters"):
        await suggest_task(llm(peer), "iphone")
