"""The GraphQL task inputs are built from the one declaration of the task's fields
(`torale.tasks.inputs.TASK_FIELDS`): same names, same required fields, same defaults,
closed sets as GraphQL enums."""

from __future__ import annotations

import dataclasses

import strawberry

from torale.tasks.graphql import CreateTaskInput, UpdateTaskInput
from torale.tasks.inputs import CREATE_FIELDS, REQUIRED, TASK_FIELDS, UPDATE_FIELDS


def graphql_fields(input_type) -> dict[str, object]:
    definition = input_type.__strawberry_definition__
    return {field.python_name: field.default for field in definition.fields}


def test_create_input_matches_the_declaration():
    fields = graphql_fields(CreateTaskInput)
    assert set(fields) == set(CREATE_FIELDS)
    for name, default in fields.items():
        declared = TASK_FIELDS[name].default
        if declared is REQUIRED:
            assert default is dataclasses.MISSING, f"{name} is required by the declaration"
        else:
            # null (None) on this input means "the declared default".
            assert default == declared or default is None, (name, default, declared)


def test_update_input_matches_the_declaration():
    fields = graphql_fields(UpdateTaskInput)
    assert set(fields) == set(UPDATE_FIELDS)
    # A partial update: every field optional, absent unless given.
    assert all(default is strawberry.UNSET for default in fields.values())


def test_closed_sets_are_graphql_enums_and_json_fields_take_null():
    from graphql import build_schema, print_type

    from torale.graphql.schema import schema

    printed = build_schema(schema.as_str())
    create = print_type(printed.get_type("CreateTaskInput"))
    update = print_type(printed.get_type("UpdateTaskInput"))
    assert "notify_behavior: NotifyBehavior! = ONCE" in create
    assert "executor_type: ExecutorType! = LLM_GROUNDED_SEARCH" in create
    assert "config: JSON = null" in create and "failure_threshold: Int! = 3" in create
    assert "search_query: String!\n" in create  # required: no default
    assert "state: TaskState\n" in update and "notify_behavior: NotifyBehavior\n" in update
