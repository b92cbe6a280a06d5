from __future__ import annotations

import itertools

import pytest
from monitoring_peer import ScriptedServer, chat_json

from torale.monitoring.changes import (
    INITIAL_SUMMARY,
    NO_CHANGE_SUMMARY,
    Decision,
    StateComparison,
    compare_states,
    decide,
    decide_after_execution,
    state_hash,
)
from torale.monitoring.providers.llm.openai_compat import OpenAICompatibleLLM

CHAT = "/v1/chat/completions"
CHANGED = StateComparison(changed=True, summary="Price dropped from $499 to $449")
UNCHANGED = StateComparison(changed=False, summary=NO_CHANGE_SUMMARY)


def llm(peer: ScriptedServer) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(base_url=f"{peer.url}/v1", model="m", timeout=5)


def test_hash_ignores_key_order_whitespace_and_case() -> None:
    a = {"price": "$449", "store": {"name": "Apple  Store", "open": True}, "n": 2.0}
    b = {"store": {"open": True, "name": " apple store"}, "n": 2, "Price": "$449 "}
    assert state_hash(a) == state_hash(b)
    assert state_hash(a) != state_hash({**a, "price": "$499"})
    assert state_hash([1, 2]) != state_hash([2, 1])
    assert state_hash(None) != state_hash({})


async def test_no_previous_state_is_initial_without_llm(peer: ScriptedServer) -> None:
    assert await compare_states(llm(peer), None, {"price": 1}) == StateComparison(
        True, INITIAL_SUMMARY
    )
    assert peer.requests == []


async def test_equal_hashes_never_call_the_llm(peer: ScriptedServer) -> None:
    peer.script("POST", CHAT, chat_json({"changed": True, "summary": "should not be asked"}))
    comparison = await compare_states(llm(peer), {"Price": "$449"}, {"price": " $449"})
    assert comparison == UNCHANGED
    assert peer.requests_to(CHAT) == []


async def test_different_states_ask_the_llm_for_a_summary(peer: ScriptedServer) -> None:
    peer.script("POST", CHAT, chat_json({"changed": True, "summary": CHANGED.summary}))
    assert await compare_states(llm(peer), {"price": "$499"}, {"price": "$449"}) == CHANGED
    [request] = peer.requests_to(CHAT)
    prompt = request.json()["messages"][1]["content"]
    assert '"$499"' in prompt and '"$449"' in prompt


async def test_llm_says_not_meaningful(peer: ScriptedServer) -> None:
    peer.script("POST", CHAT, chat_json({"changed": False, "summary": "Only wording changed"}))
    comparison = await compare_states(llm(peer), {"s": "Sold out"}, {"s": "Out of stock"})
    assert comparison == UNCHANGED


@pytest.mark.parametrize(
    ("behavior", "met", "comparison", "expected"),
    [
        ("once", True, None, Decision(True, None, True)),
        ("once", False, None, Decision(False, None, False)),
        ("always", True, UNCHANGED, Decision(True, NO_CHANGE_SUMMARY, False)),
        ("always", False, CHANGED, Decision(False, CHANGED.summary, False)),
        ("track_state", True, CHANGED, Decision(True, CHANGED.summary, False)),
        ("track_state", True, UNCHANGED, Decision(False, NO_CHANGE_SUMMARY, False)),
        ("track_state", False, CHANGED, Decision(False, CHANGED.summary, False)),
        (
            "track_state",
            True,
            StateComparison(True, INITIAL_SUMMARY),
            Decision(True, INITIAL_SUMMARY, False),
        ),
    ],
)
def test_decide(behavior, met, comparison, expected) -> None:
    assert decide(behavior, met, comparison) == expected


def test_decide_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="track_state needs"):
        decide("track_state", True, None)
    with pytest.raises(ValueError, match="Unknown notify_behavior 'sometimes'"):
        decide("sometimes", True, None)  # type: ignore[arg-type]


async def test_track_state_sequence(peer: ScriptedServer) -> None:
    """First run notifies as initial, an equal state stays quiet, a change notifies."""
    peer.script("POST", CHAT, chat_json({"changed": True, "summary": CHANGED.summary}))
    client = llm(peer)
    states = [None, {"price": "$499"}, {"price": "$499"}, {"price": "$449"}]
    decisions = [
        await decide_after_execution(
            client,
            notify_behavior="track_state",
            condition_met=True,
            previous_state=previous,
            current_state=current,
        )
        for previous, current in itertools.pairwise(states)
    ]
    assert decisions == [
        Decision(True, INITIAL_SUMMARY, False),
        Decision(False, NO_CHANGE_SUMMARY, False),
        Decision(True, CHANGED.summary, False),
    ]
    assert len(peer.requests_to(CHAT)) == 1


async def test_once_and_always_never_pay_for_a_comparison(peer: ScriptedServer) -> None:
    client = llm(peer)
    once = await decide_after_execution(
        client,
        notify_behavior="once",
        condition_met=True,
        previous_state={"a": 1},
        current_state={"a": 2},
    )
    assert once == Decision(True, None, True)
    always = await decide_after_execution(
        client,
        notify_behavior="always",
        condition_met=True,
        previous_state=None,
        current_state={"a": 2},
    )
    assert always == Decision(True, INITIAL_SUMMARY, False)
    assert peer.requests == []
