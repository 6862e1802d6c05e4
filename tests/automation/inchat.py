"""A customer chatting with a workspace's bots in-process: the message goes through ingest on a web chat
channel, the bot's durable task runs here and now, and the replies are read back from the database
(as `crocevia bot try` does, but in the test's own workspace and database, on either engine)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select

from crocevia.automation.engine import on_inbound
from crocevia.automation.hooks import BOT_TASK
from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.runtime import Runtime
from crocevia.services import channels
from crocevia.storage.tables import Channel, Conversation, Message, Task


def webchat(rt: Runtime, owner: Any) -> Channel:
    return channels.create_channel(rt, owner, kind="webchat", name="sito", credentials={
        "widget_secret": secrets.token_urlsafe(32), "identity_secret": secrets.token_urlsafe(32)})


class InChat:
    def __init__(self, rt: Runtime, channel: Channel, sender: str) -> None:
        self.rt, self.channel, self.sender = rt, channel, sender
        self.last_id = 0
        self.conv_id: int | None = None

    def say(self, text: str) -> list[dict[str, Any]]:
        return self._send(InboundMessage(external_message_id=uuid.uuid4().hex, sender_id=self.sender,
                                         kind=MessageKind.TEXT, text=text))

    def press(self, button_id: str, title: str) -> list[dict[str, Any]]:
        return self._send(InboundMessage(external_message_id=uuid.uuid4().hex, sender_id=self.sender,
                                         kind=MessageKind.BUTTON_REPLY, text=title,
                                         content={"id": button_id, "title": title}))

    def conversation(self) -> Conversation:
        assert self.conv_id is not None, "say something first"
        with self.rt.db.read() as s:
            conv = s.get(Conversation, self.conv_id)
            assert conv is not None
            return conv

    def _send(self, msg: InboundMessage) -> list[dict[str, Any]]:
        from crocevia.services.ingest import ingest

        stored = ingest(self.rt, self.channel, [msg]).stored
        with self.rt.db.read() as s:
            self.conv_id = s.scalar(select(Message.conversation_id).where(Message.id == stored[0]))
        while True:
            with self.rt.db.transaction() as s:
                task = s.scalar(select(Task).where(Task.workspace_id == self.channel.workspace_id,
                                                   Task.kind == BOT_TASK, Task.status == "pending")
                                .order_by(Task.id).limit(1))
                if task is None:
                    break
                task.status = "done"
            on_inbound(self.rt, task)
        return self.replies()

    def replies(self) -> list[dict[str, Any]]:
        """What the bot wrote since the last call: text and buttons."""
        with self.rt.db.read() as s:
            rows = list(s.scalars(select(Message).where(Message.conversation_id == self.conv_id,
                                                        Message.direction == "out", Message.id > self.last_id)
                                  .order_by(Message.id)))
        if rows:
            self.last_id = rows[-1].id
        return [{"text": m.text or "", "buttons": list((m.content or {}).get("buttons", []))} for m in rows]
