"""One way to call a provider over HTTP and turn every failure into a `ProviderError`.

Messages name the provider, its URL and the variable to fix, because they end up as an
execution's `error_message` read by someone who did not write this code.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from torale.monitoring.errors import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

_DETAIL_LIMIT = 300


@dataclass(frozen=True)
class Endpoint:
    """Who is being called, for error messages and the timeout."""

    label: str
    timeout: float
    timeout_variable: str
    key_variable: str | None = None


class HostedAPI:
    """A provider behind one base URL: the key it sends, the shared client (None: a
    client per call) and the `Endpoint` its errors name. Subclasses say who they are."""

    name: ClassVar[str]
    label: ClassVar[str]
    key_variable: ClassVar[str]
    timeout_variable: ClassVar[str]
    default_timeout: ClassVar[float]

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: float | None = None,
        client: httpx.AsyncClient | None = None,
        detail: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = client
        self._endpoint = Endpoint(
            label=f"{self.label} {self.base_url}{detail}",
            timeout=self.default_timeout if timeout is None else timeout,
            timeout_variable=self.timeout_variable,
            key_variable=self.key_variable,
        )


@contextlib.asynccontextmanager
async def use_client(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """The shared client when the caller has one, else a client for this call only."""
    if client is not None:
        yield client
        return
    async with httpx.AsyncClient(follow_redirects=False) as own:
        yield own


async def send(
    client: httpx.AsyncClient | None,
    endpoint: Endpoint,
    method: str,
    url: str,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; a reply that is not 2xx raises (see `raise_for_status`)."""
    try:
        async with use_client(client) as http:
            response = await http.request(method, url, timeout=endpoint.timeout, **kwargs)
    except httpx.TimeoutException as exc:
        raise timeout_error(endpoint) from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(
            f"{endpoint.label} is unreachable: {exc or type(exc).__name__}"
        ) from exc
    raise_for_status(response, endpoint)
    return response


def timeout_error(endpoint: Endpoint) -> ProviderTimeout:
    return ProviderTimeout(
        f"{endpoint.label} did not answer within {endpoint.timeout:g}s "
        f"(raise {endpoint.timeout_variable} if it is just slow)"
    )


def raise_for_status(response: httpx.Response, endpoint: Endpoint) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = error_detail(response)
    where = f"{endpoint.label} answered HTTP {status}: {detail}"
    if status in (401, 403) or _is_invalid_key(status, detail):
        fix = (
            f"; check {endpoint.key_variable}"
            if endpoint.key_variable
            else "; check the server's access settings"
        )
        raise ProviderAuthError(where + fix, upstream_status=status)
    if status == 429:
        delay = retry_after_seconds(response)
        suffix = f" (retry after {delay:g}s)" if delay is not None else ""
        raise ProviderRateLimited(where + suffix, retry_after=delay, upstream_status=status)
    if status >= 500 or status == 408:
        raise ProviderUnavailable(where, upstream_status=status)
    raise ProviderRejected(where, upstream_status=status)


def _is_invalid_key(status: int, detail: str) -> bool:
    # Gemini reports a wrong API key as 400 INVALID_ARGUMENT, not 401.
    return status == 400 and ("API_KEY_INVALID" in detail or "API key not valid" in detail)


def error_detail(response: httpx.Response) -> str:
    """The provider's own explanation, short: `error.message` when it is JSON."""
    text = response.text
    try:
        body = response.json()
    except ValueError:
        body = None
    message: Any = None
    if isinstance(body, dict):
        error = body.get("error", body.get("detail"))
        if isinstance(error, dict):
            message = error.get("message") or error.get("error")
            status = error.get("status")
            if message and isinstance(status, str):
                message = f"{message} [{status}]"
            reasons = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)]
            if message and any(reasons):
                message = f"{message} ({', '.join(r for r in reasons if r)})"
        elif isinstance(error, str):
            message = error
    if not message:
        message = re.sub(r"\s+", " ", text).strip() or response.reason_phrase or "no body"
    message = str(message)
    return message if len(message) <= _DETAIL_LIMIT else message[:_DETAIL_LIMIT] + "…"


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (number or HTTP date), else Gemini's `RetryInfo.retryDelay`."""
    header = response.headers.get("retry-after")
    if header:
        header = header.strip()
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        with contextlib.suppress(TypeError, ValueError):
            when = parsedate_to_datetime(header)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    try:
        body = response.json()
    except ValueError:
        return None
    details = body.get("error", {}).get("details", []) if isinstance(body, dict) else []
    for item in details if isinstance(details, list) else []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            with contextlib.suppress(ValueError):
                return max(0.0, float(delay[:-1]))
    return None


def json_body(response: httpx.Response, endpoint: Endpoint) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderUnavailable(
            f"{endpoint.label} answered with something that is not JSON: "
            f"{response.text[:_DETAIL_LIMIT]!r}"
        ) from exc
