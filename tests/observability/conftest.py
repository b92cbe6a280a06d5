"""The execution stack's fixtures (LLM and SearXNG peers, API + worker) for these tests."""

from tests.executions.conftest import llm, make_stack, searx  # noqa: F401
