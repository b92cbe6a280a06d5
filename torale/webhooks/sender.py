"""One HTTP attempt of a webhook delivery, classified for the retry logic.

Never raises for network trouble: every outcome is an AttemptResult the caller records.
The client should come from `torale.net.safe_client(allow_private=...)` so that the
SSRF guard is enforced again when the connection is opened (DNS rebinding); the
pre-flight `check_url` here gives the readable refusal message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from torale.net.ssrf import UnresolvableHost, UnsafeURL, check_url
from torale.webhooks.signing import SIGNATURE_HEADERS

Outcome = Literal["success", "retry", "gone", "refused"]

USER_AGENT = "Torale-Webhooks/1.0"
# Read at most this much of a response so keep-alive can reuse the connection without
# letting a receiver stream an unbounded body at us.
_MAX_RESPONSE_BYTES = 64 * 1024
# Headers the HTTP layer owns; a user-configured value would corrupt the request.
_RESERVED_HEADERS = frozenset({"content-length", "host", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after_seconds: float | None = None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(delta, 0.0)


def merge_headers(
    signature_headers: Mapping[str, str], extra_headers: Mapping[str, str] | None
) -> dict[str, str]:
    """User channel headers first, then the signature headers, which always win."""
    protected = {name.lower() for name in signature_headers} | set(SIGNATURE_HEADERS)
    merged: dict[str, str] = {"user-agent": USER_AGENT}
    for name, value in (extra_headers or {}).items():
        lowered = name.lower()
        if lowered in protected or lowered in _RESERVED_HEADERS:
            continue
        merged[lowered] = value
    merged.update({name.lower(): value for name, value in signature_headers.items()})
    return merged


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def _drain(response: httpx.Response) -> None:
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > _MAX_RESPONSE_BYTES:
            break


def _classify(response: httpx.Response, duration_ms: int) -> AttemptResult:
    status = response.status_code
    if 200 <= status < 300:
        return AttemptResult("success", status, None, duration_ms)
    if status == 410:
        return AttemptResult(
            "gone", status, "HTTP 410 Gone: endpoint removed, no more retries", duration_ms
        )
    if 300 <= status < 400:
        location = response.headers.get("location")
        target = f" to {location}" if location else ""
        error = f"HTTP {status}: redirect{target} not followed"
    else:
        error = f"HTTP {status}"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return AttemptResult("retry", status, error, duration_ms, retry_after)


async def send_webhook(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,  # noqa: ASYNC109 - per-attempt budget, enforced below
    extra_headers: Mapping[str, str] | None = None,
    allow_private: bool,
) -> AttemptResult:
    """POST `body` to `url` once. `headers` are the signature headers (headers_for)."""
    started = time.perf_counter()
    request_headers = merge_headers(headers, extra_headers)
    try:
        # httpx's timeout bounds each phase; the outer one bounds the whole attempt
        # (DNS included) so a receiver trickling bytes cannot hold a worker indefinitely.
        async with asyncio.timeout(timeout):
            await check_url(url, allow_private=allow_private)
            async with client.stream(
                "POST",
                url,
                content=body,
                headers=request_headers,
                timeout=timeout,
                follow_redirects=False,
            ) as response:
                await _drain(response)
    except UnresolvableHost as exc:
        return AttemptResult("retry", None, str(exc), _elapsed_ms(started))
    except UnsafeURL as exc:  # from the pre-check, or from the transport at connect time
        return AttemptResult("refused", None, str(exc), _elapsed_ms(started))
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult("retry", None, f"Timed out after {timeout:g}s", _elapsed_ms(started))
    except (httpx.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return AttemptResult("retry", None, error, _elapsed_ms(started))
    return _classify(response, _elapsed_ms(started))
