"""What the sync and async clients share: requests described as data, the retry policy,
and how an answer becomes a model or an exception.

A resource method builds a `Call`; the client sends it (`Torale` blocks, `AsyncTorale`
returns an awaitable), so each resource is written once for both clients.
"""

from __future__ import annotations

import functools
import random
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import TypeAdapter

from torale.client import config as client_config
from torale.client.errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    error_for,
    retry_after_seconds,
)

VERSION = "0.1.0"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
# Retry-After beyond this is not waited out (e.g. an hourly limit): the error is raised.
DEFAULT_MAX_RETRY_DELAY = 60.0
RETRY_STATUSES = frozenset({429, 503})
# Methods whose repetition has the effect of one request (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    # What the answer parses into; None for answers without a body (204).
    model: Any = None
    # Safe to repeat although the method is not idempotent (e.g. setting a flag).
    safe_to_repeat: bool = False
    idempotency_key: str | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def retryable(self) -> bool:
        return (
            self.method in IDEMPOTENT_METHODS
            or self.safe_to_repeat
            or self.idempotency_key is not None
        )


@dataclass(frozen=True)
class Retry:
    """An attempt's verdict: send the call again after `delay` seconds."""

    delay: float


def new_idempotency_key() -> str:
    return f"torale-py-{uuid.uuid4()}"


_adapters: dict[Any, TypeAdapter[Any]] = {}


def parse(model: Any, data: Any) -> Any:
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = TypeAdapter(model)
    return adapter.validate_python(data)


class BaseClient:
    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY,
        user_agent: str | None = None,
    ) -> None:
        resolved = client_config.resolve(api_key, base_url)
        if not resolved.api_key:
            raise ConfigurationError(
                "no API key: pass api_key=, set TORALE_API_KEY, or run `torale login`"
            )
        self.api_key = resolved.api_key
        self.base_url = resolved.api_url
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.max_retry_delay = max_retry_delay
        self.user_agent = user_agent or f"torale-python/{VERSION}"
        self._http = self._open_http()
        self._mount()

    # Provided by the sync and async clients.
    def _open_http(self) -> Any:
        raise NotImplementedError

    def _mount(self) -> None:
        raise NotImplementedError

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "verify": _shared_ssl_context(),
            "headers": {
                "Authorization": f"Bearer {self.api_key}",
                "User-Agent": self.user_agent,
                "Accept": "application/json",
            },
        }

    @staticmethod
    def _request_options(call: Call) -> dict[str, Any]:
        headers = dict(call.extra_headers)
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        params = None
        if call.params:
            params = {k: _query_value(v) for k, v in call.params.items() if v is not None}
        options: dict[str, Any] = {"headers": headers, "params": params}
        if call.json is not None:
            options["json"] = call.json
        return options

    def _verdict(
        self, call: Call, attempt: int, outcome: httpx.Response | httpx.TransportError
    ) -> Any:
        """What attempt `attempt` of `call` came to: `Retry` to send it again after a pause,
        otherwise the call's result. A final error answer or failure is raised.

        The sync and async clients both loop over this; only their I/O differs."""
        if isinstance(outcome, httpx.TransportError):
            delay = self._retry_delay(call, attempt, None)
            if delay is None:
                raise _connection_error(outcome) from outcome
            return Retry(delay)
        delay = self._retry_delay(call, attempt, outcome)
        if delay is None:
            return self._result(call, outcome)
        # No need to close the answer: a request that is not streamed has read it already.
        return Retry(delay)

    def _retry_delay(
        self, call: Call, attempt: int, response: httpx.Response | None
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when not to retry."""
        if not call.retryable or attempt >= self.max_retries:
            return None
        if response is not None:
            if response.status_code not in RETRY_STATUSES:
                return None
            told = retry_after_seconds(response)
            if told is not None:
                return told if told <= self.max_retry_delay else None
        # Exponential backoff with full jitter: 0.5 s, 1 s, 2 s ... capped at 8 s.
        return min(8.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)

    @staticmethod
    def _result(call: Call, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise error_for(response)
        if call.model is None or response.status_code == 204:
            return None
        return parse(call.model, response.json())

    @staticmethod
    def _poll_settled(value: Any, on_poll: Any, deadline: float, within: float) -> bool:
        """After one poll: reports `value` to `on_poll`, and says whether it is final.
        Raises TimeoutError when it is not and `deadline` (monotonic) has passed."""
        if on_poll is not None:
            on_poll(value)
        if value.finished:
            return True
        if time.monotonic() >= deadline:
            raise TimeoutError(f"still {value.status} after {within:g}s")
        return False


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out: {exc}")
    return APIConnectionError(f"cannot reach the API: {exc}")


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one loads the CA bundle (~0.2 s),
    which every new client would otherwise pay again."""
    return httpx.create_ssl_context()


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


PageCall = Callable[[int], Call]
