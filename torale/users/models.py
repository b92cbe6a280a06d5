"""Users and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, func, text
from sqlmodel import Field, SQLModel

from torale.models_base import created_at_field, id_field, timestamp_field


class UserRole(StrEnum):
    USER = "user"
    ADMIN = "admin"


class UserState(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class ApiKeyState(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are compared case-insensitively; one account per address.
        Index("ix_users_email_lower", func.lower(text("email")), unique=True),
        Index("ix_users_created_at", "created_at"),
    )

    id: uuid.UUID = id_field()
    email: str = Field(sa_column=Column(String(320), nullable=False))
    # The OIDC subject (`sub`); named after the hosted original's Clerk field.
    clerk_user_id: str | None = Field(
        default=None, sa_column=Column(String(255), unique=True, nullable=True)
    )
    role: UserRole = Field(default=UserRole.USER, sa_column=Column(String(16), nullable=False))
    state: UserState = Field(default=UserState.ACTIVE, sa_column=Column(String(16), nullable=False))
    last_login: datetime | None = timestamp_field()
    deactivated_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_created", "user_id", "created_at"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(100), nullable=False))
    # SHA-256 hex of the full key: the key itself is never stored.
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    key_prefix: str = Field(sa_column=Column(String(16), nullable=False))
    state: ApiKeyState = Field(
        default=ApiKeyState.ACTIVE, sa_column=Column(String(16), nullable=False)
    )
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
