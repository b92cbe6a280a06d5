"""Structured results' pure parts, and the grounded Gemini path's repair."""

from __future__ import annotations

import json
from types import SimpleNamespace

from monitoring_peer import ScriptedServer, gemini_reply, requested_schema

from torale.monitoring.changes import compare_structured
from torale.monitoring.evaluation import EvaluationInput, evaluate
from torale.monitoring.providers.factory import build_providers
from torale.monitoring.structured import gemini_schema, state_problem, structured_changes

SCHEMA = {
    "type": "object",
    "properties": {"price": {"type": ["number", "null"]}, "currency": {"const": "USD"}},
    "required": ["price"],
}
GEMINI = "/v1beta/models/gemini-2.5-flash:generateContent"


def test_gemini_schema_uses_nullable_enum_and_drops_unknown_keywords() -> None:
    converted = gemini_schema(
        {**SCHEMA, "additionalProperties": False, "$comment": "x", "examples": [1]}
    )
    assert converted == {
        "type": "object",
        "properties": {
            "price": {"type": "number", "nullable": True},
            "currency": {"enum": ["USD"]},
        },
        "propertyOrdering": ["price", "currency"],
        "required": ["price"],
    }
    assert gemini_schema({"type": ["string", "integer"]}) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]
    }


def test_state_problems_name_the_field_and_the_rule() -> None:
    assert state_problem(SCHEMA, {"price": 3, "currency": "USD"}) is None
    problem = state_problem(SCHEMA, {"price": "3", "currency": "EUR"})
    assert "current_state/price: '3' is not of type 'number', 'null'" in problem
    assert "current_state/currency: 'USD' was expected" in problem


def test_structured_changes_compare_values_by_field() -> None:
    before = {"price": 499, "stock": {"berlin": 3, "paris": 0}, "tags": ["a"]}
    after = {"price": 499.0, "stock": {"berlin": 0, "paris": 0}, "tags": ["a", "b"], "new": True}
    assert structured_changes(before, after) == [
        "stock.berlin changed from 3 to 0",
        'tags changed from ["a"] to ["a", "b"]',
        "new changed from nothing to true",
    ]
    # Strings compare exactly: a declared field's value is data, not prose.
    assert compare_structured({"s": "In stock"}, {"s": "in stock"}).changed is True
    assert compare_structured({"s": 1}, {"s": 1.0}).changed is False
    many = compare_structured({f"k{i}": i for i in range(7)}, {f"k{i}": -i for i in range(7)})
    assert many.summary.endswith("k5 changed from 5 to -5; and 1 more")


async def test_grounded_gemini_repairs_without_searching_again(peer: ScriptedServer) -> None:
    def reply(state: object) -> str:
        return json.dumps(
            {"condition_met": True, "answer": "$449", "reasoning": "r", "current_state": state}
        )

    peer.script(
        "POST",
        GEMINI,
        gemini_reply(
            reply({"price": "449"}), chunks=[{"uri": "https://store.example/p", "title": "Store"}]
        ),
        gemini_reply(reply({"price": 449, "currency": "USD"})),
    )
    providers = build_providers(
        SimpleNamespace(gemini_api_key="k", gemini_base_url=peer.url, allow_private_urls=True)
    )
    task = EvaluationInput(
        search_query="What does the Pixel 10 cost?",
        condition_description="It costs under $500",
        output_schema=SCHEMA,
    )
    result = await evaluate(task, providers)
    assert result.current_state == {"price": 449, "currency": "USD"}
    # The grounding of the first call is kept.
    assert [s.uri for s in result.sources] == ["https://store.example/p"]
    grounded, repair = peer.requests_to(GEMINI)
    assert grounded.json()["tools"] == [{"google_search": {}}]
    assert requested_schema(grounded) is None  # not with the search tool
    assert "tools" not in repair.json()
    assert requested_schema(repair)["properties"]["current_state"]["required"] == ["price"]
    assert (
        "current_state/price: '449' is not of type"
        in repair.json()["contents"][0]["parts"][0]["text"]
    )
