"""One exception per kind of answer, so callers catch what they can handle.

Every error the API returns becomes an `APIStatusError` subclass chosen by its status;
a request that never got an answer is an `APIConnectionError`. Both are `ToraleError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class ToraleError(Exception):
    """Anything the client raises."""


class ConfigurationError(ToraleError):
    """No API key, or an unusable setting: fix the configuration, not the request."""


class APIConnectionError(ToraleError):
    """The request got no answer (connection refused, reset, or timed out)."""


class APITimeoutError(APIConnectionError):
    pass


@dataclass(frozen=True)
class FieldError:
    """One entry of a 422 answer: where (`loc`), what (`msg`) and its kind (`type`)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    @property
    def field(self) -> str:
        """The dotted location without the leading `body`/`query`/`path`/`header`."""
        parts = [str(p) for p in self.loc]
        if parts and parts[0] in ("body", "query", "path", "header"):
            parts = parts[1:]
        return ".".join(parts)


class APIStatusError(ToraleError):
    """The API answered with an error status."""

    status_code: int = 0

    def __init__(self, response: httpx.Response, body: Any) -> None:
        self.response = response
        self.status_code = response.status_code
        self.body = body
        detail = body.get("detail") if isinstance(body, dict) else None
        self.detail = detail
        super().__init__(self._message(detail, response))

    @staticmethod
    def _message(detail: Any, response: httpx.Response) -> str:
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail:
            return "; ".join(
                f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg', '')}"
                if isinstance(e, dict)
                else str(e)
                for e in detail
            )
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    """401: no key, a wrong or revoked key, or an expired token."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (someone else's task, admin only)."""


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    """409: e.g. an illegal state transition, or an idempotent request still running."""


class ValidationError(APIStatusError):
    """422, with the field errors in `errors`."""

    def __init__(self, response: httpx.Response, body: Any) -> None:
        super().__init__(response, body)
        detail = self.detail if isinstance(self.detail, list) else []
        self.errors = [
            FieldError(
                loc=tuple(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))
            )
            for e in detail
            if isinstance(e, dict)
        ]


class RateLimitError(APIStatusError):
    """429; `retry_after` is how many seconds to wait (None when the server did not say)."""

    def __init__(self, response: httpx.Response, body: Any) -> None:
        super().__init__(response, body)
        self.retry_after = retry_after_seconds(response)
        if self.retry_after is None and isinstance(body, dict):
            value = body.get("retry_after")
            self.retry_after = float(value) if isinstance(value, int | float) else None


class ServiceUnavailableError(APIStatusError):
    """503: a dependency (Temporal, the database, a provider) is down; nothing changed."""


class ServerError(APIStatusError):
    """Any other 5xx."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_for(response: httpx.Response) -> APIStatusError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else APIStatusError
    return cls(response, body)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date converted to a delay."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
