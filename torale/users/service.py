"""Users and API keys: the only code that writes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.auth.api_keys import display_prefix, generate_api_key, hash_api_key
from torale.auth.claim_text import is_clean_text
from torale.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from torale.models_base import utcnow
from torale.pagination import PageRequest, fetch_entity_page
from torale.users.models import ApiKey, ApiKeyState, User, UserRole, UserState

API_KEY_NAME_MAX = 100
# RFC 5321's limit on a forward path; the users table holds VARCHAR(320).
EMAIL_MAX = 320

EMAIL_TAKEN = "This email belongs to another account"
LINK_NEEDS_VERIFIED_EMAIL = (
    "An account with this email already exists; it is linked to your sign-in only when "
    "your identity provider says the email is verified (claim '{claim}')"
)
EMAIL_NOT_VERIFIED = (
    "Your identity provider has not verified this email (claim '{claim}'); "
    "verify it there, then sync again"
)


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    record: ApiKey
    plain_key: str


@dataclass(frozen=True, slots=True)
class ApiKeyPage:
    items: list[ApiKey]
    total: int


def clean_key_name(name: str) -> str:
    """1-100 characters as sent, not blank (SPEC §4); stored trimmed."""
    cleaned = name.strip()
    if not cleaned:
        raise ValidationFailed.field(["body", "name"], "Name must not be empty")
    if len(name) > API_KEY_NAME_MAX:
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


def clean_token_email(email: str) -> str:
    """The token's email if it can be stored; a 422 naming the claim otherwise."""
    loc = ["token", "email"]
    if len(email) > EMAIL_MAX:
        raise ValidationFailed.field(loc, f"Email must be at most {EMAIL_MAX} characters")
    if not is_clean_text(email):
        raise ValidationFailed.field(
            loc, "Email must not contain control characters or unpaired surrogates"
        )
    local, at, domain = email.partition("@")
    if not (local and at and domain) or any(ch.isspace() for ch in email):
        raise ValidationFailed.field(loc, "Email is not an email address")
    return email


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """What a verified identity-provider token says about its holder."""

    subject: str
    email: str | None
    email_verified: bool = False
    # Named in messages, so a client knows which claim the provider must send.
    verified_claim: str = "email_verified"


async def sync_user(session: AsyncSession, token: TokenIdentity) -> User:
    """The user of an identity-provider subject: created on first sync, kept current after.

    An email decides which account a subject gets, so an unverified one decides
    nothing: a subject is linked to an existing user (one made with `torale users
    create`, admins included) only with a verified email and only if that user has
    no subject yet; a new user or a changed email needs a verified email too, or
    anyone could claim an address before its owner arrives. Every refusal changes
    nothing. A deactivated user stays deactivated: syncing never re-enables an account.
    """
    email = clean_token_email(token.email) if token.email is not None else None
    user = (
        await session.execute(select(User).where(col(User.clerk_user_id) == token.subject))
    ).scalar_one_or_none()
    if user is None:
        user = await _new_or_linked_user(session, token, email)
    elif user.state == UserState.DEACTIVATED:
        raise Unauthenticated("User account is deactivated")
    elif email is not None and email != user.email:
        await _change_email(session, user, token, email)
    if user.state == UserState.DEACTIVATED:
        raise Unauthenticated("User account is deactivated")
    user.last_login = utcnow()
    try:
        await session.flush()
    except IntegrityError as exc:
        # A concurrent sync took the email or the subject between our check and now.
        raise Conflict(EMAIL_TAKEN) from exc
    return user


async def _new_or_linked_user(
    session: AsyncSession, token: TokenIdentity, email: str | None
) -> User:
    if email is None:
        raise ValidationFailed.field(["token", "email"], "The token has no email claim")
    holder = await get_user_by_email(session, email)
    if holder is not None:
        if holder.clerk_user_id is not None:
            # Another subject owns it (ours would have been found above): never re-linked.
            raise Conflict(EMAIL_TAKEN)
        if not token.email_verified:
            raise Conflict(LINK_NEEDS_VERIFIED_EMAIL.format(claim=token.verified_claim))
        holder.clerk_user_id = token.subject
        holder.updated_at = utcnow()
        return holder
    if not token.email_verified:
        raise Forbidden(EMAIL_NOT_VERIFIED.format(claim=token.verified_claim))
    user = User(email=email, clerk_user_id=token.subject)
    session.add(user)
    return user


async def _change_email(
    session: AsyncSession, user: User, token: TokenIdentity, email: str
) -> None:
    holder = await get_user_by_email(session, email)
    if holder is not None and holder.id != user.id:
        # Also a case-only variant of someone else's address: emails compare lowercased.
        raise Conflict(EMAIL_TAKEN)
    if not token.email_verified:
        if holder is not None:
            return  # the same address in another case: keep ours, nothing to verify
        raise Forbidden(EMAIL_NOT_VERIFIED.format(claim=token.verified_claim))
    user.email = email
    user.updated_at = utcnow()


async def any_admin_exists(session: AsyncSession) -> bool:
    return (
        await session.execute(select(col(User.id)).where(col(User.role) == UserRole.ADMIN).limit(1))
    ).first() is not None


async def create_api_key(session: AsyncSession, user: User, name: str) -> CreatedApiKey:
    plain = generate_api_key()
    record = ApiKey(
        user_id=user.id,
        name=clean_key_name(name),
        key_hash=hash_api_key(plain),
        key_prefix=display_prefix(plain),
    )
    session.add(record)
    await session.flush()
    return CreatedApiKey(record=record, plain_key=plain)


async def list_api_keys(session: AsyncSession, user: User, page: PageRequest) -> ApiKeyPage:
    items, total = await fetch_entity_page(
        session,
        select(ApiKey)
        .where(col(ApiKey.user_id) == user.id)
        .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id)),
        page,
    )
    return ApiKeyPage(items=items, total=total)


async def revoke_api_key(session: AsyncSession, user: User, key_id: uuid.UUID) -> None:
    # Someone else's key is reported as missing: its existence is not the caller's business.
    revoked = await session.execute(
        update(ApiKey)
        .where(col(ApiKey.id) == key_id, col(ApiKey.user_id) == user.id)
        .values(
            state=ApiKeyState.REVOKED, revoked_at=func.coalesce(col(ApiKey.revoked_at), func.now())
        )
        .returning(col(ApiKey.id))
    )
    if revoked.first() is None:
        raise NotFound("API key not found")


async def revoke_all_api_keys(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        update(ApiKey)
        .where(col(ApiKey.user_id) == user_id, col(ApiKey.state) == ApiKeyState.ACTIVE)
        .values(state=ApiKeyState.REVOKED, revoked_at=func.now())
        .returning(col(ApiKey.id))
    )
    return len(result.all())
