"""GraphQL for the current user and their API keys.

Each type is built from its row (`from_row`), naming the columns to expose.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from torale.auth.authenticate import JWT_REQUIRED
from torale.auth.jwt import is_email_verified
from torale.errors import Unauthenticated
from torale.graphql.enums import ApiKeyState, UserRole, UserState
from torale.graphql.types import Info, Message, Page, from_row
from torale.pagination import DEFAULT_LIMIT, PageRequest
from torale.users import service
from torale.users.models import User


@strawberry.type(name="User")
class UserType:
    id: uuid.UUID
    email: str
    clerk_user_id: str | None
    state: UserState
    created_at: datetime
    last_login: datetime | None
    stored_role: strawberry.Private[UserRole]

    @classmethod
    def of(cls, user: User) -> UserType:
        return from_row(cls, user, stored_role=user.role)

    @strawberry.field(
        description="user or admin; for the caller, an identity-provider admin claim counts"
    )
    def role(self, info: Info) -> UserRole:
        viewer = info.context.subject_or_none
        if viewer is not None and viewer.user_id == self.id and viewer.is_admin:
            return UserRole.ADMIN
        return self.stored_role


@strawberry.type(name="ApiKey", description="An API key as listed: never the key itself")
class ApiKeyType:
    id: uuid.UUID
    key_prefix: str
    name: str
    state: ApiKeyState
    created_at: datetime
    last_used_at: datetime | None


@strawberry.type(name="CreatedApiKey", description="The only time the plain key is shown")
class CreatedApiKeyType:
    id: uuid.UUID
    key: str
    key_prefix: str
    name: str
    created_at: datetime


@strawberry.input
class CreateApiKeyInput:
    name: str


@strawberry.type
class UserQuery:
    @strawberry.field(description="The authenticated caller")
    def me(self, info: Info) -> UserType | None:
        return UserType.of(info.context.subject.user)

    @strawberry.field(description="The caller's API keys")
    async def api_keys(
        self, info: Info, page: int = 1, limit: int = DEFAULT_LIMIT
    ) -> Page[ApiKeyType] | None:
        request = PageRequest(page=page, limit=limit)
        ctx = info.context
        found = await service.list_api_keys(ctx.session, ctx.subject.user, request)
        items = [from_row(ApiKeyType, key) for key in found.items]
        return Page(items=items, total=found.total, page=page, limit=limit)


@strawberry.type
class UserMutation:
    @strawberry.mutation(description="Create or update the caller's user from their JWT claims")
    async def sync_user(self, info: Info) -> UserType:
        ctx = info.context
        if ctx.claims is None:
            raise Unauthenticated(JWT_REQUIRED)
        verified_claim = ctx.resources.settings.jwt_email_verified_claim
        token = service.TokenIdentity(
            subject=ctx.claims.sub,
            email=ctx.claims.email,
            email_verified=is_email_verified(ctx.claims, verified_claim),
            verified_claim=verified_claim,
        )
        return UserType.of(await service.sync_user(ctx.session, token))

    @strawberry.mutation(description="Create an API key; the response holds the plain key once")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreatedApiKeyType:
        ctx = info.context
        # Checked before counting: a refused name is not a key created.
        name = service.clean_key_name(input.name)
        # Separately limited: a flood of new keys would defeat the per-key limits.
        await ctx.resources.key_creation_limiter.hit_or_raise(f"user:{ctx.subject.user_id}")
        created = await service.create_api_key(ctx.session, ctx.subject.user, name)
        record = created.record
        return CreatedApiKeyType(
            id=record.id,
            key=created.plain_key,
            key_prefix=record.key_prefix,
            name=record.name,
            created_at=record.created_at,
        )

    @strawberry.mutation(description="Revoke one of the caller's API keys")
    async def revoke_api_key(self, info: Info, id: uuid.UUID) -> Message:
        ctx = info.context
        await service.revoke_api_key(ctx.session, ctx.subject.user, id)
        return Message(message="API key revoked successfully")
