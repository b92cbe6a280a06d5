"""The real schema refuses queries that would make the server do unbounded work.

Our schema has no recursive types, so the depth limit is proven on a recursive schema
in test_guards.py; here: aliases and body size on the real `/graphql`.
"""

from __future__ import annotations


async def test_hundreds_of_aliases_are_refused(client, make_account):
    account = await make_account()
    query = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(300)) + " }"
    response = await client.post("/graphql", json={"query": query}, headers=account.headers)
    errors = response.json()["errors"]
    assert any("alias" in e["message"].lower() for e in errors)
    assert response.json().get("data") is None


async def test_oversized_body_is_413(client, make_account):
    account = await make_account()
    query = "{ me { id } }" + " " * (2 * 1024 * 1024)
    response = await client.post("/graphql", json={"query": query}, headers=account.headers)
    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {"message": "Request body too large", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
        ]
    }
    # REST keeps its own shape.
    rest = await client.post("/api/v1/tasks", content=query, headers=account.headers)
    assert rest.status_code == 413 and rest.json() == {"detail": "Request body too large"}
