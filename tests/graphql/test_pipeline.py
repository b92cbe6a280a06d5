"""The shared pipeline runs graphql-core's own execution: results and errors match the
reference exactly; what it adds (compiled-once documents, guards) happens before."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from types import SimpleNamespace

from graphql import build_schema, execute, parse

from torale.graphql.executor import OperationRegistry
from torale.graphql.limits import DEFAULT_LIMITS
from torale.graphql.pipeline import Pipeline
from torale.graphql.schema import schema as torale_schema

SCHEMA = build_schema(
    """
    enum Color { RED GREEN }
    type Item {
      id: ID!
      name: String
      count: Int!
      color: Color
      tags: [String!]
      twice(x: Int!): Int
      child: Item
      slow: String
    }
    type Query { items(limit: Int): [Item] }
    """
)
SCHEMA.type_map["Item"].fields["twice"].resolve = lambda item, _info, x: x * 2


async def _slow(item, _info):
    await asyncio.sleep(0)
    return f"slow {item['id'] if isinstance(item, dict) else item.id}"


SCHEMA.type_map["Item"].fields["slow"].resolve = _slow

QUERY = """{ items { id name count color tags twice(x: 21) slow label: name
                     child { id count } } }"""


def _items():
    return [
        SimpleNamespace(
            id=1, name="plain", count=3, color="RED", tags=["a"], child=None, extra=None
        ),
        {"id": "2", "name": None, "count": 0, "color": None, "tags": None, "child": None},
        # A callable attribute: the default resolver calls it.
        SimpleNamespace(
            id=3, name=lambda _info: "called", count=1, color="GREEN", tags=[], child=None
        ),
        # None for a non-null field: an error at this item's path, item nulled.
        SimpleNamespace(id=4, name="x", count=None, color=None, tags=None, child=None),
        # A value the scalar refuses.
        SimpleNamespace(id=5, name="x", count="many", color=None, tags=None, child=None),
        # An enum value that does not exist.
        SimpleNamespace(id=6, name="x", count=1, color="BLUE", tags=None, child=None),
        SimpleNamespace(
            id=7,
            name="parent",
            count=2,
            color=None,
            tags=None,
            child=SimpleNamespace(id=8, count=None),
        ),
    ]


def _shown(result):
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    # As JSON text, so that the order of the keys is compared too.
    return json.dumps(result.data), errors


async def test_results_and_errors_match_graphql_core_exactly():
    reference = execute(SCHEMA, parse(QUERY), root_value={"items": _items()})
    if asyncio.iscoroutine(reference) or hasattr(reference, "__await__"):
        reference = await reference
    expected = _shown(reference)
    assert expected[1], "the fixture is meant to produce field errors"
    pipeline = Pipeline(SCHEMA)
    result = await pipeline.run(
        pipeline.compile_text(QUERY), context=None, root_value={"items": _items()}
    )
    assert _shown(result) == expected


async def test_a_document_is_compiled_once_and_the_cache_is_bounded():
    pipeline = Pipeline(SCHEMA, cache_size=2)
    first = pipeline.compile_text("{ items { id } }")
    assert pipeline.compile_text("{ items { id } }") is first
    pipeline.compile_text("{ items { name } }")
    pipeline.compile_text("{ items { count } }")
    assert pipeline.compile_text("{ items { id } }") is not first  # evicted, compiled anew


async def test_cached_syntax_and_validation_errors_are_graphql_cores():
    pipeline = Pipeline(SCHEMA)
    (syntax,) = pipeline.compile_text("{ items {").errors
    assert syntax.message.startswith("Syntax Error")
    result = await pipeline.run(pipeline.compile_text("{ nope }"), context=None)
    assert result.data is None
    assert [e.message for e in result.errors] == ["Cannot query field 'nope' on type 'Query'."]


async def test_cost_is_checked_per_request_with_the_variables_page_size():
    pipeline = Pipeline(SCHEMA, limits=replace(DEFAULT_LIMITS, max_cost=100, default_list_size=5))
    compiled = pipeline.compile_text("query($n: Int) { items(limit: $n) { id name } }")
    root = {"items": []}
    assert (await pipeline.run(compiled, context=None, variables={"n": 10}, root_value=root)).data
    refused = await pipeline.run(compiled, context=None, variables={"n": 500}, root_value=root)
    assert refused.data is None
    assert "Query is too expensive" in refused.errors[0].message
    # The first answer was cached per page size, not for the document.
    assert (await pipeline.run(compiled, context=None, variables={"n": 10}, root_value=root)).data


def test_rest_operations_and_graphql_share_one_pipeline():
    registry = OperationRegistry(torale_schema)
    assert registry._pipeline is torale_schema.pipeline
