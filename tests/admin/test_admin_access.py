"""Every admin endpoint refuses non-admins (REST 403, GraphQL FORBIDDEN) and bad bounds (422)."""

from __future__ import annotations

import uuid

import pytest

from tests.admin.admin_helpers import ADMIN_REQUIRED

SOME_ID = str(uuid.uuid4())
REST = [
    ("GET", "/admin/stats"),
    ("GET", "/admin/queries"),
    ("GET", "/admin/executions"),
    ("GET", "/admin/temporal/workflows"),
    ("GET", "/admin/temporal/schedules"),
    ("GET", "/admin/errors"),
    ("GET", "/admin/users"),
    ("PATCH", f"/admin/users/{SOME_ID}/deactivate"),
    ("PATCH", f"/admin/users/{SOME_ID}/activate"),
]
GRAPHQL = [
    "{ admin_stats { users { total } } }",
    "{ admin_queries { total } }",
    "{ admin_executions { total } }",
    "{ admin_temporal_workflows { total } }",
    "{ admin_temporal_schedules { total } }",
    "{ admin_errors { total } }",
    "{ admin_users { total } }",
    f'mutation {{ deactivate_user(id: "{SOME_ID}") {{ tasks_paused }} }}',
    f'mutation {{ activate_user(id: "{SOME_ID}") {{ user_id }} }}',
]


async def test_non_admins_are_refused_everywhere(client, gql, make_account):
    user = await make_account()
    for method, path in REST:
        response = await client.request(method, path, headers=user.headers)
        assert response.status_code == 403, (path, response.text)
        assert response.json() == ADMIN_REQUIRED
        anonymous = await client.request(method, path)
        assert anonymous.status_code == 401, path
    for query in GRAPHQL:
        body = await gql(query, user.headers)
        # Root queries are nullable: the refused field is null; a mutation nulls data.
        assert not any((body["data"] or {}).values()), query
        (error,) = body["errors"]
        assert error["message"] == "Admin access required"
        assert error["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/queries",
        "/admin/executions",
        "/admin/errors",
        "/admin/users",
        "/admin/temporal/workflows",
        "/admin/temporal/schedules",
    ],
)
async def test_pagination_bounds(client, admin, path):
    for query, field in (("limit=0", "limit"), ("limit=101", "limit"), ("page=0", "page")):
        response = await client.get(f"{path}?{query}", headers=admin.headers)
        assert response.status_code == 422, (path, query)
        assert response.json()["detail"][0]["loc"] == ["query", field]
    ok = await client.get(f"{path}?limit=100", headers=admin.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["limit"] == 100 and ok.json()["page"] == 1


async def test_window_and_status_bounds(client, gql, admin):
    for path in ("/admin/executions", "/admin/errors"):
        for hours in (0, 721):
            response = await client.get(f"{path}?hours={hours}", headers=admin.headers)
            assert response.status_code == 422, (path, hours)
            assert response.json()["detail"][0]["loc"] == ["query", "hours"]
    bad = await client.get("/admin/executions?status=sleeping", headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]

    # The domain layer holds the same bounds for GraphQL callers.
    for query, loc in (
        ("{ admin_executions(hours: 721) { total } }", ["query", "hours"]),
        ("{ admin_errors(hours: 0) { total } }", ["query", "hours"]),
        ("{ admin_users(limit: 101) { total } }", ["query", "limit"]),
        ("{ admin_temporal_schedules(page: 0) { total } }", ["query", "page"]),
    ):
        (error,) = (await gql(query, admin.headers))["errors"]
        assert error["extensions"]["code"] == "VALIDATION", query
        assert error["extensions"]["detail"][0]["loc"] == loc
    # `status` is an enum there: the schema itself refuses an unknown one.
    (error,) = (await gql("{ admin_executions(status: SLEEPING) { total } }", admin.headers))[
        "errors"
    ]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
