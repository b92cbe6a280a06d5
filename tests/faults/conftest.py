"""Fixtures the fault modules share with the execution and fan-out tests: the stand-in
LLM and SearXNG peers, a whole execution stack, and a session factory."""

from tests.executions.conftest import llm, make_stack, searx  # noqa: F401
from tests.webhooks.fanout_fixtures import db  # noqa: F401
