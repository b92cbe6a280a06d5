"""Fixtures for the admin tests: an admin, GraphQL calls, and rows written directly."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest


@pytest.fixture
async def admin(make_account):
    return await make_account(admin=True)


@pytest.fixture
def gql(client):
    async def run(query: str, headers: dict[str, str], **variables: Any) -> dict[str, Any]:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    return run


@pytest.fixture
def sql(database_url):
    """Run one statement on the test database (autocommit); the rows it returns."""

    def run(statement: str, *params: Any) -> list[tuple]:
        with psycopg.connect(database_url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    return run


@pytest.fixture
def add_execution(sql):
    """An execution row written as the pipeline would, aged and timed as the test says."""

    def add(
        task_id: str,
        status: str,
        *,
        age: str,
        duration_ms: int | None = None,
        error_type: str | None = None,
        notification_sent: bool = False,
    ) -> str:
        execution_id = str(uuid.uuid4())
        sql(
            """
            INSERT INTO executions (id, task_id, status, trigger, created_at, started_at,
                completed_at, error_type, error_message, notification_sent, attempt,
                grounding_sources, notification_due)
            VALUES (%s, %s, %s, 'schedule', now() - %s::interval, now() - %s::interval,
                now() - %s::interval + make_interval(secs => %s::float8 / 1000),
                %s, %s, %s, 1, '[]'::jsonb, false)
            """,
            execution_id,
            task_id,
            status,
            age,
            age,
            age,
            duration_ms,
            error_type,
            "it broke" if status == "failed" else None,
            notification_sent,
        )
        return execution_id

    return add


@pytest.fixture
def schedule_of(resources):
    async def describe(task_id: str):
        return await resources.scheduler.describe(uuid.UUID(task_id))

    return describe
