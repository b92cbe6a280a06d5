"""`Idempotency-Key` on POST creates, after Stripe's convention.

A route opts in with one keyword argument, `dependencies=[Idempotent]` (a create's
`**creates(...)` includes it), which also documents the header in OpenAPI. A client that
sends the header gets, for the same key:

- the same body (method, path and JSON body): the first answer again (status and body),
  with `Idempotent-Replayed: true`; nothing runs a second time;
- a different body: 422 with `loc: ["header", "Idempotency-Key"]`;
- while the first request still runs: the duplicate waits (up to
  `idempotency_wait_seconds`) for the first answer and replays it, or gets 409 when it
  does not come in time. So exactly one resource is created however many copies race.

Keys live in Redis for `idempotency_ttl_seconds` (24 h), namespaced per user, so every
API replica sees them. Only successful (2xx) answers are kept: an error means nothing was
changed (SPEC §3), so a retry with the same key runs again instead of replaying a 503.
Kept answers are sealed with TORALE_SECRET_KEY (the webhook secrets' AES-GCM box, bound
to the user): an API key's creation answer must not sit readable in Redis for a day.

Two halves, because a FastAPI dependency cannot see the response: the dependency claims
the key (it runs after authentication, so it knows the user), and `IdempotencyMiddleware`
records what the route answered, or releases the claim when it failed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from redis.exceptions import RedisError
from starlette.responses import Response

from torale.errors import Conflict, Unavailable, ValidationFailed
from torale.http.deps import RestCall
from torale.http.openapi import runs
from torale.secret_box import SecretBox, SecretUnreadable

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
_NAMESPACE = "torale:idempotency"
_SCOPE_KEY = "torale.idempotency"
_RAW_HEADER = HEADER.lower().encode()
_LOC = ["header", HEADER]
_POLL_SECONDS = 0.05

# Store the answer only if the claim is still ours (it may have expired and been taken).
_FINISH = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['token'] == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['token'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class IdempotentReplay(Exception):
    """Raised by the dependency to answer with the stored first response."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__("replay")
        self.record = record


@dataclass
class _Claim:
    redis: Any
    key: str
    user_id: uuid.UUID
    box: SecretBox
    token: str
    fingerprint: str
    ttl_seconds: int


def _fingerprint(request: Request, body: bytes) -> str:
    """What "the same request" means: method, path and the JSON body's content (key order
    and whitespace do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("latin-1")
    text = f"{request.method} {request.url.path}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable() or not key.isascii():
        raise ValidationFailed.field(
            _LOC, f"Idempotency-Key must be 1-{KEY_MAX_LENGTH} printable ASCII characters"
        )


def _mismatch() -> ValidationFailed:
    return ValidationFailed.field(
        _LOC,
        "This Idempotency-Key was already used with a different request; "
        "use a new key for a new request",
        "idempotency_key_reused",
    )


async def claim_idempotency_key(
    request: Request,
    call: RestCall,
    idempotency_key: str | None = Header(
        None,
        alias=HEADER,
        max_length=KEY_MAX_LENGTH,
        # Printable ASCII only, as checked below (documented for clients and fuzzers).
        json_schema_extra={"minLength": 1, "not": {"pattern": "[^ -~]"}},
        description=(
            "Makes a retry safe: the same key with the same body within 24 h replays the "
            "first answer (header `Idempotent-Replayed: true`) instead of creating again; "
            "the same key with a different body is 422; a duplicate sent while the first "
            "is still running waits for its answer, or gets 409."
        ),
    ),
) -> None:
    if idempotency_key is None:
        return
    _check_key(idempotency_key)
    ctx = call.context
    assert ctx.subject is not None  # rest_call refused anonymous callers already
    settings = ctx.resources.settings
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    claim = _Claim(
        redis=ctx.resources.redis,
        key=f"{_NAMESPACE}:{ctx.subject.user.id}:{digest}",
        user_id=ctx.subject.user.id,
        box=SecretBox.from_settings(settings),
        token=uuid.uuid4().hex,
        fingerprint=_fingerprint(request, await request.body()),
        ttl_seconds=settings.idempotency_ttl_seconds,
    )
    try:
        await _claim_or_replay(
            claim, settings.idempotency_lock_seconds, settings.idempotency_wait_seconds
        )
    except RedisError:
        raise Unavailable("Idempotency keys are unavailable; nothing was changed") from None
    request.scope[_SCOPE_KEY] = claim


async def _claim_or_replay(claim: _Claim, lock_seconds: int, wait_seconds: float) -> None:
    running = json.dumps(
        {"state": "running", "token": claim.token, "fingerprint": claim.fingerprint}
    )
    deadline = time.monotonic() + wait_seconds
    while True:
        # The claim expires on its own if this replica dies mid-request.
        if await claim.redis.set(claim.key, running, nx=True, ex=lock_seconds):
            return
        stored = await claim.redis.get(claim.key)
        if stored is None:
            continue  # released or expired between the two calls: try to claim again
        record = json.loads(stored)
        if record["fingerprint"] != claim.fingerprint:
            raise _mismatch()
        if record["state"] == "done":
            raise IdempotentReplay(_opened(claim, record))
        if time.monotonic() >= deadline:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry it in a moment"
            )
        await asyncio.sleep(_POLL_SECONDS)


def _opened(claim: _Claim, record: dict[str, Any]) -> dict[str, Any]:
    try:
        return {**record, "body": claim.box.open(record["body"], claim.user_id)}
    except SecretUnreadable:
        raise Conflict(
            "The first answer to this Idempotency-Key cannot be read any more "
            "(the server's secret key changed); use a new key"
        ) from None


# The opt-in: `@router.post(..., dependencies=[Idempotent])`.
Idempotent = Depends(claim_idempotency_key)


def creates(operation: str, refusals: dict[int, str] | None = None) -> dict[str, Any]:
    """Route keyword arguments of a create: answered 201, safe to retry with an
    Idempotency-Key, running `operation` (`runs(operation, refusals)`)."""
    return {"status_code": 201, "dependencies": [Idempotent], **runs(operation, refusals)}


async def _replay(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdempotentReplay)
    record = exc.record
    return Response(
        content=base64.b64decode(record["body"]),
        status_code=record["status"],
        media_type=record["media_type"],
        headers={REPLAYED_HEADER: "true"},
    )


class IdempotencyMiddleware:
    """Records the answer of a request whose key was claimed, or releases the claim."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not any(
            name == _RAW_HEADER for name, _ in scope.get("headers", ())
        ):
            await self.app(scope, receive, send)
            return
        status = 0
        media_type = "application/json"
        chunks: list[bytes] = []

        async def recording_send(message: dict[str, Any]) -> None:
            nonlocal status, media_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"content-type":
                        media_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            claim = scope.get(_SCOPE_KEY)
            if claim is not None:
                await _settle(claim, status, media_type, b"".join(chunks))


async def _settle(claim: _Claim, status: int, media_type: str, body: bytes) -> None:
    try:
        if 200 <= status < 300:
            record = {
                "state": "done",
                "token": claim.token,
                "fingerprint": claim.fingerprint,
                "status": status,
                "media_type": media_type,
                "body": claim.box.seal(base64.b64encode(body).decode("ascii"), claim.user_id),
            }
            await claim.redis.eval(
                _FINISH, 1, claim.key, claim.token, json.dumps(record), claim.ttl_seconds
            )
        else:
            await claim.redis.eval(_RELEASE, 1, claim.key, claim.token)
    except RedisError:
        # The claim expires after `idempotency_lock_seconds`; a retry then runs again.
        return


def install_idempotency(app: FastAPI) -> None:
    app.add_exception_handler(IdempotentReplay, _replay)
    app.add_middleware(IdempotencyMiddleware)
