"""Contacts: CRUD, search, identities, consent, merge, CSV import/export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from crocevia.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from crocevia.api.schemas import ConsentIn, ContactIn, MergeIn
from crocevia.errors import ValidationFailed
from crocevia.services import contacts

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get("")
def list_contacts(rt: RuntimeDep, actor: ActorDep, q: str = "", tag: str | None = None,
                  country: str | None = None, cursor: IdQuery = None, limit: int = 50) -> dict[str, Any]:
    page = contacts.list_contacts(rt, actor, q=q, tag=tag, country=country, after=cursor, limit=limit)
    return {"items": [contacts.contact_dict(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("", status_code=201)
def create_contact(body: ContactIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return contacts.contact_dict(contacts.create_contact(rt, actor, body.model_dump(exclude_unset=True)))


@router.get("/export.csv", response_class=StreamingResponse)
def export_csv(rt: RuntimeDep, actor: ActorDep) -> StreamingResponse:
    return StreamingResponse(contacts.export_csv(rt, actor), media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="contacts.csv"'})


@router.post("/import")
async def import_csv(request: Request, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Send the CSV as the request body (text/csv) or as a multipart field named ``file``."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationFailed("multipart body needs a 'file' field", field="file")
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("the CSV must be UTF-8", field="file") from exc
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(contacts.import_csv, rt, actor, text)
    return {"created": result.created, "updated": result.updated, "errors": result.errors}


@router.get("/{contact_id}")
def get_contact(contact_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    contact = contacts.get_contact(rt, actor, contact_id)
    out = contacts.contact_dict(contact)
    out["identities"] = [
        {"channel_id": ch.id, "channel_kind": ch.kind, "channel_name": ch.name, "external_id": i.external_id,
         "display_name": i.display_name}
        for i, ch in contacts.identities(rt, actor, contact_id)
    ]
    current, _ = contacts.consents(rt, actor, contact_id)
    out["consents"] = [{"channel_id": c.channel_id, "status": c.status, "source": c.source,
                        "changed_at": c.changed_at.isoformat()} for c in current]
    return out


@router.patch("/{contact_id}")
def update_contact(contact_id: IdPath, body: ContactIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return contacts.contact_dict(contacts.update_contact(rt, actor, contact_id, body.model_dump(exclude_unset=True)))


@router.delete("/{contact_id}", status_code=204)
def delete_contact(contact_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> Response:
    contacts.delete_contact(rt, actor, contact_id)
    return Response(status_code=204)


@router.post("/{contact_id}/merge")
def merge(contact_id: IdPath, body: MergeIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return contacts.contact_dict(contacts.merge_contacts(rt, actor, keep_id=contact_id, merge_id=body.merge_id))


@router.get("/{contact_id}/consents")
def get_consents(contact_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    current, history = contacts.consents(rt, actor, contact_id)
    return {
        "current": [{"channel_id": c.channel_id, "status": c.status, "source": c.source,
                     "changed_at": c.changed_at.isoformat()} for c in current],
        "history": [{"channel_id": e.channel_id, "status": e.status, "source": e.source, "evidence": e.evidence,
                     "at": e.created_at.isoformat()} for e in history],
    }


@router.post("/{contact_id}/consents", status_code=201)
def post_consent(contact_id: IdPath, body: ConsentIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    contacts.set_consent(rt, actor, contact_id, channel_id=body.channel_id, status=body.status,
                         source=body.source, evidence=body.evidence)
    return get_consents(contact_id, rt, actor)
