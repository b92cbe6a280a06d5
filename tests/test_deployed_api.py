"""The API as the image runs it (infra/Dockerfile's CMD, `python -OO -m torale api`):
serving without docstrings changes nothing a client sees.

-OO strips docstrings (and asserts), ~6 MiB of idle RSS. FastAPI would take a route's
description from its endpoint's docstring, pydantic a model's; ours are all declared,
so the document and the schema must come out the same. A docstring that slips into
either makes this test fail."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
from graphql import build_client_schema, get_introspection_query, print_schema

from tests.deployment import deployed_api, deployed_api_argv
from torale.app import create_app
from torale.graphql.schema import schema


def test_the_deployed_api_serves_the_same_openapi_document_and_graphql_schema(
    settings, tmp_path: Path
):
    argv = deployed_api_argv()
    assert "-OO" in argv  # what this test is about; test_compose pins the image's command
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TORALE_ENVIRONMENT": settings.environment,
        "TORALE_SECRET_KEY": settings.secret_key.get_secret_value(),
    }
    with deployed_api(env, tmp_path) as base:
        served = httpx.get(f"{base}/openapi.json", timeout=10).json()
        introspection = httpx.post(
            f"{base}/graphql", json={"query": get_introspection_query()}, timeout=10
        ).json()

    # The same document as this (docstring-keeping) interpreter's app builds.
    expected = create_app(settings).openapi()
    assert json.dumps(served, sort_keys=True) == json.dumps(expected, sort_keys=True)
    # Descriptions included: the schema this interpreter builds, read the same way.
    assert print_schema(build_client_schema(introspection["data"])) == print_schema(
        build_client_schema(schema.introspect())
    )
