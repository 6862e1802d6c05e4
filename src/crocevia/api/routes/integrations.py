"""Outgoing webhook subscriptions and attachments."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, UploadFile

from crocevia.api.deps import ActorDep, IdPath, RuntimeDep
from crocevia.api.schemas import (
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionPublic,
)
from crocevia.errors import ValidationFailed
from crocevia.media.links import check_media_signature
from crocevia.services import attachments, webhooks_out

router = APIRouter(tags=["integrations"])
public_router = APIRouter(include_in_schema=False)


@router.get("/webhooks", response_model=list[WebhookSubscriptionPublic])
def list_subscriptions(rt: RuntimeDep, actor: ActorDep) -> list[WebhookSubscriptionPublic]:
    return [WebhookSubscriptionPublic.model_validate(s, from_attributes=True)
            for s in webhooks_out.list_subscriptions(rt, actor)]


@router.post("/webhooks", response_model=WebhookSubscriptionCreated, status_code=201)
def create_subscription(body: WebhookSubscriptionCreate, rt: RuntimeDep, actor: ActorDep) -> WebhookSubscriptionCreated:
    sub, secret = webhooks_out.create_subscription(rt, actor, url=body.url, events=body.events, secret=body.secret)
    return WebhookSubscriptionCreated(
        **WebhookSubscriptionPublic.model_validate(sub, from_attributes=True).model_dump(), secret=secret)


@router.delete("/webhooks/{sub_id}", status_code=204)
def delete_subscription(sub_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    webhooks_out.delete_subscription(rt, actor, sub_id)
    return Response(status_code=204)


@router.get("/webhooks/{sub_id}/deliveries")
def deliveries(sub_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [{"id": d.id, "event_type": d.event_type, "status": d.status, "attempts": d.attempts,
             "response_status": d.response_status, "last_error": d.last_error,
             "created_at": d.created_at.isoformat()} for d in webhooks_out.list_deliveries(rt, actor, sub_id)]


@router.post("/attachments", status_code=201)
async def upload(file: UploadFile, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    data = await file.read(rt.settings.media_max_bytes + 1)
    from starlette.concurrency import run_in_threadpool

    att = await run_in_threadpool(attachments.upload, rt, actor, data, file.content_type or "", file.filename or "")
    return {"id": att.id, "content_type": att.content_type, "size": att.size, "filename": att.filename,
            "sha256": att.sha256}


@router.get("/attachments/{attachment_id}")
def download(attachment_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    att, data = attachments.read_attachment(rt, actor, attachment_id)
    return Response(data, media_type=att.content_type,
                    headers={"Content-Disposition": content_disposition(att.filename or str(att.id)),
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback for old clients plus the exact name in UTF-8 (RFC 8187).

    Header values are Latin-1 on the wire, so a raw "€" or emoji in the name cannot go there.
    """
    fallback = "".join(c for c in filename if 32 <= ord(c) < 127 and c not in '"\\') or "file"
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@public_router.get("/media/{attachment_id}")
def signed_media(attachment_id: IdPath, request: Request, rt: RuntimeDep) -> Response:
    """What providers fetch when we send media by URL: only with a valid, unexpired signature."""
    try:
        exp = int(request.query_params.get("exp", "0"))
    except ValueError as exc:
        raise ValidationFailed("exp must be a number", field="exp") from exc
    if not check_media_signature(rt, attachment_id, exp, request.query_params.get("sig", "")):
        return Response(status_code=403)
    att, data = attachments.read_attachment_by_link(rt, attachment_id)
    return Response(data, media_type=att.content_type, headers={"X-Content-Type-Options": "nosniff"})
