"""A route marked `@query_read_once` answers every query exactly as FastAPI reading its
parameters one by one does: the same values, the same 422 errors in the same order, the
same refusals of its dependencies first, the same OpenAPI document
(torale.http.query_once)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query
from fastapi.openapi.utils import get_openapi

from torale.http.bodies import documented
from torale.http.flat_routes import add_routes_of, documented_route
from torale.http.params import PageLimit, PageNumber
from torale.http.query_once import query_read_once, reading_endpoint
from torale.tasks.models import TaskState


def _caller(authorization: Annotated[str | None, Header()] = None) -> str:
    if authorization != "Bearer ok":
        raise HTTPException(401, "no credentials")
    return authorization


router = APIRouter(prefix="/things", tags=["things"])


@router.get("", summary="List things")
@query_read_once
async def list_things(
    caller: Annotated[str, Depends(_caller)],
    state: str | None = Query(
        None, json_schema_extra=documented({"enum": [s.value for s in TaskState]})
    ),
    active: bool | None = Query(None, description="true: only active tasks"),
    page: int = PageNumber,
    limit: int = PageLimit,
) -> dict[str, Any]:
    return {"caller": caller, "state": state, "active": active, "page": page, "limit": limit}


def _apps() -> tuple[FastAPI, FastAPI]:
    fastapi_reads = FastAPI()
    fastapi_reads.include_router(router)  # FastAPI reads each parameter
    read_once = FastAPI()
    add_routes_of(read_once, router)
    return fastapi_reads, read_once


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
]


@pytest.mark.parametrize("authorization", ["Bearer ok", None])
async def test_every_query_is_answered_as_fastapi_answers_it(authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answers = []
    for app in _apps():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            answers.append(
                [
                    (r.status_code, r.json())
                    for r in [await client.get(f"/things?{q}", headers=headers) for q in QUERIES]
                ]
            )
    fastapi_answers, read_once_answers = answers
    for query, expected, got in zip(QUERIES, fastapi_answers, read_once_answers, strict=True):
        assert got == expected, query
    statuses = {status for status, _ in fastapi_answers}
    assert statuses == ({200, 422} if authorization else {401})


def test_the_document_describes_the_route_as_declared():
    fastapi_reads, read_once = _apps()

    def document(routes: list[Any]) -> str:
        return json.dumps(get_openapi(title="t", version="1", routes=routes), sort_keys=True)

    declared = document(fastapi_reads.routes)
    assert '"name": "page"' in declared
    assert document([documented_route(r) for r in read_once.routes]) == declared


def test_fastapi_reads_no_query_parameter_of_the_task_list(settings):
    from torale.app import create_app

    app = create_app(settings)
    (route,) = [
        r
        for r in app.router.routes
        if getattr(r, "path", None) == "/api/v1/tasks" and "GET" in getattr(r, "methods", ())
    ]
    assert route.dependant.query_params == []
    assert [p.name for p in documented_route(route).dependant.query_params] == [
        "state",
        "active",
        "page",
        "limit",
    ]


def test_a_route_with_an_input_fastapi_must_read_is_refused():
    async def by_id(thing_id: str, page: int = PageNumber) -> None:
        pass

    with pytest.raises(TypeError, match="thing_id"):
        reading_endpoint(by_id)
