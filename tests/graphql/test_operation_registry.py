"""REST operations are checked once at start-up: a broken document stops the app, not a request."""

from __future__ import annotations

import pytest

from torale.graphql.executor import OperationError, OperationRegistry
from torale.graphql.schema import schema


def registry(text: str) -> OperationRegistry:
    ops = OperationRegistry(schema, files=[])
    ops.add_source(text, "test.graphql")
    return ops


def test_every_shipped_operation_validates():
    ops = OperationRegistry(schema)
    for name in ("Me", "ApiKeys", "CreateApiKey", "Tasks", "CreateTask", "ForkTask"):
        assert name in ops


def test_unknown_field_is_refused_at_load():
    with pytest.raises(OperationError, match="Broken"):
        registry("query Broken { me { no_such_field } }")


def test_anonymous_operation_is_refused():
    with pytest.raises(OperationError, match="needs a name"):
        registry("{ me { id } }")


def test_duplicate_names_are_refused():
    with pytest.raises(OperationError, match="defined twice"):
        registry("query A { me { id } }\nquery A { me { email } }")


def test_each_operation_keeps_only_the_fragments_it_uses():
    ops = registry(
        """
        fragment Id on User { id }
        fragment Mail on User { email ...Id }
        query WithMail { me { ...Mail } }
        query Plain { me { role } }
        """
    )
    assert "WithMail" in ops and "Plain" in ops


def test_syntax_error_names_the_file():
    with pytest.raises(OperationError, match=r"test\.graphql"):
        registry("query { ")


def test_operations_are_kept_without_token_locations():
    # REST errors never show GraphQL locations, so the documents need not keep them.
    ops = OperationRegistry(schema)
    operation = ops.document("Tasks").definitions[0]
    assert operation.loc is None
    assert ops.root_key("Tasks") == "tasks"
