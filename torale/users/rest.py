"""REST under /auth: each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from torale.http.deps import IdentityContext, Operations, RestContext
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody, MessageOut, PageOut

router = APIRouter(prefix="/auth", tags=["auth"])


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    clerk_user_id: str | None
    role: str
    state: str
    created_at: datetime


class ApiKeyCreate(BaseModel):
    name: str


class ApiKeyCreatedOut(BaseModel):
    id: uuid.UUID
    key: str
    key_prefix: str
    name: str
    created_at: datetime


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    key_prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    state: str


@router.post(
    "/sync-user", response_model=UserOut, summary="Create or update your user from your JWT"
)
async def sync_user(ctx: IdentityContext, ops: Operations) -> JSONBody:
    data = await ops.run("SyncUser", ctx)
    return JSONBody(data["sync_user"])


@router.get("/me", response_model=UserOut, summary="The current user")
async def me(ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("Me", ctx)
    return JSONBody(data["me"])


@router.post(
    "/api-keys", status_code=201, response_model=ApiKeyCreatedOut, summary="Create an API key"
)
async def create_api_key(body: ApiKeyCreate, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("CreateApiKey", ctx, {"input": {"name": body.name}})
    return JSONBody(data["create_api_key"], status_code=201)


@router.get("/api-keys", response_model=PageOut[ApiKeyOut], summary="List your API keys")
async def list_api_keys(
    ctx: RestContext,
    ops: Operations,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    data = await ops.run("ApiKeys", ctx, {"page": page, "limit": limit})
    return JSONBody(data["api_keys"])


@router.delete("/api-keys/{key_id}", response_model=MessageOut, summary="Revoke an API key")
async def revoke_api_key(key_id: uuid.UUID, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("RevokeApiKey", ctx, {"id": str(key_id)})
    return JSONBody(data["revoke_api_key"])
