"""The plain-leaf short cut gives exactly graphql-core's own results and errors, only cheaper."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from graphql import build_schema, execute, parse
from graphql.execution.incremental import IncrementalExecutor

from torale.graphql.executors import GraphQLEndpointExecutor, RestExecutor
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
    type Query { items: [Item] }
    """
)
SCHEMA.type_map["Item"].fields["twice"].resolve = lambda item, _info, x: x * 2


async def _slow(item, _info):
    await asyncio.sleep(0)
    return f"slow {item['id'] if isinstance(item, dict) else item.id}"


SCHEMA.type_map["Item"].fields["slow"].resolve = _slow

QUERY = parse(
    """{ items { id name count color tags twice(x: 21) slow label: name
                 child { id count } } }"""
)


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


async def _run(executor_class):
    result = execute(SCHEMA, QUERY, root_value={"items": _items()}, executor_class=executor_class)
    if asyncio.iscoroutine(result) or hasattr(result, "__await__"):
        result = await result
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    # As JSON text, so that the order of the keys is compared too.
    return json.dumps(result.data), errors


async def test_results_and_errors_match_graphql_core_exactly():
    expected = await _run(IncrementalExecutor)
    assert expected[1], "the fixture is meant to produce field errors"
    assert await _run(RestExecutor) == expected


async def test_plain_fields_skip_the_per_field_resolve_info():
    built: list[str] = []

    class Counting(RestExecutor):
        def build_resolve_info(self, field_def, field_nodes, parent_type, path):
            built.append(f"{parent_type.name}.{field_nodes[0].name.value}")
            return super().build_resolve_info(field_def, field_nodes, parent_type, path)

    await _run(Counting)
    item_fields = {name for name in built if name.startswith("Item.")}
    # Resolvers, arguments and objects take the full path; plain scalars only when
    # the short cut is unsure of a value (callables, nulls, refused values).
    assert {"Item.twice", "Item.slow", "Item.child"} <= item_fields
    assert built.count("Item.id") == 0
    assert built.count("Item.tags") == 7  # a list is not a leaf


def test_the_graphql_endpoint_uses_the_short_cut_too():
    assert torale_schema.execution_context_class is GraphQLEndpointExecutor
