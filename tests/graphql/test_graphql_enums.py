"""Closed sets are GraphQL enums (names upper case); REST keeps SPEC's strings both ways."""

from __future__ import annotations

import uuid

import pytest
from graphql import GraphQLEnumType, get_named_type, parse

from tests.helpers import task_body
from torale.errors import ValidationFailed
from torale.executions.models import ExecutionStatus, ExecutionTrigger
from torale.graphql.enum_wire import EnumWire
from torale.graphql.schema import schema
from torale.tasks.models import ExecutorType, NotifyBehavior, TaskState
from torale.users.models import ApiKeyState, UserRole, UserState
from torale.webhooks.models import AttemptOutcome, ChannelType, DeliveryEventType, DeliveryStatus

# Every closed set the API shows, at every place it shows it: (type, field) -> domain enum.
CLOSED_FIELDS = {
    ("Task", "state"): TaskState,
    ("Task", "notify_behavior"): NotifyBehavior,
    ("Task", "executor_type"): ExecutorType,
    ("TaskSuggestion", "notify_behavior"): NotifyBehavior,
    ("Execution", "status"): ExecutionStatus,
    ("Execution", "trigger"): ExecutionTrigger,
    ("TaskNotification", "status"): ExecutionStatus,
    ("AdminExecution", "status"): ExecutionStatus,
    ("AdminExecution", "trigger"): ExecutionTrigger,
    ("User", "state"): UserState,
    ("User", "role"): UserRole,
    ("AdminUser", "state"): UserState,
    ("AdminUser", "role"): UserRole,
    ("ApiKey", "state"): ApiKeyState,
    ("WebhookDelivery", "channel"): ChannelType,
    ("WebhookDelivery", "status"): DeliveryStatus,
    ("WebhookDelivery", "event_type"): DeliveryEventType,
    ("DeliveryAttempt", "outcome"): AttemptOutcome,
    ("CreateTaskInput", "notify_behavior"): NotifyBehavior,
    ("CreateTaskInput", "executor_type"): ExecutorType,
    ("UpdateTaskInput", "notify_behavior"): NotifyBehavior,
    ("UpdateTaskInput", "executor_type"): ExecutorType,
    ("UpdateTaskInput", "state"): TaskState,
}
CLOSED_ARGUMENTS = {
    ("tasks", "state"): TaskState,
    ("executions", "status"): ExecutionStatus,
    ("admin_executions", "status"): ExecutionStatus,
}

TASK = "query($id: UUID!) { task(id: $id) { state notify_behavior executor_type } }"


def _enum_of(graphql_type) -> GraphQLEnumType:
    named = get_named_type(graphql_type)
    assert isinstance(named, GraphQLEnumType), f"{graphql_type} is not an enum"
    return named


def _spec_values(enum: GraphQLEnumType) -> dict[str, str]:
    return {name: value.value for name, value in enum.values.items()}


@pytest.mark.parametrize("where", CLOSED_FIELDS, ids=".".join)
def test_closed_fields_are_enums_named_after_their_values(where):
    type_name, field_name = where
    field = schema._schema.type_map[type_name].fields[field_name]
    expected = {member.value.upper(): member.value for member in CLOSED_FIELDS[where]}
    assert _spec_values(_enum_of(field.type)) == expected


@pytest.mark.parametrize("where", CLOSED_ARGUMENTS, ids=".".join)
def test_closed_filters_are_enums(where):
    field_name, argument = where
    field = schema._schema.query_type.fields[field_name]
    enum = _enum_of(field.args[argument].type)
    assert set(_spec_values(enum).values()) == {m.value for m in CLOSED_ARGUMENTS[where]}


def test_temporal_workflow_status_is_the_sdks_closed_set():
    from temporalio.client import WorkflowExecutionStatus

    from torale.admin.workflow_status import WorkflowStatus

    field = schema._schema.type_map["TemporalWorkflow"].fields["status"]
    assert set(_enum_of(field.type).values) == {s.name for s in WorkflowExecutionStatus}
    # Spelled out without the SDK (which the API loads lazily): the same set, lower case.
    assert {m.name: m.value for m in WorkflowStatus} == {
        s.name: s.name.lower() for s in WorkflowExecutionStatus
    }


def test_wire_translates_variables_and_data_through_fragments_and_aliases():
    query = EnumWire(
        schema._schema,
        parse(
            """
            query Q($state: TaskState) {
              tasks(state: $state) { items { ...F also: state } }
            }
            fragment F on Task { notify_behavior last_execution { status } }
            """
        ),
    )
    assert query.to_graphql({"state": "paused"}) == {"state": "PAUSED"}
    data = {
        "tasks": {
            "items": [
                {"notify_behavior": "ONCE", "also": "COMPLETED", "last_execution": None},
                {
                    "notify_behavior": "ALWAYS",
                    "also": "ACTIVE",
                    "last_execution": {"status": "FAILED"},
                },
            ]
        }
    }
    assert query.to_wire(data) == {
        "tasks": {
            "items": [
                {"notify_behavior": "once", "also": "completed", "last_execution": None},
                {
                    "notify_behavior": "always",
                    "also": "active",
                    "last_execution": {"status": "failed"},
                },
            ]
        }
    }
    mutation = EnumWire(
        schema._schema,
        parse(
            """
            mutation M($id: UUID!, $input: UpdateTaskInput!) {
              update_task(id: $id, input: $input) { state }
            }
            """
        ),
    )
    sent = {"id": "x", "input": {"state": "active", "notify_behavior": "track_state"}}
    assert mutation.to_graphql(sent) == {
        "id": "x",
        "input": {"state": "ACTIVE", "notify_behavior": "TRACK_STATE"},
    }
    assert sent["input"]["state"] == "active", "the caller's variables are not changed"
    assert mutation.to_wire({"update_task": {"state": "PAUSED"}}) == {
        "update_task": {"state": "paused"}
    }


@pytest.mark.parametrize(
    ("variables", "loc"),
    [
        ({"state": "ACTIVE"}, ["query", "state"]),
        ({"state": 3}, ["query", "state"]),
        ({"input": {"notify_behavior": "never"}}, ["body", "notify_behavior"]),
    ],
)
def test_wire_refuses_what_is_no_spec_value(variables, loc):
    document = parse(
        "query Q($state: TaskState, $input: UpdateTaskInput) { tasks(state: $state) { total } }"
    )
    with pytest.raises(ValidationFailed) as refused:
        EnumWire(schema._schema, document).to_graphql(variables)
    (error,) = refused.value.detail()
    assert error["loc"] == loc and error["msg"].startswith("Must be one of: ")


async def gql(client, query, variables=None, headers=None):
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_rest_keeps_spec_strings_and_graphql_speaks_names(client, make_account):
    account = await make_account()
    created = await client.post(
        "/api/v1/tasks", json=task_body(notify_behavior="track_state"), headers=account.headers
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["state"], task["notify_behavior"], task["executor_type"]) == (
        "active",
        "track_state",
        "llm_grounded_search",
    )
    body = await gql(client, TASK, {"id": task["id"]}, account.headers)
    assert body["data"]["task"] == {
        "state": "ACTIVE",
        "notify_behavior": "TRACK_STATE",
        "executor_type": "LLM_GROUNDED_SEARCH",
    }
    me = await client.get("/auth/me", headers=account.headers)
    assert (me.json()["role"], me.json()["state"]) == ("user", "active")

    # Inputs: REST takes the SPEC strings, GraphQL the names.
    paused = await client.put(
        f"/api/v1/tasks/{task['id']}", json={"state": "paused"}, headers=account.headers
    )
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    listed = await client.get("/api/v1/tasks?state=paused", headers=account.headers)
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["state"] == "paused"
    resumed = await gql(
        client,
        "mutation($id: UUID!) { update_task(id: $id, input: {state: ACTIVE}) { state } }",
        {"id": task["id"]},
        account.headers,
    )
    assert resumed["data"]["update_task"]["state"] == "ACTIVE"
    filtered = await gql(client, "{ tasks(state: ACTIVE) { total } }", headers=account.headers)
    assert filtered["data"]["tasks"]["total"] == 1


async def test_rest_refuses_enum_names_and_unknown_values_with_a_422(client, make_account):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    listed = await client.get("/api/v1/tasks?state=ACTIVE", headers=account.headers)
    assert listed.status_code == 422
    assert listed.json()["detail"] == [
        {
            "loc": ["query", "state"],
            "msg": "Must be one of: active, paused, completed",
            "type": "value_error",
        }
    ]
    changed = await client.put(
        f"/api/v1/tasks/{task['id']}", json={"notify_behavior": "never"}, headers=account.headers
    )
    assert changed.status_code == 422
    assert changed.json()["detail"][0]["loc"] == ["body", "notify_behavior"]
    executions = await client.get(
        f"/api/v1/tasks/{task['id']}/executions?status=done", headers=account.headers
    )
    assert executions.status_code == 422
    assert executions.json()["detail"][0]["loc"] == ["query", "status"]
    unchanged = await client.get(f"/api/v1/tasks/{task['id']}", headers=account.headers)
    assert unchanged.json()["notify_behavior"] == "once"


async def test_openapi_documents_the_spec_strings(client):
    spec = (await client.get("/openapi.json")).json()
    task = spec["components"]["schemas"]["Task"]["properties"]
    assert task["state"]["enum"] == ["active", "paused", "completed"]
    assert task["notify_behavior"]["enum"] == ["once", "always", "track_state"]


async def test_graphql_refuses_a_spec_string_where_an_enum_name_is_due(client, make_account):
    account = await make_account()
    body = await gql(
        client,
        "query($s: TaskState) { tasks(state: $s) { total } }",
        {"s": "active"},
        account.headers,
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "TaskState" in error["message"]


async def test_a_missing_task_nulls_only_its_own_field(client, make_account):
    account = await make_account()
    task = (await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)).json()
    missing = str(uuid.uuid4())
    body = await gql(
        client,
        """query($mine: UUID!, $missing: UUID!) {
             mine: task(id: $mine) { id }
             gone: task(id: $missing) { id }
             execution(task_id: $mine, id: $missing) { id }
             me { email }
           }""",
        {"mine": task["id"], "missing": missing},
        account.headers,
    )
    assert body["data"] == {
        "mine": {"id": task["id"]},
        "gone": None,
        "execution": None,
        "me": {"email": account.email},
    }
    errors = {tuple(e["path"]): (e["extensions"]["code"], e["message"]) for e in body["errors"]}
    assert errors == {
        ("gone",): ("NOT_FOUND", "Task not found"),
        ("execution",): ("NOT_FOUND", "Execution not found"),
    }
    # REST still answers a missing resource with 404.
    rest = await client.get(f"/api/v1/tasks/{missing}", headers=account.headers)
    assert rest.status_code == 404 and rest.json() == {"detail": "Task not found"}
    execution = await client.get(
        f"/api/v1/tasks/{task['id']}/executions/{missing}", headers=account.headers
    )
    assert execution.status_code == 404 and execution.json() == {"detail": "Execution not found"}


def test_wire_walks_null_items_lists_of_lists_and_lists_of_enums():
    from graphql import GraphQLEnumType, GraphQLList, GraphQLObjectType
    from graphql import GraphQLField as Field
    from graphql import GraphQLSchema as Schema

    color = GraphQLEnumType("Color", {"RED": "red", "GREEN": "green"})
    thing = GraphQLObjectType("Thing", {"color": Field(color), "colors": Field(GraphQLList(color))})
    query = GraphQLObjectType("Query", {"grid": Field(GraphQLList(GraphQLList(thing)))})
    wire = EnumWire(Schema(query), parse("{ grid { color colors } }"))
    data = {
        "grid": [
            [{"color": "RED", "colors": ["GREEN", None, "BLUE"]}, None],
            None,
            [{"color": None, "colors": None}],
        ]
    }
    assert wire.to_wire(data) == {
        "grid": [
            [{"color": "red", "colors": ["green", None, "BLUE"]}, None],
            None,
            [{"color": None, "colors": None}],
        ]
    }
