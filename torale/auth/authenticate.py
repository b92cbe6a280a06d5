"""Turn an `Authorization` header into a Subject, or refuse with the exact 401 message."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from torale.auth.api_keys import hash_api_key, looks_like_api_key
from torale.auth.last_used import LastUsedBuffer
from torale.auth.subject import Subject
from torale.errors import Unauthenticated
from torale.users.models import ApiKey, ApiKeyState, User, UserState

MISSING_HEADER = "Authorization header missing"
INVALID_API_KEY = "Invalid API key"
NOT_BEARER = "Invalid authorization header: expected 'Bearer <token>'"


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthenticated(MISSING_HEADER)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(NOT_BEARER)
    return token.strip()


async def authenticate_api_key(
    session: AsyncSession, token: str, last_used: LastUsedBuffer | None = None
) -> Subject:
    # One indexed lookup that also refuses revoked keys and deactivated users.
    row = (
        await session.execute(
            select(ApiKey.id, User)
            .join(User, User.id == ApiKey.user_id)
            .where(
                ApiKey.key_hash == hash_api_key(token),
                ApiKey.state == ApiKeyState.ACTIVE,
                User.state == UserState.ACTIVE,
            )
        )
    ).first()
    if row is None:
        raise Unauthenticated(INVALID_API_KEY)
    key_id, user = row
    if last_used is not None:
        last_used.touch(key_id)
    return Subject(user=user, api_key_id=key_id)


async def authenticate(
    session: AsyncSession, authorization: str | None, last_used: LastUsedBuffer | None = None
) -> Subject:
    token = bearer_token(authorization)
    if looks_like_api_key(token):
        return await authenticate_api_key(session, token, last_used)
    raise Unauthenticated(INVALID_API_KEY)
