"""REST under /auth: each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import Field

from torale.http.bodies import StrictBody, documented
from torale.http.deps import IdentityCall, RestCall
from torale.http.handlers import operation_answer, operation_page
from torale.http.idempotency import creates
from torale.http.openapi import REVOKING, runs
from torale.http.responses import JSONBody
from torale.users.service import API_KEY_NAME_MAX

router = APIRouter(prefix="/auth", tags=["auth"])


class ApiKeyCreate(StrictBody):
    name: str = Field(
        json_schema_extra=documented({"maxLength": API_KEY_NAME_MAX, "pattern": r"\S"})
    )


@router.post(
    "/sync-user",
    **runs(
        "SyncUser",
        {
            403: "Creating a user or changing its email needs a verified email",
            409: "The email belongs to another account, or would link an existing "
            "account without a verified email",
            422: "The token's email claim is missing or unusable",
        },
    ),
    summary="Create or update your user from your JWT",
)
async def sync_user(call: IdentityCall) -> JSONBody:
    return JSONBody(await call.run())


router.get("/me", **runs("Me"), summary="The current user", name="me")(operation_answer)


@router.post("/api-keys", **creates("CreateApiKey"), summary="Create an API key")
async def create_api_key(body: ApiKeyCreate, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"input": {"name": body.name}}), status_code=201)


router.get("/api-keys", **runs("ApiKeys"), summary="List your API keys", name="list_api_keys")(
    operation_page
)


@router.delete(
    "/api-keys/{key_id}",
    **runs("RevokeApiKey", {404: "API key not found", 503: REVOKING}),
    summary="Revoke an API key",
)
async def revoke_api_key(key_id: uuid.UUID, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"id": str(key_id)}))
