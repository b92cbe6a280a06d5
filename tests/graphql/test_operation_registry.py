"""REST operations are checked once at start-up: a broken document stops the app, not a request."""

from __future__ import annotations

from typing import Any

import pytest

from torale.errors import ValidationFailed
from torale.graphql.executor import OperationError, OperationRegistry
from torale.graphql.input_guard import NUL_MESSAGE
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


class _Context:
    """What running an operation asks of its context: only how the unit of work ends."""

    def __init__(self) -> None:
        self.finished: list[bool] = []

    async def finish(self, *, succeeded: bool) -> None:
        self.finished.append(succeeded)


def _counting_pipeline_checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from torale.graphql import pipeline

    seen: list[Any] = []
    check = pipeline.refuse_bad_input

    def counted(variables: Any) -> None:
        seen.append(variables)
        check(variables)

    monkeypatch.setattr(pipeline, "refuse_bad_input", counted)
    return seen


async def test_rest_input_is_checked_once_and_bad_input_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ops = registry("query Probe { __typename }")
    pipeline_checks = _counting_pipeline_checks(monkeypatch)

    context = _Context()
    assert await ops.run("Probe", context, {"q": "fine"}) == {"__typename": "Query"}
    # The registry checked the variables before translating them: not walked again.
    assert pipeline_checks == []
    assert context.finished == [True]

    context = _Context()
    with pytest.raises(ValidationFailed) as refused:
        await ops.run("Probe", context, {"q": "bad\x00"})
    assert [(e.loc, e.msg) for e in refused.value.errors] == [(("body", "q"), NUL_MESSAGE)]
    assert context.finished == [False]

    # /graphql's door (no caller check) still walks them in the pipeline.
    compiled = schema.pipeline.compile_text("{ __typename }")
    refused_there = await schema.pipeline.run(compiled, context=None, variables={"q": "bad\x00"})
    assert pipeline_checks == [{"q": "bad\x00"}]
    assert refused_there.errors and isinstance(
        refused_there.errors[0].original_error, ValidationFailed
    )


def test_operations_are_kept_without_token_locations():
    # REST errors never show GraphQL locations, so the documents need not keep them.
    ops = OperationRegistry(schema)
    operation = ops.document("Tasks").definitions[0]
    assert operation.loc is None
    assert ops.root_key("Tasks") == "tasks"


async def test_an_operation_is_held_compiled_from_its_first_run_only():
    # Issue 12 (idle RSS): start-up checks every operation but keeps only its text; an
    # idle API holds the compiled form of the operations it served, not all of them.
    ops = registry("query Probe { __typename }\nquery Other { __typename }")
    assert ops.loaded == frozenset()
    assert await ops.run("Probe", _Context(), None) == {"__typename": "Query"}
    assert ops.loaded == {"Probe"}
    # The same compiled form from then on.
    assert ops.document("Probe") is ops.document("Probe")
    assert ops.loaded == {"Probe"}


def test_the_shipped_registry_starts_holding_no_compiled_operation():
    ops = OperationRegistry(schema)
    assert "Tasks" in ops
    assert ops.loaded == frozenset()
    # Rebuilt from the checked text: the document the operation was validated as.
    assert ops.root_key("Tasks") == "tasks" and ops.loaded == {"Tasks"}
