"""Temporal's closed set of workflow run statuses, in the contract's lower case.

Spelled out rather than derived from the SDK's `WorkflowExecutionStatus`, so that the
GraphQL schema can be built without importing the SDK (the API loads it on first
use). `tests/graphql/test_graphql_enums.py` checks the two sets stay equal.
"""

from __future__ import annotations

from enum import StrEnum


class WorkflowStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    TERMINATED = "terminated"
    CONTINUED_AS_NEW = "continued_as_new"
    TIMED_OUT = "timed_out"
