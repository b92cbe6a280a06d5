"""Turn an `Authorization` header into a Subject, or refuse with the exact 401 message.

Two kinds of bearer token: our API keys (`sk_…`) and OIDC JWTs. A JWT whose `sub`
has no user yet yields its claims without a subject: only `POST /auth/sync-user`
accepts that; every other endpoint answers 401 telling the caller to sync first
(users are not created on the fly, so an email change or a deactivation is always
decided by us, not by whoever holds a token).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.auth.api_keys import hash_api_key, looks_like_api_key
from torale.auth.cache import AuthCache, CachedIdentity, api_key_credential, jwt_credential
from torale.auth.jwt import Claims, JWTVerifier, is_admin_claim, looks_like_jwt
from torale.auth.last_used import LastUsedBuffer
from torale.auth.subject import Subject
from torale.config import Settings
from torale.errors import Unauthenticated
from torale.ratelimit import RateLimiter, RateLimitResult
from torale.users.models import ApiKey, ApiKeyState, User, UserState

MISSING_HEADER = "Authorization header missing"
INVALID_API_KEY = "Invalid API key"
NOT_BEARER = "Invalid authorization header: expected 'Bearer <token>'"
SYNC_FIRST = "User not found: call POST /auth/sync-user first"
DEACTIVATED = "User account is deactivated"
NO_IDENTITY_PROVIDER = (
    "This server has no identity provider configured, so it accepts no JWTs: "
    "use an API key (sk_...)"
)
JWT_REQUIRED = "This endpoint needs an identity provider token (JWT)"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a bearer token proved: a known user, and for JWTs the verified claims."""

    subject: Subject | None
    claims: Claims | None = None
    # The request's rate-limit hit, when the auth cache counted it in its round trip.
    rate_limit: RateLimitResult | None = None

    def require_subject(self) -> Subject:
        if self.subject is None:
            raise Unauthenticated(SYNC_FIRST)
        return self.subject


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthenticated(MISSING_HEADER)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(NOT_BEARER)
    return token.strip()


async def authenticate_api_key(
    session: AsyncSession,
    token: str,
    last_used: LastUsedBuffer | None = None,
    cache: AuthCache | None = None,
    limiter: RateLimiter | None = None,
) -> Credentials:
    key_hash = hash_api_key(token)
    credential = api_key_credential(key_hash)
    lookup = await cache.lookup(credential, limiter) if cache else None
    if lookup and lookup.identity:
        key_id, user = lookup.identity.api_key_id, lookup.identity.user
    else:
        # One indexed lookup that also refuses revoked keys and deactivated users.
        row = (
            await session.execute(
                select(col(ApiKey.id), User)
                .join(User, col(User.id) == col(ApiKey.user_id))
                .where(
                    col(ApiKey.key_hash) == key_hash,
                    col(ApiKey.state) == ApiKeyState.ACTIVE,
                    col(User.state) == UserState.ACTIVE,
                )
            )
        ).first()
        if row is None:
            raise Unauthenticated(INVALID_API_KEY)
        key_id, user = row
        if cache and lookup:
            await cache.store(credential, lookup, CachedIdentity(user=user, api_key_id=key_id))
    if last_used is not None and key_id is not None:  # always set for a key
        last_used.touch(key_id)
    return Credentials(
        subject=Subject(user=user, api_key_id=key_id),
        rate_limit=lookup.rate_limit if lookup else None,
    )


async def authenticate_jwt(
    session: AsyncSession,
    token: str,
    verifier: JWTVerifier,
    settings: Settings,
    cache: AuthCache | None = None,
    limiter: RateLimiter | None = None,
) -> Credentials:
    claims = await verifier.verify(token)
    admin = is_admin_claim(claims, settings.jwt_admin_claim, settings.jwt_admin_value)
    credential = jwt_credential(claims.sub)
    lookup = await cache.lookup(credential, limiter) if cache else None
    if lookup and lookup.identity:
        user = lookup.identity.user
    else:
        found = (
            await session.execute(select(User).where(col(User.clerk_user_id) == claims.sub))
        ).scalar_one_or_none()
        if found is None:
            return Credentials(subject=None, claims=claims)
        user = found
        if user.state != UserState.ACTIVE:
            raise Unauthenticated(DEACTIVATED)
        if cache and lookup:
            await cache.store(credential, lookup, CachedIdentity(user=user, api_key_id=None))
    return Credentials(
        subject=Subject(user=user, admin_claim=admin),
        claims=claims,
        rate_limit=lookup.rate_limit if lookup else None,
    )


async def authenticate(
    session: AsyncSession,
    authorization: str | None,
    *,
    settings: Settings,
    last_used: LastUsedBuffer | None = None,
    verifier: JWTVerifier | None = None,
    cache: AuthCache | None = None,
    limiter: RateLimiter | None = None,
) -> Credentials:
    """`limiter`: count a request answered from the cache in the cache's round trip."""
    token = bearer_token(authorization)
    if looks_like_api_key(token):
        return await authenticate_api_key(session, token, last_used, cache, limiter)
    if looks_like_jwt(token):
        if verifier is None:
            raise Unauthenticated(NO_IDENTITY_PROVIDER)
        return await authenticate_jwt(session, token, verifier, settings, cache, limiter)
    raise Unauthenticated(INVALID_API_KEY)
