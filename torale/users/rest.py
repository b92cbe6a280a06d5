"""REST under /auth: each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from torale.http.deps import IdentityContext, Operation, RestContext
from torale.http.idempotency import Idempotent
from torale.http.openapi import REVOKING_RESPONSES, runs
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody

router = APIRouter(prefix="/auth", tags=["auth"])


class ApiKeyCreate(BaseModel):
    name: str


@router.post(
    "/sync-user",
    **runs("SyncUser"),
    summary="Create or update your user from your JWT",
    responses={
        403: {"description": "Creating a user or changing its email needs a verified email"},
        409: {
            "description": "The email belongs to another account, or would link an existing "
            "account without a verified email"
        },
        422: {"description": "The token's email claim is missing or unusable"},
    },
)
async def sync_user(ctx: IdentityContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx))


@router.get("/me", **runs("Me"), summary="The current user")
async def me(ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx))


@router.post(
    "/api-keys",
    status_code=201,
    **runs("CreateApiKey"),
    summary="Create an API key",
    dependencies=[Idempotent],
)
async def create_api_key(body: ApiKeyCreate, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"input": {"name": body.name}}), status_code=201)


@router.get("/api-keys", **runs("ApiKeys"), summary="List your API keys")
async def list_api_keys(
    ctx: RestContext,
    op: Operation,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    return JSONBody(await op.run(ctx, {"page": page, "limit": limit}))


@router.delete(
    "/api-keys/{key_id}",
    **runs("RevokeApiKey"),
    summary="Revoke an API key",
    responses=REVOKING_RESPONSES,
)
async def revoke_api_key(key_id: uuid.UUID, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"id": str(key_id)}))
