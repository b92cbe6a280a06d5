"""GET /public/tasks/{id}/feed.atom: no credential needed, counted per client address."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Header, Request, Response

from torale.feeds import atom
from torale.http.deps import PublicCall
from torale.http.openapi import runs

router = APIRouter(prefix="/public/tasks", tags=["feeds"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Atom 1.0 feed (RFC 4287)",
        "content": {"application/atom+xml": {"schema": {"type": "string"}}},
    },
    304: {"description": "Not modified since the ETag / date the client has"},
}


@router.get(
    "/{task_id}/feed.atom",
    **runs("PublicTaskFeed", {404: "No such task, or the task is not public"}),
    summary="Atom feed of a public task's condition-met executions",
    response_class=Response,
    responses=_RESPONSES,
)
async def task_feed(
    task_id: uuid.UUID,
    request: Request,
    call: PublicCall,
    if_none_match: str | None = Header(None),
    if_modified_since: str | None = Header(None),
) -> Response:
    feed = await call.run({"id": str(task_id)})
    body = atom.render(feed, str(request.url))
    etag = atom.etag_of(body)
    headers = {
        "ETag": etag,
        "Last-Modified": atom.last_modified(feed["updated_at"]),
        # Readers revalidate every time; the validators make that a cheap 304.
        "Cache-Control": "public, no-cache",
    }
    if atom.not_modified(etag, feed["updated_at"], if_none_match, if_modified_since):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=atom.MEDIA_TYPE, headers=headers)
