"""Real REST answers conform to the response schemas the OpenAPI document gives for them.

The schemas are derived from each route's GraphQL operation; this checks the derivation
against what the handlers actually send, key by key, including that no undocumented
key appears.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.helpers import task_body


def _violations(value: Any, schema: dict[str, Any], components: dict[str, Any], at: str = "$"):
    if "$ref" in schema:
        return _violations(value, components[schema["$ref"].rsplit("/", 1)[1]], components, at)
    if "anyOf" in schema:
        options = [_violations(value, option, components, at) for option in schema["anyOf"]]
        return [] if any(not found for found in options) else options[0]
    kind = schema.get("type")
    if kind is None:
        return []  # any JSON value
    if kind == "null":
        return [] if value is None else [f"{at}: expected null"]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{at}: expected an object"]
        found = [f"{at}.{key}: missing" for key in schema["required"] if key not in value]
        found += [f"{at}.{key}: undocumented" for key in value if key not in schema["properties"]]
        for key, item in value.items():
            if key in schema["properties"]:
                found += _violations(item, schema["properties"][key], components, f"{at}.{key}")
        return found
    if kind == "array":
        if not isinstance(value, list):
            return [f"{at}: expected an array"]
        return [
            v
            for i, item in enumerate(value)
            for v in _violations(item, schema["items"], components, f"{at}[{i}]")
        ]
    expected = {"string": str, "integer": int, "number": (int, float), "boolean": bool}[kind]
    if not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool)):
        return [f"{at}: expected {kind}, got {value!r}"]
    if schema.get("format") == "uuid":
        uuid.UUID(value)
    if schema.get("format") == "date-time":
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return []


class Documented:
    def __init__(self, document: dict[str, Any]) -> None:
        self.paths = document["paths"]
        self.components = document["components"]["schemas"]
        self.checked: set[tuple[str, str]] = set()

    def check(self, response) -> None:
        method = response.request.method.lower()
        path = response.request.url.path
        for template, item in self.paths.items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method in item:
                route = item[method]
                break
        else:
            raise AssertionError(f"{method} {path} is not in the OpenAPI document")
        status = str(response.status_code)
        assert status in route["responses"], f"{method} {path} answered undocumented {status}"
        schema = route["responses"][status]["content"]["application/json"]["schema"]
        assert _violations(response.json(), schema, self.components) == [], (method, path)
        self.checked.add((method, template))


@pytest.fixture
async def documented(client) -> Documented:
    return Documented((await client.get("/openapi.json")).json())


async def test_user_and_task_answers_match_their_schemas(client, make_account, documented):
    account = await make_account()
    h = account.headers
    documented.check(await client.get("/auth/me", headers=h))
    created_key = await client.post("/auth/api-keys", json={"name": "docs"}, headers=h)
    documented.check(created_key)
    documented.check(await client.get("/auth/api-keys", headers=h))
    documented.check(await client.delete(f"/auth/api-keys/{created_key.json()['id']}", headers=h))

    created = await client.post("/api/v1/tasks", json=task_body(), headers=h)
    documented.check(created)
    task_id = created.json()["id"]
    documented.check(await client.get("/api/v1/tasks", headers=h))
    documented.check(await client.get(f"/api/v1/tasks/{task_id}", headers=h))
    documented.check(
        await client.put(f"/api/v1/tasks/{task_id}", json={"name": "renamed"}, headers=h)
    )
    documented.check(
        await client.patch(
            f"/api/v1/tasks/{task_id}/visibility", json={"is_public": True}, headers=h
        )
    )
    other = await make_account()
    # Someone else's view of a public task: the channels are left out.
    documented.check(await client.get(f"/api/v1/tasks/{task_id}", headers=other.headers))
    documented.check(await client.post(f"/api/v1/tasks/{task_id}/fork", json={}, headers=h))
    documented.check(await client.get(f"/api/v1/tasks/{task_id}/executions", headers=h))
    documented.check(await client.get("/api/v1/notifications", headers=h))
    documented.check(await client.get(f"/api/v1/tasks/{task_id}/notifications", headers=h))
    documented.check(await client.get("/api/v1/webhooks/secret", headers=h))
    documented.check(await client.post("/api/v1/webhooks/secret/rotate", headers=h))
    documented.check(await client.get(f"/api/v1/tasks/{task_id}/webhook-deliveries", headers=h))
    assert len(documented.checked) == 16


async def test_admin_answers_match_their_schemas(client, make_account, documented):
    admin = await make_account(admin=True)
    user = await make_account()
    await client.post("/api/v1/tasks", json=task_body(), headers=user.headers)
    h = admin.headers
    for path in ("/admin/stats", "/admin/queries", "/admin/executions", "/admin/errors"):
        documented.check(await client.get(path, headers=h))
    documented.check(await client.get("/admin/users", headers=h))
    documented.check(await client.patch(f"/admin/users/{user.user_id}/deactivate", headers=h))
    documented.check(await client.patch(f"/admin/users/{user.user_id}/activate", headers=h))
    assert len(documented.checked) == 7


async def test_every_route_that_runs_an_operation_documents_its_answer(documented):
    for template, item in documented.paths.items():
        for method, route in item.items():
            if "x-graphql-operation" not in route:
                continue
            success = min(code for code in route["responses"] if code.startswith("2"))
            if success == "204":
                assert "content" not in route["responses"][success], (method, template)
                continue
            content = route["responses"][success].get("content", {})
            # JSON answers are described by their operation; a document in another
            # format (a feed) by the route itself.
            media = "application/json" if "application/json" in content else next(iter(content))
            assert "schema" in content.get(media, {}), (method, template)
