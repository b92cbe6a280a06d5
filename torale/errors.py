"""Domain errors: the one place that decides HTTP status and GraphQL error code.

Services raise these; nothing below the schema knows about HTTP. GraphQL picks up
`extensions` from the original error (graphql-core copies it onto the GraphQLError),
and the REST executor turns `status_code` + `body()` into the HTTP answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class ToraleError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL"
    default_message: ClassVar[str] = "Internal server error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}

    def body(self) -> dict[str, Any]:
        return {"detail": self.message}

    def headers(self) -> dict[str, str]:
        return {}


class Unauthenticated(ToraleError):
    status_code = 401
    code = "UNAUTHENTICATED"
    default_message = "Invalid API key"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ToraleError):
    status_code = 403
    code = "FORBIDDEN"
    default_message = "Not allowed"


class NotFound(ToraleError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found"


class Conflict(ToraleError):
    status_code = 409
    code = "CONFLICT"
    default_message = "Conflict"


class RateLimited(ToraleError):
    status_code = 429
    code = "RATE_LIMITED"
    default_message = "Rate limit exceeded"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "retry_after": self.retry_after}

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, "retry_after": self.retry_after}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ToraleError):
    """A dependency (Temporal, a provider) is down; the request changed nothing."""

    status_code = 503
    code = "UNAVAILABLE"
    default_message = "Service unavailable, nothing was changed"


class DatabaseUnavailable(Unavailable):
    """PostgreSQL cannot be reached (down, restarting, connection lost); see
    torale.db_outage. A lost connection may hide whether a commit landed, so the
    message does not promise that nothing changed."""

    default_message = "Database unavailable, try again shortly"


class FieldError:
    """One entry of a 422 body: where, what, and the kind of problem."""

    __slots__ = ("loc", "msg", "type")

    def __init__(self, loc: Sequence[str | int], msg: str, type: str = "value_error") -> None:
        self.loc = tuple(loc)
        self.msg = msg
        self.type = type

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class ValidationFailed(ToraleError):
    """422 with the same body shape FastAPI uses for request validation."""

    status_code = 422
    code = "VALIDATION"
    default_message = "Validation failed"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors))

    @classmethod
    def field(
        cls, loc: Sequence[str | int], msg: str, type: str = "value_error"
    ) -> ValidationFailed:
        return cls([FieldError(loc, msg, type)])

    def detail(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail()}

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail()}
