"""Persisted operations on `/graphql`: sent by SHA-256 hash, compiled at start-up."""

from __future__ import annotations

import json

from torale.graphql.persisted import document_hash, persisted_documents, persisted_hashes
from torale.graphql.schema import schema


def _apq(sha: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def test_every_shipped_document_is_registered_under_its_text_hash():
    documents = persisted_documents()
    assert documents, "the package ships persisted operations"
    for document in documents:
        assert document.sha256 == document_hash(document.text)
        assert document.sha256 in schema.persisted
    assert persisted_hashes()["TaskList"] == document_hash(
        next(d.text for d in documents if d.name == "TaskList")
    )


async def test_a_hash_runs_the_same_operation_as_its_text(client, make_account):
    account = await make_account()
    text = next(d.text for d in persisted_documents() if d.name == "TaskList")
    variables = {"page": 1, "limit": 5}
    by_text = await client.post(
        "/graphql", json={"query": text, "variables": variables}, headers=account.headers
    )
    by_hash = await client.post(
        "/graphql",
        json={"extensions": _apq(document_hash(text)), "variables": variables},
        headers=account.headers,
    )
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json() == by_text.json()
    assert by_hash.json()["data"]["tasks"]["total"] == 0
    # GET carries extensions and variables as JSON query parameters.
    by_get = await client.get(
        "/graphql",
        params={
            "extensions": json.dumps(_apq(document_hash(text))),
            "variables": json.dumps(variables),
        },
        headers=account.headers,
    )
    assert by_get.status_code == 200, by_get.text
    assert by_get.json() == by_text.json()


async def test_an_unknown_hash_is_persisted_query_not_found(client, make_account):
    account = await make_account()
    response = await client.post(
        "/graphql", json={"extensions": _apq("0" * 64)}, headers=account.headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ],
    }


async def test_a_text_that_does_not_match_its_hash_is_refused(client, make_account):
    account = await make_account()
    sha = persisted_hashes()["TaskList"]
    response = await client.post(
        "/graphql",
        json={"query": "{ me { id } }", "extensions": _apq(sha)},
        headers=account.headers,
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert response.json()["data"] is None
