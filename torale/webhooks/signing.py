"""Standard Webhooks signing and the event bodies Torale sends.

Signature: `v1,` + base64(HMAC-SHA256(secret, "{webhook-id}.{webhook-timestamp}.{body}")),
where the secret is the base64 part of `whsec_…`. The body is encoded once, by
`encode_event`, and those exact bytes are both signed and sent; store them (or the event
dict) with the delivery so retries and redeliveries send identical bytes.

`webhook-timestamp` is the time of the *attempt*, not of the event: receivers reject
timestamps older than a few minutes, so every attempt is signed afresh. The event's own
time is `timestamp` inside the body and does not change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32

# Headers that carry the signature contract; user-configured channel headers never
# replace them (see sender.merge_headers).
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("Webhook secret must start with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("Webhook secret is not valid base64 after 'whsec_'") from exc
    if not key:
        raise ValueError("Webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    if "." in msg_id:
        # The id is a field of the dot-separated signed content.
        raise ValueError("Webhook message id may not contain '.'")
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers_for(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """Standard Webhooks headers; one signature per secret (rotation grace period)."""
    if not secrets:
        raise ValueError("At least one webhook secret is required to sign")
    signatures = " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def new_event_id() -> str:
    return str(uuid.uuid4())


def _iso_z(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Event timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class EventTask(Protocol):
    """What a task event says of its task (a `Task` row; webhooks do not import tasks)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def search_query(self) -> str: ...


class FailingTask(EventTask, Protocol):
    @property
    def consecutive_failures(self) -> int: ...
    @property
    def failure_threshold(self) -> int: ...


class FailedExecution(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def error_type(self) -> str | None: ...


def _event(
    event_type: str, event_id: str, occurred_at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """The envelope every event shares; `timestamp` is when the event happened."""
    return {"type": event_type, "id": event_id, "timestamp": _iso_z(occurred_at), "data": data}


def _task_data(task: EventTask, execution_id: uuid.UUID | str) -> dict[str, Any]:
    return {
        "task_id": str(task.id),
        "task_name": task.name,
        "search_query": task.search_query,
        "execution_id": str(execution_id),
    }


def build_condition_met_event(
    *,
    event_id: str,
    occurred_at: datetime,
    task_id: uuid.UUID | str,
    task_name: str,
    execution_id: uuid.UUID | str,
    search_query: str,
    condition_description: str,
    answer: str | None,
    reasoning: str | None,
    change_summary: str | None,
    grounding_sources: Sequence[Mapping[str, Any]],
    notify_behavior: str,
    current_state: Any = None,
) -> dict[str, Any]:
    return _event(
        "condition_met",
        event_id,
        occurred_at,
        {
            "task_id": str(task_id),
            "task_name": task_name,
            "execution_id": str(execution_id),
            "search_query": search_query,
            "condition_description": condition_description,
            "answer": answer,
            "reasoning": reasoning,
            "change_summary": change_summary,
            "grounding_sources": [dict(source) for source in grounding_sources],
            "notify_behavior": notify_behavior,
            # The extracted state; with an output_schema, values of that shape.
            "current_state": current_state,
        },
    )


def build_task_failing_event(
    *, event_id: str, occurred_at: datetime, task: FailingTask, execution: FailedExecution
) -> dict[str, Any]:
    """The task's latest `failure_threshold` executions failed in a row (sent once)."""
    return _event(
        "task_failing",
        event_id,
        occurred_at,
        _task_data(task, execution.id)
        | {
            "consecutive_failures": task.consecutive_failures,
            "failure_threshold": task.failure_threshold,
            "error_message": execution.error_message,
            "error_type": execution.error_type,
            "failing_since": _iso_z(occurred_at),
        },
    )


def build_task_recovered_event(
    *,
    event_id: str,
    occurred_at: datetime,
    task: EventTask,
    execution_id: uuid.UUID,
    failed_executions: int,
    failing_since: datetime,
) -> dict[str, Any]:
    """A task that was failing has succeeded again."""
    return _event(
        "task_recovered",
        event_id,
        occurred_at,
        _task_data(task, execution_id)
        | {
            "failed_executions": failed_executions,
            "failing_since": _iso_z(failing_since),
            "recovered_at": _iso_z(occurred_at),
        },
    )


def build_test_event(*, event_id: str, occurred_at: datetime) -> dict[str, Any]:
    return _event("test", event_id, occurred_at, {"message": "This is a test event from Torale."})


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Canonical JSON: compact, sorted keys, UTF-8 (non-ASCII kept as is)."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
