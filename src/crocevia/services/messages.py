"""Sending and listing messages. A send is a message row plus an outbox row, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.channels.base import Capabilities
from crocevia.channels.registry import get_adapter
from crocevia.dlp.policy import Direction as DlpDirection
from crocevia.domain.enums import AuthorType, ConsentStatus, Direction, MessageKind, MessageStatus
from crocevia.errors import NotFound, PolicyViolation, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.conversations import get_conversation_in
from crocevia.services.events import emit
from crocevia.services.protection import protect
from crocevia.services.protection import record as record_protection
from crocevia.services.serialize import conversation_dict, message_dict
from crocevia.storage.tables import (
    Attachment,
    Channel,
    ContactConsent,
    Conversation,
    Message,
    OutboxItem,
)

MAX_BUTTONS = 10


@dataclass(frozen=True)
class SendRequest:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    template: dict[str, Any] | None = None
    attachment_id: int | None = None
    idempotency_key: str | None = None
    # A message tag (Messenger/Instagram HUMAN_AGENT...) allowed outside the reply window.
    tag: str | None = None
    author_type: AuthorType = AuthorType.AGENT


def _describe(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60}-hour" if minutes % 60 == 0 else f"{minutes}-minute"


def window_closes_at(conv: Conversation, caps: Capabilities) -> datetime | None:
    if caps.reply_window is None or conv.last_inbound_at is None:
        return None
    return conv.last_inbound_at + caps.reply_window


def check_send(
    s: Session, rt: Runtime, conv: Conversation, channel: Channel, req: SendRequest
) -> tuple[MessageKind, dict[str, Any]]:
    """Validate a send against the channel's capabilities and the platform's rules."""
    caps = get_adapter(channel.kind).capabilities
    kind, content = check_payload(s, conv, caps, req)
    check_window(rt, conv, caps, req)
    if caps.opt_out_blocks_all:
        consent = s.scalar(select(ContactConsent.status).where(
            ContactConsent.contact_id == conv.contact_id, ContactConsent.channel_id == channel.id))
        if consent == ConsentStatus.OPTED_OUT.value:
            raise PolicyViolation("The customer replied STOP on this channel: no message may be sent until they "
                                  "opt back in (START).", rule="opted_out")
    return kind, content


def check_payload(
    s: Session, conv: Conversation, caps: Capabilities, req: SendRequest
) -> tuple[MessageKind, dict[str, Any]]:
    """What the message is (text, buttons, template, media) and whether this channel can carry it."""
    content: dict[str, Any] = {}
    if not (req.text.strip() or req.template or req.attachment_id):
        raise ValidationFailed("a message needs text, a template or an attachment", field="text")
    if len(req.text) > caps.max_text_length:
        raise ValidationFailed(f"text is longer than this channel allows ({caps.max_text_length})", field="text")
    kind = MessageKind.TEXT
    if req.buttons:
        if len(req.buttons) > MAX_BUTTONS:
            raise ValidationFailed(f"at most {MAX_BUTTONS} buttons", field="buttons")
        for i, b in enumerate(req.buttons):
            if not isinstance(b, dict) or not str(b.get("title", "")).strip():
                raise ValidationFailed("each button needs a title", field=f"buttons[{i}].title")
        content["buttons"] = [{"id": str(b.get("id") or i + 1), "title": str(b["title"])}
                              for i, b in enumerate(req.buttons)]
        kind = MessageKind.BUTTONS
    if req.template:
        if not caps.templates:
            raise ValidationFailed("this channel has no message templates", field="template")
        if not str(req.template.get("name", "")).strip():
            raise ValidationFailed("a template needs a name", field="template.name")
        content["template"] = req.template
        kind = MessageKind.TEMPLATE
    if req.attachment_id is not None:
        att = s.get(Attachment, req.attachment_id)
        if att is None or att.workspace_id != conv.workspace_id:
            raise NotFound("attachment not found", field="attachment_id")
        if not caps.media:
            raise ValidationFailed("this channel cannot send media", field="attachment_id")
        content["attachment_id"] = att.id
        content["media"] = [{"mime_type": att.content_type, "filename": att.filename, "attachment_id": att.id}]
        if kind is MessageKind.TEXT:
            kind = MessageKind.MEDIA
    if req.tag:
        content["tag"] = req.tag
    return kind, content


def check_window(rt: Runtime, conv: Conversation, caps: Capabilities, req: SendRequest) -> None:
    """Free text outside the platform's reply window is refused: only a template (or a tag) may go."""
    closes = window_closes_at(conv, caps)
    now = rt.clock.now()
    window_closed = conv.last_inbound_at is None or (closes is not None and closes <= now)
    if caps.reply_window is not None and not req.template and not req.tag and window_closed:
        span = _describe(caps.reply_window)
        when = f" It closed at {closes.isoformat(timespec='minutes')}." if closes else ""
        raise PolicyViolation(
            f"The {span} reply window of this channel is closed: the customer has not written in the last "
            f"{span}.{when} Only an approved template can be sent now.",
            rule=caps.reply_window_rule or "reply_window",
            window_closed_at=closes.isoformat() if closes else None,
        )


def send_message(rt: Runtime, actor: Actor, conversation_id: int, req: SendRequest) -> Message:
    actor.require_write()
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        if req.idempotency_key:
            prior = s.scalar(select(Message).where(Message.workspace_id == actor.workspace_id,
                                                   Message.idempotency_key == req.idempotency_key))
            if prior is not None:
                if prior.conversation_id != conv.id:
                    raise ValidationFailed("idempotency key already used for another conversation",
                                           field="idempotency_key")
                return prior
        return enqueue_in(s, rt, conv, req, author_user_id=actor.user_id)


def enqueue_in(
    s: Session, rt: Runtime, conv: Conversation, req: SendRequest, *, author_user_id: int | None
) -> Message:
    """Write an outbound message and its outbox row (callers hold the transaction)."""
    channel = s.get(Channel, conv.channel_id)
    if channel is None:
        raise NotFound("channel not found")
    kind, content = check_send(s, rt, conv, channel, req)
    # A blocked label (a card number, a password) stops the send here, with the safe alternative.
    direction = DlpDirection.BOT if req.author_type is AuthorType.BOT else DlpDirection.OUTBOUND
    protected = protect(s, workspace_id=conv.workspace_id, channel_id=conv.channel_id, direction=direction,
                        text=req.text, content=content, custom=rt.settings.dlp_custom_detectors)
    now = rt.clock.now()
    msg = Message(
        workspace_id=conv.workspace_id, conversation_id=conv.id, channel_id=conv.channel_id,
        direction=Direction.OUT.value, author_type=req.author_type.value, author_user_id=author_user_id,
        kind=kind.value, text=protected.text, content=protected.content, status=MessageStatus.QUEUED.value,
        idempotency_key=req.idempotency_key, created_at=now,
    )
    s.add(msg)
    s.flush()
    record_protection(s, protected, workspace_id=conv.workspace_id, conversation_id=conv.id, message_id=msg.id,
                      agent_user_id=author_user_id, box_encrypt=rt.box.encrypt, now=now)
    if msg.idempotency_key is None:
        # Every outbound message carries a key, so a provider can drop a retried send.
        msg.idempotency_key = f"crv-{conv.workspace_id}-{msg.id}"
    if req.attachment_id is not None:
        att = s.get(Attachment, req.attachment_id)
        if att is not None and att.message_id is None:
            att.message_id = msg.id
    s.add(OutboxItem(workspace_id=conv.workspace_id, message_id=msg.id, channel_id=conv.channel_id,
                     next_attempt_at=now, created_at=now))
    conv.last_activity_at = now
    conv.last_message_preview = (protected.text or f"[{kind.value}]")[:160]
    if req.author_type is AuthorType.AGENT:
        conv.unread_count = 0
    emit(s, "message.created", conv.workspace_id,
         {"message": message_dict(msg), "conversation": conversation_dict(conv)}, channel_id=conv.channel_id)
    return msg


@dataclass(frozen=True)
class MessagePage:
    items: list[Message]
    next_cursor: int | None


def list_messages(
    rt: Runtime, actor: Actor, conversation_id: int, *, before: int | None = None, limit: int = 50
) -> MessagePage:
    """Newest first, paged by id (keyset)."""
    limit = max(1, min(limit, 200))
    with rt.db.read() as s:
        get_conversation_in(s, actor, conversation_id)
        stmt = select(Message).where(Message.conversation_id == conversation_id)
        if before is not None:
            stmt = stmt.where(Message.id < before)
        rows = list(s.scalars(stmt.order_by(Message.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    return MessagePage(items, items[-1].id if len(rows) > limit else None)


def get_message(rt: Runtime, actor: Actor, message_id: int) -> Message:
    with rt.db.read() as s:
        msg = s.get(Message, message_id)
        if msg is None or msg.workspace_id != actor.workspace_id or not actor.can_see_channel(msg.channel_id):
            raise NotFound("message not found")
        return msg


def window_state(rt: Runtime, actor: Actor, conversation_id: int) -> dict[str, Any]:
    """Whether free text may be sent now, and why not: what the composer shows an agent."""
    with rt.db.read() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        channel = s.get(Channel, conv.channel_id)
        assert channel is not None
        caps = get_adapter(channel.kind).capabilities
        closes = window_closes_at(conv, caps)
        is_open = caps.reply_window is None or (closes is not None and closes > rt.clock.now())
        return {"open": is_open, "closes_at": closes.isoformat() if closes else None,
                "rule": caps.reply_window_rule or None, "templates": caps.templates}
