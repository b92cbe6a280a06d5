"""A route marked `@served_directly` answers every query exactly as FastAPI solving its
dependencies and reading its parameters one by one does: the same values, the same 422
errors in the same order, the same refusals of its dependencies first, the same OpenAPI
document (torale.http.direct_routes)."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from starlette.datastructures import QueryParams

from torale.http.bodies import documented
from torale.http.direct_routes import direct_handler, query_values, served_directly
from torale.http.flat_routes import add_routes_of
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody
from torale.tasks.models import TaskState

calls: list[str] = []


async def _caller(request: Request) -> str:
    calls.append(request.url.path)
    authorization = request.headers.get("authorization")
    if authorization != "Bearer ok":
        raise HTTPException(401, "no credentials")
    return authorization


router = APIRouter(prefix="/things", tags=["things"])


@router.get("", summary="List things")
@served_directly
async def list_things(
    caller: Annotated[str, Depends(_caller)],
    again: Annotated[str, Depends(_caller)],
    state: str | None = Query(
        None, json_schema_extra=documented({"enum": [s.value for s in TaskState]})
    ),
    active: bool | None = Query(None, description="true: only active tasks"),
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    assert again == caller
    return JSONBody(
        {"caller": caller, "state": state, "active": active, "page": page, "limit": limit},
        headers={"X-Thing": "1"},
    )


def _apps() -> tuple[FastAPI, FastAPI]:
    fastapi_solves = FastAPI()
    fastapi_solves.include_router(router)  # the router's own route: FastAPI's handler
    served_directly = FastAPI()
    add_routes_of(served_directly, router)
    return fastapi_solves, served_directly


QUERIES = [
    "",
    "page=2&limit=5",
    "page=0",
    "page=abc",
    "page=",
    "page=1.0",
    "page=%201",
    "page=99999999999999999999999",
    "page=1000001",
    "limit=0",
    "limit=101",
    "limit=0&page=0&active=maybe",
    "active=true",
    "active=0",
    "active=yes",
    "active=",
    "active=maybe&page=-1",
    "state=paused",
    "state=",
    "state=%00",
    "page=1&page=3",
    "page=x&page=3",
    "limit=3&limit=x",
    "unknown=1&page=4",
    "Page=4",
    "page",
    "page==3",
    "&page=4&&limit=5&",
    "state=a+b",
    "state=a%2Bb&page=%32",
    "state=caf\u00e9",
]


@pytest.mark.parametrize(
    "query",
    [
        *QUERIES,
        "a=1&a=2&b",
        "=x&a=",
        "a=%ff%fe&b=%",
        "a=%zz",
        "\u00ff=\u00fe",
        ";a=1",
    ],
)
def test_query_values_are_what_starlette_parses(query):
    raw = query.encode("latin-1")
    parsed = QueryParams(raw)
    values = query_values(raw)
    assert values.keys() == parsed.keys()
    assert all(values[name] == parsed.get(name) for name in values)


@pytest.mark.parametrize("authorization", ["Bearer ok", None])
async def test_every_query_is_answered_as_fastapi_answers_it(authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answers = []
    for app in _apps():
        calls.clear()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            responses = [await client.get(f"/things?{q}", headers=headers) for q in QUERIES]
            answers.append([(r.status_code, r.headers, r.content) for r in responses])
        assert calls == ["/things"] * len(QUERIES)  # once per request
    fastapi_answers, direct_answers = answers
    for query, expected, got in zip(QUERIES, fastapi_answers, direct_answers, strict=True):
        assert got == expected, query
    statuses = {status for status, _, _ in fastapi_answers}
    assert statuses == ({200, 422} if authorization else {401})


def test_the_document_describes_the_route_as_declared():
    fastapi_solves, served_directly = _apps()
    declared = json.dumps(fastapi_solves.openapi(), sort_keys=True)
    assert '"name": "page"' in declared
    assert json.dumps(served_directly.openapi(), sort_keys=True) == declared


def test_the_task_list_is_served_directly(settings):
    from torale.app import create_app
    from torale.tasks.rest import list_tasks

    app = create_app(settings)
    (route,) = [r for r in app.router.routes if getattr(r, "endpoint", None) is list_tasks]
    assert route.get_route_handler().__qualname__ == "direct_handler.<locals>.handle"


async def _by_id(thing_id: str, page: int = PageNumber) -> JSONBody:
    return JSONBody({})


async def _with_header(x: Annotated[str, Header()], page: int = PageNumber) -> JSONBody:
    return JSONBody({})


async def _needs_more(request: Request, page: int = 1) -> str:
    return ""


async def _with_dependency_of_more(x: Annotated[str, Depends(_needs_more)]) -> JSONBody:
    return JSONBody({})


async def _uncached(x: Annotated[str, Depends(_caller, use_cache=False)]) -> JSONBody:
    return JSONBody({})


def _not_a_coroutine(request: Request) -> str:
    return ""


async def _with_plain_dependency(x: Annotated[str, Depends(_not_a_coroutine)]) -> JSONBody:
    return JSONBody({})


@pytest.mark.parametrize(
    "endpoint",
    [_by_id, _with_header, _with_dependency_of_more, _uncached, _with_plain_dependency],
)
def test_a_route_with_an_input_fastapi_must_read_is_refused(endpoint):
    with pytest.raises(TypeError):
        direct_handler(endpoint)
