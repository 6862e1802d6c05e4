"""Uploading and reading attachments, with size and type limits and access checks."""

from __future__ import annotations

from sqlalchemy import select

from crocevia.errors import NotFound, ValidationFailed
from crocevia.media.storage import content_key
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.storage.tables import Attachment, Message


def check_upload(rt: Runtime, data: bytes, content_type: str) -> str:
    ctype = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    if len(data) == 0:
        raise ValidationFailed("the file is empty", field="file")
    if len(data) > rt.settings.media_max_bytes:
        raise ValidationFailed(f"the file is larger than {rt.settings.media_max_bytes} bytes", field="file")
    if ctype not in rt.settings.media_allowed_types:
        raise ValidationFailed(f"files of type {ctype} are not accepted", field="file")
    return ctype


def store_attachment(
    rt: Runtime, workspace_id: int, data: bytes, content_type: str, filename: str, message_id: int | None = None
) -> Attachment:
    ctype = check_upload(rt, data, content_type)
    key, digest = content_key(workspace_id, data)
    # Bytes first, row second: a crash in between leaves an orphan file, never a dangling row.
    rt.media.put(key, data, ctype)
    with rt.db.transaction() as s:
        att = Attachment(workspace_id=workspace_id, message_id=message_id, storage_key=key, content_type=ctype,
                         size=len(data), filename=filename[:300], sha256=digest)
        s.add(att)
        s.flush()
        return att


def upload(rt: Runtime, actor: Actor, data: bytes, content_type: str, filename: str) -> Attachment:
    actor.require_write()
    return store_attachment(rt, actor.workspace_id, data, content_type, filename)


def read_attachment(rt: Runtime, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
    """Only someone who may see the conversation the attachment belongs to may read it."""
    with rt.db.read() as s:
        att = s.get(Attachment, attachment_id)
        if att is None or att.workspace_id != actor.workspace_id:
            raise NotFound("attachment not found")
        if att.message_id is not None:
            channel_id = s.scalar(select(Message.channel_id).where(Message.id == att.message_id))
            if channel_id is not None and not actor.can_see_channel(channel_id):
                raise NotFound("attachment not found")
    return att, rt.media.get(att.storage_key)


def read_attachment_by_link(rt: Runtime, attachment_id: int) -> tuple[Attachment, bytes]:
    with rt.db.read() as s:
        att = s.get(Attachment, attachment_id)
        if att is None:
            raise NotFound("attachment not found")
    return att, rt.media.get(att.storage_key)
