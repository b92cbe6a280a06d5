"""Who is making a request, as every layer below HTTP sees it."""

from __future__ import annotations

import uuid
from typing import Any

from torale.errors import Forbidden
from torale.users.models import User, UserRole

ADMIN_REQUIRED = "Admin access required"


class StoredUser:
    """A user's columns as the auth cache stored them; the `User` is built when asked for.

    Building a SQLModel table instance (validation, then one instrumented attribute set
    per column) costs more than the rest of authenticating from the cache, while most
    requests need only the user's id and role. Each lookup makes its own, so no `User`
    is shared between requests (the columns it is validated from may be: they are only
    read).
    """

    __slots__ = ("_columns", "_user", "id", "role")

    def __init__(self, columns: dict[str, Any], user_id: uuid.UUID | None = None) -> None:
        """`user_id`: the id in `columns`, when the caller has it parsed already."""
        self._columns = columns
        self._user: User | None = None
        self.id = user_id if user_id is not None else uuid.UUID(columns["id"])
        self.role = columns["role"]

    def load(self) -> User:
        if self._user is None:
            self._user = User.model_validate(self._columns)
        return self._user


class Subject:
    """The authenticated caller: a user, and how they proved it."""

    __slots__ = ("_user", "admin_claim", "api_key_id")

    def __init__(
        self,
        user: User | StoredUser,
        api_key_id: uuid.UUID | None = None,
        admin_claim: bool = False,
    ) -> None:
        self._user = user
        # Set when the request came with an API key; rate limits count per key.
        self.api_key_id = api_key_id
        # True when an identity provider's claim says admin (see the users table too).
        self.admin_claim = admin_claim

    @property
    def user(self) -> User:
        user = self._user
        return user.load() if isinstance(user, StoredUser) else user

    @property
    def user_id(self) -> uuid.UUID:
        return self._user.id

    @property
    def is_admin(self) -> bool:
        return self._user.role == UserRole.ADMIN or self.admin_claim

    @property
    def rate_limit_identity(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self._user.id}"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden(ADMIN_REQUIRED)

    def __repr__(self) -> str:
        return (
            f"Subject(user_id={self.user_id}, api_key_id={self.api_key_id}, "
            f"admin_claim={self.admin_claim})"
        )
