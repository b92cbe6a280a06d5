"""`public_tasks`: the GraphQL list behind the dashboard's public tasks browser."""

from __future__ import annotations

from tests.helpers import task_body

QUERY = """query($search: String, $page: Int! = 1, $limit: Int! = 20) {
  public_tasks(search: $search, page: $page, limit: $limit) {
    total page limit items { id name search_query notifications view_count subscriber_count }
  }
}"""


async def _task(client, account, *, public: bool, **overrides) -> dict:
    body = task_body(
        is_public=public,
        notifications=[{"type": "email", "address": "owner@example.com"}],
        **overrides,
    )
    response = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _list(client, account, **variables) -> dict:
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": variables}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_lists_public_tasks_of_active_users_most_forked_first(client, make_account):
    owner, other, viewer = await make_account(), await make_account(), await make_account()
    admin = await make_account(admin=True)
    shared = await _task(client, owner, public=True, name="Shared iPhone watch")
    popular = await _task(client, other, public=True, name="Popular price watch")
    await _task(client, owner, public=False, name="Private watch")
    forked = await client.post(f"/api/v1/tasks/{popular['id']}/fork", headers=viewer.headers)
    assert forked.status_code == 201  # private by default: not listed

    page = (await _list(client, viewer))["data"]["public_tasks"]
    assert [t["id"] for t in page["items"]] == [popular["id"], shared["id"]]
    assert page["total"] == 2 and page["page"] == 1 and page["limit"] == 20
    assert page["items"][0]["subscriber_count"] == 1
    # Channels stay the owner's secret here too.
    assert all(t["notifications"] is None for t in page["items"])

    # A deactivated user's tasks leave the list (and come back with the user).
    deactivated = await client.patch(
        f"/admin/users/{other.user_id}/deactivate", headers=admin.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    page = (await _list(client, viewer))["data"]["public_tasks"]
    assert [t["id"] for t in page["items"]] == [shared["id"]]


async def test_search_matches_text_literally_and_pages(client, make_account):
    owner, viewer = await make_account(), await make_account()
    percent = await _task(
        client, owner, public=True, name="Discount 100% off", search_query="Is anything 100% off?"
    )
    await _task(client, owner, public=True, name="Discount 1000 off")
    condition = await _task(
        client, owner, public=True, condition_description="The GPU_price has dropped below $500"
    )

    found = (await _list(client, viewer, search="100%"))["data"]["public_tasks"]
    assert [t["id"] for t in found["items"]] == [percent["id"]]
    found = (await _list(client, viewer, search="gpu_PRICE"))["data"]["public_tasks"]
    assert [t["id"] for t in found["items"]] == [condition["id"]]
    assert (await _list(client, viewer, search="nothing like it"))["data"]["public_tasks"][
        "total"
    ] == 0

    second = (await _list(client, viewer, page=2, limit=2))["data"]["public_tasks"]
    assert second["total"] == 3 and len(second["items"]) == 1


async def test_needs_a_signed_in_caller_and_valid_bounds(client, make_account):
    anonymous = await client.post("/graphql", json={"query": QUERY})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    viewer = await make_account()
    bad = await _list(client, viewer, limit=101)
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION"
