"""Fetch inbound media through the platform's media API and store it as an attachment."""

from __future__ import annotations

from typing import Any

import httpx

from crocevia.channels.base import MediaRef
from crocevia.channels.registry import get_adapter
from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services.attachments import store_attachment
from crocevia.services.channels import config_for
from crocevia.services.events import emit
from crocevia.services.serialize import message_dict
from crocevia.storage.tables import Channel, Message, Task

KIND = "media.fetch"


@task_handler(KIND)
def fetch_media(rt: Runtime, task: Task) -> None:
    message_id = int(task.payload["message_id"])
    index = int(task.payload["index"])
    with rt.db.read() as s:
        msg = s.get(Message, message_id)
        channel = s.get(Channel, msg.channel_id) if msg else None
    if msg is None or channel is None:
        return
    media: list[dict[str, Any]] = list((msg.content or {}).get("media", []))
    if index >= len(media) or media[index].get("attachment_id"):
        return  # already fetched (a re-run after a crash does nothing twice)
    item = media[index]
    ref = MediaRef(provider_media_id=item.get("provider_media_id", ""), url=item.get("url", ""),
                   mime_type=item.get("mime_type", ""), filename=item.get("filename", ""))
    with httpx.Client(timeout=30.0, follow_redirects=True) as http:
        data, mime = get_adapter(channel.kind).fetch_media(ref, config_for(rt, channel), http)
    att = store_attachment(rt, msg.workspace_id, data, mime or ref.mime_type, ref.filename or f"media-{msg.id}",
                           message_id=msg.id)
    with rt.db.transaction() as s:
        fresh = s.get(Message, message_id)
        if fresh is None:
            return
        content = dict(fresh.content or {})
        items = list(content.get("media", []))
        items[index] = {**items[index], "attachment_id": att.id, "size": att.size, "mime_type": att.content_type}
        content["media"] = items
        fresh.content = content
        emit(s, "message.updated", fresh.workspace_id, {"message": message_dict(fresh)},
             channel_id=fresh.channel_id)
