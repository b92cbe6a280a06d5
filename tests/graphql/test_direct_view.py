"""`/graphql` is answered without FastAPI's dependency solving, exactly as FastAPI's own
handler for Strawberry's routes answers it (torale.graphql.direct_view): the same
status, headers and body for answers, refusals and errors."""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import strawberry
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from strawberry.fastapi import BaseContext

from tests.helpers import asgi_client, running_app, task_body
from torale.app import graphql_router
from torale.graphql.direct_view import DirectGraphQLRouter
from torale.graphql.persisted import document_hash, persisted_documents
from torale.graphql.schema import schema_for
from torale.http.deps import graphql_context
from torale.input_limits import MAX_DOCUMENT_NESTING

TASK_PAGE = "{ tasks(limit: 20) { total items { id name state created_at } } }"


def _apq(text: str) -> str:
    return json.dumps({"persistedQuery": {"version": 1, "sha256Hash": document_hash(text)}})


def _requests() -> list[tuple[str, dict[str, Any], bool]]:
    """(method, httpx options, authenticated) for a spread of answers and refusals."""
    task_list = next(d.text for d in persisted_documents() if d.name == "TaskList")
    deep = "{ me " + "{ id " * (MAX_DOCUMENT_NESTING + 1) + "}" * (MAX_DOCUMENT_NESTING + 2)
    post = "POST"
    page = {"page": 1, "limit": 5}
    return [
        ("GET", {"params": {"query": TASK_PAGE}}, True),
        (post, {"json": {"query": TASK_PAGE}}, True),
        (post, {"json": {"query": "{ me { email role } }"}}, True),
        (post, {"json": {"query": "{ me { email } }"}}, False),  # UNAUTHENTICATED
        (
            post,
            {"json": {"query": "{ me { email } }"}, "headers": {"Authorization": "Bearer x"}},
            False,
        ),
        (post, {"json": {"query": "{ nope }"}}, True),  # validation error
        (post, {"json": [{"query": "{ me { role } }"}, {"query": "{ __typename }"}]}, True),
        (post, {"json": {"extensions": json.loads(_apq(task_list)), "variables": page}}, True),
        ("GET", {"params": {"extensions": _apq(task_list), "variables": json.dumps(page)}}, True),
        ("GET", {"params": {"extensions": _apq(task_list), "variables": "{}"}}, True),
        ("GET", {"params": {"extensions": _apq("unknown")}}, True),
        ("GET", {"params": {"query": "mutation { delete_task(id: 1) }"}}, True),  # GET mutation
        ("GET", {"params": {"query": "{ __typename }", "operationName": "Nope"}}, True),
        ("GET", {"headers": {"Accept": "application/json"}}, True),  # no query
        ("GET", {}, True),  # GraphiQL (a browser's */*)
        ("GET", {"headers": {"Accept": "text/html"}}, False),  # GraphiQL
        (post, {"json": {}}, True),  # no query
        (post, {"json": {"query": 3}}, True),
        (post, {"json": {"query": "{ __typename }", "variables": []}}, True),
        (post, {"json": []}, True),
        (post, {"json": [1]}, True),
        (post, {"json": "x"}, True),
        (post, {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, True),
        (
            post,
            {"content": b'{"query": "\xff"}', "headers": {"Content-Type": "application/json"}},
            True,
        ),
        (post, {"content": b"[" * 5000, "headers": {"Content-Type": "application/json"}}, True),
        (post, {"content": b"query", "headers": {"Content-Type": "text/plain"}}, True),
        (post, {"json": {"query": deep}}, True),
        (post, {"json": [{"query": "{ __typename }"}] * 11}, True),  # too many batched
        (post, {"json": {"query": "{ me { role } }", "pad": "x" * 2_000_000}}, True),  # too big
        ("PUT", {"json": {"query": "{ __typename }"}}, True),
        # The fourth call without a credential from the address: over its 3/minute.
        (post, {"json": {"query": "{ __typename }"}}, False),
        (post, {"json": {"query": "{ __typename }"}}, False),
    ]


# Window timing, computed by the limiter when the request is counted.
_TIMED = ("x-ratelimit-reset", "retry-after")


def _answer(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, "<timed>" if k in _TIMED else v) for k, v in response.headers.multi_items()]
    return (
        response.status_code,
        headers,
        re.sub(rb'"retry_after":\d+', b"<timed>", response.content),
    )


@asynccontextmanager
async def _reference(settings: Any, **overrides: Any) -> AsyncIterator[Any]:
    """The app with `/graphql` answered by FastAPI's own handler for Strawberry's routes
    (its dependencies solved for every request): the same router with FastAPI's
    `APIRoute`, matched ahead of the app's own."""
    async with running_app(settings, **overrides) as app:
        app.include_router(
            graphql_router(
                schema_for(app.state.resources.settings), settings, route_class=APIRoute
            ),
            prefix="/graphql",
            include_in_schema=False,
        )
        app.router.routes.insert(0, app.router.routes.pop())
        yield app


async def _forget_counts(app: Any, account: Any, address: str) -> None:
    """Counters and cached credentials as before the other app's turn, so both see the
    same windows and the same cache misses."""
    from sqlalchemy import text

    from torale.auth.cache import EPOCH_KEY

    res = app.state.resources
    async with res.session_factory() as session:
        key_id = (
            await session.execute(
                text("SELECT id FROM api_keys WHERE user_id = :u"), {"u": account.user_id}
            )
        ).scalar_one()
    keys = [
        *res.rate_limiter.keys_for(f"key:{key_id}"),
        *res.anonymous_graphql_limiter.keys_for(f"addr:{address}"),
    ]
    await res.redis.delete(*keys)
    await res.redis.incr(EPOCH_KEY)


async def _answers(app: Any, account: Any, address: str) -> list[Any]:
    await _forget_counts(app, account, address)
    answers = []
    async with asgi_client(app, client=(address, 40000)) as client:
        for method, options, authenticated in _requests():
            if authenticated:
                options = {**options, "headers": {**account.headers, **options.get("headers", {})}}
            answers.append(_answer(await client.request(method, "/graphql", **options)))
    return answers


async def test_every_request_is_answered_as_fastapi_answers_it(settings, make_account):
    account = await make_account()
    address = "10." + ".".join(str(random.randrange(256)) for _ in range(3))
    limits = {"graphql_anonymous_rate_limits": "3/minute"}
    async with _reference(settings, **limits) as reference:
        async with asgi_client(reference) as client:
            for n in range(3):
                body = task_body(name=f"task {n}")
                created = await client.post("/api/v1/tasks", json=body, headers=account.headers)
                assert created.status_code == 201, created.text
        expected = await _answers(reference, account, address)
    async with running_app(settings, **limits) as app:
        got = await _answers(app, account, address)
    for request, want, have in zip(_requests(), expected, got, strict=True):
        assert have == want, request
    assert {status for status, _, _ in expected} == {200, 400, 405, 413, 429}
    assert b'"total":3' in expected[0][2]


async def test_fastapi_solves_no_dependency_of_graphql(settings, make_account):
    """FastAPI's dependency overrides apply where FastAPI solves dependencies: the
    reference app takes the override, the app's own `/graphql` never asks for it."""
    account = await make_account()
    solved: list[str] = []

    async def recorded(request: Request) -> Any:
        solved.append(request.method)
        return await graphql_context(request)

    for serving, solving in ((_reference(settings), ["GET", "POST"]), (running_app(settings), [])):
        solved.clear()
        async with serving as app:
            app.dependency_overrides[graphql_context] = recorded
            async with asgi_client(app) as client:
                query = {"query": "{ me { role } }"}
                get = await client.get("/graphql", params=query, headers=account.headers)
                post = await client.post("/graphql", json=query, headers=account.headers)
        assert get.json() == post.json() == {"data": {"me": {"role": "USER"}}}
        assert solved == solving


# A resolver's hold on the answer: the sub-response's status and headers, and tasks
# run once the answer is sent, as Strawberry's FastAPI integration documents them.
ran: list[str] = []


@strawberry.type
class _Query:
    @strawberry.field
    def hello(self, info: strawberry.Info) -> str:
        info.context.response.headers["X-Hello"] = "1"
        info.context.response.status_code = 202
        info.context.background_tasks.add_task(ran.append, info.context.request.method)
        return "hi"


async def _plain_context(request: Request) -> BaseContext:
    return BaseContext()


def _hello_app(**options: Any) -> FastAPI:
    app = FastAPI()
    router = DirectGraphQLRouter(
        strawberry.Schema(_Query), context_getter=_plain_context, **options
    )
    app.include_router(router, prefix="/graphql")
    return app


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_resolver_sets_status_headers_and_tasks_as_with_fastapi(method):
    answers = []
    for app in (_hello_app(route_class=APIRoute), _hello_app()):
        ran.clear()
        async with asgi_client(app) as client:
            query = {"query": "{ hello }"}
            if method == "GET":
                response = await client.get("/graphql", params=query)
            else:
                response = await client.post("/graphql", json=query)
        assert ran == [method]
        answers.append(_answer(response))
    expected, got = answers
    assert got == expected
    status, headers, body = got
    assert (status, ("x-hello", "1") in headers, body) == (202, True, b'{"data":{"hello":"hi"}}')


async def _needs_nothing() -> None:
    return None


def test_what_fastapi_would_have_to_solve_is_refused():
    with pytest.raises(TypeError):
        _hello_app(root_value_getter=_needs_nothing)
    with pytest.raises(TypeError):
        _hello_app(dependencies=[Depends(_needs_nothing)])
