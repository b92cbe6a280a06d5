"""The Python client of the Torale REST API (HTTP only: no server code is imported).

from torale import Torale
with Torale() as client:
    for task in client.tasks.iter(state="active"):
        print(task.name)
"""

from torale.client import webhooks
from torale.client._clients import AsyncTorale, Torale
from torale.client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    ToraleError,
    ValidationError,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncTorale",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "FieldError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ServiceUnavailableError",
    "Torale",
    "ToraleError",
    "ValidationError",
    "webhooks",
]
