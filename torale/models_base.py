"""Column helpers shared by every table: UUID keys and timezone-aware timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, func
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_field() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    default: dict[str, Any] = {"default": None} if nullable else {"default_factory": utcnow}
    return Field(
        **default,
        sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index),
    )
