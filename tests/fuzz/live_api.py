"""The API as a real process on a real socket, started as infra/Dockerfile starts it
(`python -OO -m torale api`), for fuzzing.

It talks to the session's PostgreSQL, Redis and Temporal. Its LLM and SearXNG are a
local scripted peer, so preview and suggest answer instead of 503 "not configured",
and private addresses are allowed because every URL a fuzzer writes is pointed at
that same peer first (see `keep_on_loopback`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.deployment import deployed_api
from tests.monitoring.monitoring_peer import Reply, ScriptedServer, chat_json

CHAT = "/v1/chat/completions"
# One reply that is both a valid evaluation and a valid task suggestion.
LLM_ANSWER = {
    "condition_met": False,
    "answer": "Nothing announced yet.",
    "reasoning": "The sources only mention rumours.",
    "current_state": None,
    "name": "iPhone release",
    "search_query": "When is the next iPhone being released?",
    "condition_description": "Apple has announced a specific release date",
    "schedule": "0 9 * * *",
    "notify_behavior": "once",
}
TORALE = (sys.executable, "-m", "torale")
HOOK_URL_VARIABLE = "TORALE_FUZZ_HOOK_URL"
OWN_KEY_VARIABLE = "TORALE_FUZZ_OWN_KEY_ID"
_URL = re.compile(r"https?://[^\s\"'\\]*", re.IGNORECASE)


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    peer: ScriptedServer
    env: dict[str, str]
    data_dir: Path

    @property
    def hook_url(self) -> str:
        return f"{self.peer.url}/hook"

    def admin_key(self, email: str = "fuzz@example.com") -> str:
        """A new admin user's API key, made by `torale users create` (tests empty the
        tables after each test, so each test makes its own)."""
        return subprocess.run(
            [
                *TORALE,
                "users",
                "create",
                "--email",
                email,
                "--admin",
                "--data-dir",
                str(self.data_dir),
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()


def keep_on_loopback(value: Any, hook_url: str) -> Any:
    """`value` with every http(s) URL in it aimed at `hook_url`."""
    if isinstance(value, str):
        return _URL.sub(hook_url, value)
    if isinstance(value, dict):
        return {k: keep_on_loopback(v, hook_url) for k, v in value.items()}
    if isinstance(value, list):
        return [keep_on_loopback(v, hook_url) for v in value]
    return value


def _environment(settings: Any, peer: ScriptedServer) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TORALE_ENVIRONMENT": "test",
        "TORALE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "TORALE_LLM_BASE_URL": f"{peer.url}/v1",
        "TORALE_LLM_MODEL": "test-model",
        "TORALE_LLM_API_KEY": "sk-test",
        "TORALE_SEARXNG_URL": peer.url,
        "TORALE_ALLOW_PRIVATE_URLS": "true",
        # The fuzzer sends thousands of requests with one key: limits are not under test.
        "TORALE_RATE_LIMITS": "1000000/minute",
        "TORALE_API_KEY_CREATION_RATE_LIMITS": "1000000/minute",
        "TORALE_WEBHOOK_TIMEOUT_SECONDS": "2",
    }


@contextmanager
def live_api(settings: Any, data_dir: Path) -> Iterator[LiveApi]:
    peer = ScriptedServer()
    peer.script("POST", CHAT, chat_json(LLM_ANSWER))
    peer.script("GET", "/search", Reply(body={"results": []}))
    peer.script("POST", "/hook", Reply(204))
    env = _environment(settings, peer)
    try:
        # As the image starts it (`python -OO`): the fuzzers exercise the API as deployed.
        with deployed_api(env, data_dir) as base_url:
            yield LiveApi(base_url=base_url, peer=peer, env=env, data_dir=data_dir)
    finally:
        peer.close()
