"""Provider failures, each with what a retry policy and an admin need to know.

`retryable` drives Temporal (non-retryable errors fail the execution at once),
`retry_after` is the delay a rate-limited provider asked for, and `error_type` is the
short string stored on a failed execution so admins can group failures. They derive
from `Unavailable` so an endpoint that calls a provider synchronously (preview,
suggest) answers 503 with the readable message without extra mapping.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torale.errors import Unavailable


class ProviderError(Unavailable):
    error_type: ClassVar[str] = "provider_error"
    default_retryable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        # The provider's HTTP status, when the failure was an HTTP answer.
        self.upstream_status = upstream_status

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "error_type": self.error_type}


class ProviderNotConfigured(ProviderError):
    error_type = "not_configured"
    default_retryable = False


class ProviderConfigError(ProviderError):
    """A task's `config` asks for something the server cannot do."""

    error_type = "invalid_config"
    default_retryable = False


class ProviderAuthError(ProviderError):
    error_type = "provider_auth"
    default_retryable = False


class ProviderRateLimited(ProviderError):
    error_type = "provider_rate_limited"


class ProviderUnavailable(ProviderError):
    error_type = "provider_unavailable"


class ProviderTimeout(ProviderError):
    error_type = "provider_timeout"


class ProviderRejected(ProviderError):
    """A 4xx other than auth/rate limit: the same request will fail the same way."""

    error_type = "provider_rejected"
    default_retryable = False


class InvalidLLMResponse(ProviderError):
    """Malformed JSON or a reply that misses the schema; models are not deterministic."""

    error_type = "invalid_llm_response"


class PageFetchError(ProviderError):
    error_type = "page_fetch_failed"


class UrlForbidden(ProviderError):
    error_type = "url_forbidden"
    default_retryable = False
