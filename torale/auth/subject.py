"""Who is making a request, as every layer below HTTP sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from torale.errors import Forbidden
from torale.users.models import User, UserRole

ADMIN_REQUIRED = "Admin access required"


@dataclass(frozen=True, slots=True)
class Subject:
    user: User
    # Set when the request came with an API key; rate limits count per key.
    api_key_id: uuid.UUID | None = None
    # True when an identity provider's claim says admin (see the users table too).
    admin_claim: bool = False

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.role == UserRole.ADMIN or self.admin_claim

    @property
    def rate_limit_identity(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user.id}"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden(ADMIN_REQUIRED)
