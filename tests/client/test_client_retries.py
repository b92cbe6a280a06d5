"""Retries, timeouts and headers, against a local HTTP server that answers 429 and 503
with Retry-After (tests/monitoring/monitoring_peer.ScriptedServer)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.monitoring.monitoring_peer import Reply, ScriptedServer
from torale.client import (
    APIConnectionError,
    APITimeoutError,
    AsyncTorale,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    Torale,
)

ME = {
    "id": str(uuid.uuid4()),
    "email": "me@example.com",
    "clerk_user_id": None,
    "role": "user",
    "state": "active",
    "created_at": "2026-12-01T00:00:00Z",
}
SECRET = {
    "secret": "whsec_" + "A" * 43,
    "previous_valid_until": None,
    "created_at": "2026-12-01T00:00:00Z",
    "rotated_at": None,
}
LIMITED = Reply(429, {"detail": "Rate limit exceeded", "retry_after": 1}, {"Retry-After": "1"})
DOWN = Reply(503, {"detail": "Temporal is unavailable"}, {"Retry-After": "0"})


@pytest.fixture
def peer() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


def client_for(peer: ScriptedServer, **options) -> Torale:
    return Torale(api_key="sk_test", base_url=peer.url, **options)


def test_get_waits_out_429_and_503_as_retry_after_says(peer):
    peer.script("GET", "/auth/me", LIMITED, DOWN, Reply(body=ME))
    started = time.monotonic()
    with client_for(peer) as client:
        me = client.users.me()
    assert me.email == "me@example.com"
    assert len(peer.requests_to("/auth/me")) == 3
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured


def test_a_post_without_idempotency_key_is_not_retried(peer):
    peer.script("POST", "/api/v1/webhooks/secret/rotate", DOWN, Reply(body=SECRET))
    with client_for(peer) as client, pytest.raises(ServiceUnavailableError, match="Temporal"):
        client.webhooks.rotate()
    assert len(peer.requests_to("/api/v1/webhooks/secret/rotate")) == 1


def test_a_create_is_retried_with_the_same_idempotency_key(peer):
    created = {
        "id": str(uuid.uuid4()),
        "key": "sk_x",
        "key_prefix": "sk_...x",
        "name": "ci",
        "created_at": "2026-12-01T00:00:00Z",
    }
    peer.script("POST", "/auth/api-keys", DOWN, Reply(201, created))
    with client_for(peer) as client:
        assert client.api_keys.create("ci").name == "ci"
    first, second = peer.requests_to("/auth/api-keys")
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.headers["idempotency-key"].startswith("torale-py-")


def test_retries_stop_after_max_retries(peer):
    peer.script(
        "GET",
        "/auth/me",
        Reply(429, {"detail": "Rate limit exceeded", "retry_after": 0}, {"Retry-After": "0"}),
    )
    with client_for(peer, max_retries=2) as client, pytest.raises(RateLimitError) as limited:
        client.users.me()
    assert limited.value.retry_after == 0
    assert len(peer.requests_to("/auth/me")) == 3


def test_a_wait_longer_than_max_retry_delay_is_raised_at_once(peer):
    peer.script(
        "GET",
        "/auth/me",
        Reply(429, {"detail": "Rate limit exceeded", "retry_after": 3600}, {"Retry-After": "3600"}),
    )
    with client_for(peer) as client, pytest.raises(RateLimitError) as limited:
        client.users.me()
    assert limited.value.retry_after == 3600
    assert len(peer.requests_to("/auth/me")) == 1


def test_other_errors_are_not_retried(peer):
    peer.script("GET", "/auth/me", Reply(500, {"detail": "Internal server error"}))
    with client_for(peer) as client, pytest.raises(ServerError):
        client.users.me()
    assert len(peer.requests_to("/auth/me")) == 1


def test_connection_errors_are_retried_then_raised():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        started = time.monotonic()
        client = Torale(api_key="sk_test", base_url=url, max_retries=1)
        with client, pytest.raises(APIConnectionError, match="cannot reach the API"):
            client.users.me()
    assert time.monotonic() - started >= 0.25  # one backoff (0.25-0.5 s) before the retry


def test_timeouts_user_agent_and_credentials(peer):
    peer.script("GET", "/auth/me", Reply(body=ME, delay=1.0))
    with client_for(peer, timeout=0.2, max_retries=0) as client, pytest.raises(APITimeoutError):
        client.users.me()
    peer.script("GET", "/auth/me", Reply(body=ME))
    with client_for(peer, user_agent="nightly-report/2.1") as client:
        client.users.me()
    sent = peer.requests_to("/auth/me")[-1].headers
    assert sent["user-agent"] == "nightly-report/2.1"
    assert sent["authorization"] == "Bearer sk_test"


async def test_the_async_client_retries_too(peer):
    peer.script("GET", "/auth/me", DOWN, Reply(body=ME))
    async with AsyncTorale(api_key="sk_test", base_url=peer.url) as client:
        assert (await client.users.me()).email == "me@example.com"
    assert len(peer.requests_to("/auth/me")) == 2
