"""Users and API keys: the only code that writes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from torale.auth.api_keys import display_prefix, generate_api_key, hash_api_key
from torale.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from torale.models_base import utcnow
from torale.pagination import PageRequest
from torale.users.models import ApiKey, ApiKeyState, User, UserRole, UserState

API_KEY_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    record: ApiKey
    plain_key: str


@dataclass(frozen=True, slots=True)
class ApiKeyPage:
    items: list[ApiKey]
    total: int


def _clean_key_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise ValidationFailed.field(["body", "name"], "Name must not be empty")
    if len(cleaned) > API_KEY_NAME_MAX:
        raise ValidationFailed.field(
            ["body", "name"], f"Name must be at most {API_KEY_NAME_MAX} characters"
        )
    return cleaned


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (
        await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    ).scalar_one_or_none()


async def ensure_user(session: AsyncSession, email: str, *, admin: bool = False) -> User:
    """The user with this email, created if missing; `admin` promotes, never demotes."""
    user = await get_user_by_email(session, email)
    if user is None:
        user = User(email=email, role=UserRole.ADMIN if admin else UserRole.USER)
        session.add(user)
    elif admin and user.role != UserRole.ADMIN:
        user.role = UserRole.ADMIN
        user.updated_at = utcnow()
    await session.flush()
    return user


async def sync_user(session: AsyncSession, subject: str, email: str | None) -> User:
    """The user of an identity-provider subject: created on first sync, kept current after.

    A subject we have never seen but whose email matches an existing user (e.g. one
    made with `torale users create`) is linked to that user rather than duplicated.
    A deactivated user stays deactivated: syncing never re-enables an account.
    """
    user = (
        await session.execute(select(User).where(User.clerk_user_id == subject))
    ).scalar_one_or_none()
    if user is None and email:
        user = await get_user_by_email(session, email)
        if user is not None and user.clerk_user_id not in (None, subject):
            raise Conflict("This email belongs to another identity")
    if user is None:
        if not email:
            raise ValidationFailed.field(["token", "email"], "The token has no email claim")
        user = User(email=email, clerk_user_id=subject)
        session.add(user)
    else:
        user.clerk_user_id = subject
        if email:
            user.email = email
        user.updated_at = utcnow()
    if user.state == UserState.DEACTIVATED:
        raise Unauthenticated("User account is deactivated")
    user.last_login = utcnow()
    await session.flush()
    return user


async def any_admin_exists(session: AsyncSession) -> bool:
    return (
        await session.execute(select(User.id).where(User.role == UserRole.ADMIN).limit(1))
    ).first() is not None


async def create_api_key(session: AsyncSession, user: User, name: str) -> CreatedApiKey:
    plain = generate_api_key()
    record = ApiKey(
        user_id=user.id,
        name=_clean_key_name(name),
        key_hash=hash_api_key(plain),
        key_prefix=display_prefix(plain),
    )
    session.add(record)
    await session.flush()
    return CreatedApiKey(record=record, plain_key=plain)


async def list_api_keys(session: AsyncSession, user: User, page: PageRequest) -> ApiKeyPage:
    owned = ApiKey.user_id == user.id
    total = (await session.execute(select(func.count()).where(owned))).scalar_one()
    rows = (
        await session.execute(
            select(ApiKey)
            .where(owned)
            .order_by(ApiKey.created_at.desc(), ApiKey.id)
            .offset(page.offset)
            .limit(page.limit)
        )
    ).scalars()
    return ApiKeyPage(items=list(rows), total=total)


async def revoke_api_key(session: AsyncSession, user: User, key_id: uuid.UUID) -> None:
    # Someone else's key is reported as missing: its existence is not the caller's business.
    revoked = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user.id)
        .values(state=ApiKeyState.REVOKED, revoked_at=func.coalesce(ApiKey.revoked_at, func.now()))
        .returning(ApiKey.id)
    )
    if revoked.first() is None:
        raise NotFound("API key not found")


async def revoke_all_api_keys(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.state == ApiKeyState.ACTIVE)
        .values(state=ApiKeyState.REVOKED, revoked_at=func.now())
        .returning(ApiKey.id)
    )
    return len(result.all())
