"""Plain helpers shared by test modules (fixtures live in conftest files)."""

from __future__ import annotations


def task_body(**overrides):
    """A valid task creation body, with fields replaced as given."""
    body = {
        "search_query": "When is the next iPhone being released?",
        "condition_description": "Apple has announced a specific release date",
        "schedule": "0 9 * * *",
    }
    body.update(overrides)
    return body
