from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from standardwebhooks.webhooks import Webhook
from webhook_receiver import Receiver

from torale.net import safe_client
from torale.webhooks.sender import AttemptResult, merge_headers, parse_retry_after, send_webhook
from torale.webhooks.signing import generate_secret, headers_for

BODY = b'{"type":"test","id":"evt-1","timestamp":"2026-01-01T00:00:00Z","data":{}}'


@pytest.fixture
async def client() -> AsyncIterator:
    async with safe_client(allow_private=True) as c:
        yield c


def _signed(secret: str, msg_id: str = "evt-1") -> dict[str, str]:
    return headers_for(msg_id, int(time.time()), BODY, [secret])


async def _send(
    client,
    url: str,
    *,
    secret: str | None = None,
    msg_id: str = "evt-1",
    headers: dict[str, str] | None = None,
    timeout: float = 5,  # noqa: ASYNC109 - send_webhook's own per-attempt budget
    allow_private: bool = True,
    extra_headers: dict[str, str] | None = None,
) -> AttemptResult:
    """`send_webhook` of BODY, signed with `secret` (a new one unless given) as `msg_id`,
    or sent with `headers` as they are."""
    signed = headers if headers is not None else _signed(secret or generate_secret(), msg_id)
    return await send_webhook(
        client,
        url,
        BODY,
        signed,
        timeout=timeout,
        extra_headers=extra_headers,
        allow_private=allow_private,
    )


async def test_success_delivers_a_verifiable_signed_body(receiver: Receiver, client) -> None:
    secret = generate_secret()
    result = await _send(client, receiver.url("/ok"), secret=secret)
    assert result.outcome == "success"
    assert result.status_code == 200
    assert result.error is None
    assert result.duration_ms >= 0
    [request] = receiver.requests
    assert request.body == BODY
    assert Webhook(secret).verify(request.body, request.headers)["id"] == "evt-1"


async def test_both_secrets_verify_during_rotation(receiver: Receiver, client) -> None:
    old, new = generate_secret(), generate_secret()
    headers = headers_for("evt-rot", int(time.time()), BODY, [new, old])
    result = await _send(client, receiver.url("/ok"), headers=headers)
    assert result.outcome == "success"
    [request] = receiver.requests
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)


async def test_channel_headers_cannot_override_signature_headers(
    receiver: Receiver, client
) -> None:
    secret = generate_secret()
    extra = {
        "Webhook-Signature": "v1,forged",
        "webhook-id": "other",
        "Content-Type": "text/plain",
        "Host": "evil.example",
        "X-Api-Key": "k-123",
    }
    result = await _send(client, receiver.url("/ok"), secret=secret, extra_headers=extra)
    assert result.outcome == "success"
    headers = {k.lower(): v for k, v in receiver.requests[0].headers.items()}
    assert headers["x-api-key"] == "k-123"
    assert headers["webhook-id"] == "evt-1"
    assert headers["content-type"] == "application/json"
    assert headers["host"] == f"127.0.0.1:{receiver.port}"
    assert "forged" not in headers["webhook-signature"]
    Webhook(secret).verify(receiver.requests[0].body, headers)


def test_merge_headers_is_case_insensitive() -> None:
    merged = merge_headers({"webhook-id": "a"}, {"WEBHOOK-ID": "b", "X-Trace": "1"})
    assert merged["webhook-id"] == "a"
    assert merged["x-trace"] == "1"
    assert "WEBHOOK-ID" not in merged


async def test_server_error_is_retried(receiver: Receiver, client) -> None:
    result = await _send(client, receiver.url("/fail"))
    assert (result.outcome, result.status_code, result.error) == ("retry", 500, "HTTP 500")
    assert result.retry_after_seconds is None


async def test_flaky_receiver_same_webhook_id_until_success(receiver: Receiver, client) -> None:
    secret = generate_secret()
    outcomes = []
    for _ in range(3):
        result = await _send(client, receiver.url("/flaky"), secret=secret, msg_id="evt-stable")
        outcomes.append(result.outcome)
    assert outcomes == ["retry", "retry", "success"]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {"evt-stable"}


async def test_redirect_is_a_failure_and_not_followed(receiver: Receiver, client) -> None:
    result = await _send(client, receiver.url("/redirect"))
    assert result.outcome == "retry"
    assert result.status_code == 301
    assert "not followed" in (result.error or "")
    assert receiver.paths() == ["/redirect"]


async def test_gone_stops(receiver: Receiver, client) -> None:
    result = await _send(client, receiver.url("/gone"))
    assert (result.outcome, result.status_code) == ("gone", 410)


async def test_timeout_is_retried_and_bounded(receiver: Receiver, client) -> None:
    started = time.perf_counter()
    result = await _send(client, receiver.url("/slow"), timeout=0.3)
    assert time.perf_counter() - started < 1.5
    assert result.outcome == "retry"
    assert result.status_code is None
    assert result.error == "Timed out after 0.3s"
    assert 250 <= result.duration_ms < 1500


async def test_retry_after_seconds_is_reported(receiver: Receiver, client) -> None:
    result = await _send(client, receiver.url("/busy"))
    assert (result.outcome, result.status_code) == ("retry", 503)
    assert result.retry_after_seconds == 120


async def test_retry_after_http_date_is_reported(receiver: Receiver, client) -> None:
    result = await _send(client, receiver.url("/busy-date"))
    assert (result.outcome, result.status_code) == ("retry", 429)
    assert result.retry_after_seconds is not None
    assert 80 <= result.retry_after_seconds <= 91


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("30") == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past


async def test_connection_refused_is_retried(client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await _send(client, f"http://127.0.0.1:{port}/")
    assert result.outcome == "retry"
    assert result.status_code is None
    assert "ConnectError" in (result.error or "")


async def test_unresolvable_host_is_retried_not_refused(client) -> None:
    result = await _send(client, "http://no-such-host.invalid/hook", allow_private=False)
    assert result.outcome == "retry"
    assert "Could not resolve host no-such-host.invalid" in (result.error or "")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local address: 169.254.169.254"),
        ("http://10.0.0.1/hook", "private address: 10.0.0.1"),
        ("http://[::1]/hook", "loopback address: ::1"),
        ("ftp://example.com/hook", "URL must use http or https"),
    ],
)
async def test_ssrf_refusals_are_not_retried(url: str, message: str) -> None:
    async with safe_client(allow_private=False) as guarded:
        result = await _send(guarded, url, allow_private=False)
    assert result.outcome == "refused"
    assert message in (result.error or "")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_loopback_receiver_refused_unless_allowed(receiver: Receiver, host: str) -> None:
    url = receiver.url("/ok", host=host)
    async with safe_client(allow_private=False) as guarded:
        refused = await _send(guarded, url, allow_private=False)
    assert refused.outcome == "refused"
    assert "loopback" in (refused.error or "")
    assert receiver.requests == []

    async with safe_client(allow_private=True) as permissive:
        allowed = await _send(permissive, url)
    assert allowed.outcome == "success"
    assert receiver.paths() == ["/ok"]


async def test_concurrent_attempts_share_a_client(receiver: Receiver, client) -> None:
    secret = generate_secret()
    results = await asyncio.gather(
        *(_send(client, receiver.url("/ok"), secret=secret) for _ in range(10))
    )
    assert {r.outcome for r in results} == {"success"}
    assert len(receiver.requests) == 10


async def test_connect_time_refusal_is_reported_as_refused(receiver: Receiver) -> None:
    # The pre-check is told private is fine, but the guarded client is not: the refusal
    # then comes from the transport when connecting (the DNS-rebinding path).
    async with safe_client(allow_private=False) as guarded:
        result = await _send(guarded, receiver.url("/ok"))
    assert result.outcome == "refused"
    assert "loopback address: 127.0.0.1" in (result.error or "")
    assert receiver.requests == []
