"""The client's models and calls checked against the served OpenAPI document, so the two
cannot drift: every resource method is called on a recording client, and each call must
hit a documented route with documented parameters, and its model must match the route's
response schema both ways (every model field is declared with a compatible type; every
declared field is in the model). Every documented route must be reachable from the client.
"""

from __future__ import annotations

import datetime
import inspect
import re
import types
import typing
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from torale.client._base import Call
from torale.client._clients import _Resources

UNSERVED = {
    ("get", "/health"),
    ("get", "/ready"),  # probes: not the client's business
    ("get", "/public/tasks/{task_id}/feed.atom"),  # an Atom document, for feed readers
}
ARGUMENTS: dict[str, Any] = {
    "search_query": "When is the next iPhone being released?",
    "condition_description": "Apple has announced a specific release date",
    "schedule": "0 9 * * *",
    "prompt": "tell me when the iPhone date is out",
    "name": "a name",
    "url": "https://example.com/hook",
    "is_public": True,
    "tasks": [{"search_query": "When is the next iPhone out?", "schedule": "0 9 * * *"}],
}


class Recorder(_Resources):
    """A client whose transport writes calls down instead of sending them."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._mount()

    def _send(self, call: Call) -> Any:
        self.calls.append(call)

    def _iterate(self, page_call: Any) -> Any:
        self.calls.append(page_call(1))
        return iter(())

    def _poll(self, fetch: Any, *_: Any) -> Any:
        fetch()


def every_call() -> list[tuple[str, Call]]:
    recorder = Recorder()
    made: list[tuple[str, Call]] = []
    for resource_name in (
        "tasks",
        "executions",
        "notifications",
        "api_keys",
        "webhooks",
        "admin",
        "users",
    ):
        resource = getattr(recorder, resource_name)
        for method_name, method in inspect.getmembers(resource, inspect.ismethod):
            if method_name.startswith("_"):
                continue
            args, kwargs = [], {}
            for param in inspect.signature(method).parameters.values():
                if param.kind is param.VAR_KEYWORD:
                    kwargs["name"] = "renamed"
                elif param.default is not param.empty:
                    continue
                elif param.name.endswith("_id"):
                    value = uuid.uuid4()
                    (
                        args.append(value)
                        if param.kind is param.POSITIONAL_OR_KEYWORD
                        else kwargs.__setitem__(param.name, value)
                    )
                elif param.name in ARGUMENTS:
                    value = ARGUMENTS[param.name]
                    (
                        args.append(value)
                        if param.kind is param.POSITIONAL_OR_KEYWORD
                        else kwargs.__setitem__(param.name, value)
                    )
                else:
                    raise AssertionError(
                        f"no test value for {resource_name}.{method_name}({param.name})"
                    )
            before = len(recorder.calls)
            method(*args, **kwargs)
            made += [(f"{resource_name}.{method_name}", c) for c in recorder.calls[before:]]
    # Optional arguments that choose another route.
    recorder.notifications.list(uuid.uuid4())
    made.append(("notifications.list(task_id)", recorder.calls[-1]))
    return made


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from torale.app import create_app
    from torale.config import Settings

    return create_app(Settings(environment="test")).openapi()


def route_of(document: dict[str, Any], call: Call) -> tuple[str, dict[str, Any]]:
    for path, item in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
        if re.match(pattern, call.path) and call.method.lower() in item:
            return path, item[call.method.lower()]
    raise AssertionError(f"{call.method} {call.path} is not a documented route")


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def alternatives(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in alternatives(arg)]
    if typing.get_origin(annotation) is typing.Literal:
        return [type(v) for v in typing.get_args(annotation)]
    return [annotation]


SCALARS: dict[tuple[str, str | None], tuple[type, ...]] = {
    ("string", None): (str,),
    ("string", "uuid"): (uuid.UUID, str),
    ("string", "date-time"): (datetime.datetime, str),
    ("integer", None): (int, float),
    ("number", None): (float,),
    ("boolean", None): (bool,),
}


def mismatches(
    document: dict[str, Any], annotation: Any, schema: dict[str, Any], where: str
) -> list[str]:
    """Why values the schema allows would not fit `annotation` (empty: compatible)."""
    schema = resolve(document, schema)
    options = alternatives(annotation)
    if Any in options:
        return []
    if "anyOf" in schema:
        problems = []
        for branch in schema["anyOf"]:
            if branch.get("type") == "null":
                if type(None) not in options:
                    problems.append(f"{where}: the schema allows null, the model does not")
            else:
                problems += mismatches(document, annotation, branch, where)
        return problems
    kind = schema.get("type")
    if kind is None:
        return []  # any JSON value: only Any fits, checked below
    if kind == "array":
        lists = [o for o in options if typing.get_origin(o) is list]
        if not lists:
            return [f"{where}: the schema has an array, the model {annotation!r}"]
        (item,) = typing.get_args(lists[0]) or (Any,)
        return mismatches(document, item, schema.get("items", {}), f"{where}[]")
    if kind == "object":
        models = [o for o in options if inspect.isclass(o) and issubclass(o, BaseModel)]
        if models:
            return model_mismatches(document, models[0], schema, where)
        if any(o is dict or typing.get_origin(o) is dict for o in options):
            return []
        return [f"{where}: the schema has an object, the model {annotation!r}"]
    accepted = SCALARS.get((kind, schema.get("format")), SCALARS.get((kind, None), ()))
    if not any(inspect.isclass(o) and issubclass(o, accepted) for o in options):
        return [f"{where}: the schema has {kind}/{schema.get('format')}, the model {annotation!r}"]
    return []


def model_mismatches(
    document: dict[str, Any], model: type[BaseModel], schema: dict[str, Any], where: str
) -> list[str]:
    schema = resolve(document, schema)
    declared = schema.get("properties", {})
    required = set(schema.get("required", []))
    problems = [
        f"{where}.{name}: declared, missing from {model.__name__}"
        for name in declared
        if name not in model.model_fields
    ]
    for name, info in model.model_fields.items():
        if name not in declared:
            problems.append(f"{where}.{name}: in {model.__name__}, not in the schema")
            continue
        problems += mismatches(document, info.annotation, declared[name], f"{where}.{name}")
        if (
            name not in required
            and type(None) not in alternatives(info.annotation)
            and Any not in alternatives(info.annotation)
        ):
            problems.append(
                f"{where}.{name}: optional in the schema, required non-null in the model"
            )
    return problems


CALLS = every_call()


@pytest.mark.parametrize(("method", "call"), CALLS, ids=[m for m, _ in CALLS])
def test_call_matches_its_route(document, method, call):
    path, operation = route_of(document, call)
    declared = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    for name in call.params or {}:
        assert ("query", name) in declared, f"{method}: query parameter {name} not documented"
    if call.idempotency_key is not None:
        assert ("header", "Idempotency-Key") in declared, f"{method}: no Idempotency-Key on {path}"
    if call.json:
        body = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
        if "anyOf" in body:
            body = resolve(document, next(b for b in body["anyOf"] if b.get("type") != "null"))
        for name in call.json:
            assert name in body["properties"], f"{method}: body field {name} not documented"
    success = min(code for code in operation["responses"] if code.startswith("2"))
    content = operation["responses"][success].get("content")
    if call.model is None:
        assert content is None, f"{method}: {path} answers with a body the client drops"
        return
    schema = content["application/json"]["schema"]
    assert mismatches(document, call.model, schema, method) == []


def test_every_route_is_reachable_from_the_client(document):
    reached = {(call.method.lower(), route_of(document, call)[0]) for _, call in CALLS}
    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    assert documented - reached - UNSERVED == set()


def test_the_drift_check_sees_drift(document):
    """A model with a renamed field or a wrong type is caught (the check is not vacuous)."""
    from torale.client.models import Model, Page

    class Drifted(Model):
        id: uuid.UUID
        email: int  # a string in the schema
        nickname: str  # not in the schema

    schema = document["paths"]["/auth/me"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    found = "\n".join(mismatches(document, Drifted, schema, "me"))
    for expected in ("me.email", "me.nickname", "me.role: declared, missing"):
        assert expected in found
    tasks = document["paths"]["/api/v1/tasks"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert mismatches(document, Page[Drifted], tasks, "tasks")
