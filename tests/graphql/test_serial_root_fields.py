"""Root fields share the request's one session: they must not race to open its connection."""

from __future__ import annotations


async def test_several_database_root_fields_after_a_cached_authentication(client, make_account):
    account = await make_account()
    # Warm the auth cache: the request below then opens no connection before its resolvers.
    assert (await client.get("/auth/me", headers=account.headers)).status_code == 200
    query = "{ tasks { total } notifications { total } api_keys { total } }"
    response = await client.post("/graphql", json={"query": query}, headers=account.headers)
    assert response.json() == {
        "data": {
            "tasks": {"total": 0},
            "notifications": {"total": 0},
            "api_keys": {"total": 1},
        }
    }
