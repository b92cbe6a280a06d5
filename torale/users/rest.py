"""REST under /auth: each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from torale.http.deps import IdentityContext, Operations, RestContext
from torale.http.openapi import runs
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody

router = APIRouter(prefix="/auth", tags=["auth"])


class ApiKeyCreate(BaseModel):
    name: str


@router.post("/sync-user", **runs("SyncUser"), summary="Create or update your user from your JWT")
async def sync_user(ctx: IdentityContext, ops: Operations) -> JSONBody:
    data = await ops.run("SyncUser", ctx)
    return JSONBody(data["sync_user"])


@router.get("/me", **runs("Me"), summary="The current user")
async def me(ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("Me", ctx)
    return JSONBody(data["me"])


@router.post("/api-keys", status_code=201, **runs("CreateApiKey"), summary="Create an API key")
async def create_api_key(body: ApiKeyCreate, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("CreateApiKey", ctx, {"input": {"name": body.name}})
    return JSONBody(data["create_api_key"], status_code=201)


@router.get("/api-keys", **runs("ApiKeys"), summary="List your API keys")
async def list_api_keys(
    ctx: RestContext,
    ops: Operations,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    data = await ops.run("ApiKeys", ctx, {"page": page, "limit": limit})
    return JSONBody(data["api_keys"])


@router.delete("/api-keys/{key_id}", **runs("RevokeApiKey"), summary="Revoke an API key")
async def revoke_api_key(key_id: uuid.UUID, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("RevokeApiKey", ctx, {"id": str(key_id)})
    return JSONBody(data["revoke_api_key"])
