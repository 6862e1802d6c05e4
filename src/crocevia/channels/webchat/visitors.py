"""The web chat's service layer: what a visitor may send, see and acknowledge.

The adapter translates frames; this module does what needs the database, always scoped to one
channel and one visitor (the token's ``visitor_id``, which is the contact's identity on the
channel). A visitor never reads or marks another visitor's messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.channels.base import ChannelConfig, InboundEvent, InboundMessage, StatusUpdate, WebhookRequest
from crocevia.channels.registry import get_adapter
from crocevia.channels.webchat.adapter import (
    PROVIDER_ID_PREFIX,
    WebchatAdapter,
    client_id_of,
)
from crocevia.channels.webchat.tokens import VisitorClaims
from crocevia.domain.enums import Direction, MessageStatus
from crocevia.runtime import Runtime
from crocevia.services import ingest
from crocevia.services.serialize import message_dict
from crocevia.storage.tables import Attachment, Channel, Contact, ContactIdentity, Conversation, Message

HISTORY_LIMIT = 100
# Outbound messages reach the visitor once the dispatcher has "sent" them (queued and failed
# ones never left the hub), so history shows exactly what the live feed would have shown.
VISIBLE_OUT = (MessageStatus.SENT.value, MessageStatus.DELIVERED.value, MessageStatus.READ.value)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def adapter() -> WebchatAdapter:
    a = get_adapter("webchat")
    assert isinstance(a, WebchatAdapter)
    return a


def widget_info(channel: Channel, cfg: ChannelConfig) -> dict[str, Any]:
    """What the widget shows about the business (no secrets, no internal ids)."""
    color = str(cfg.settings.get("color") or "")
    return {
        "title": str(cfg.settings.get("title") or channel.name),
        "greeting": str(cfg.settings.get("greeting") or "") or None,
        "color": color if _COLOR.match(color) else None,
    }


# -- what the visitor sees ------------------------------------------------------------------
def visitor_view(m: dict[str, Any], visitor_id: str, media: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A message as the widget shows it, from ``message_dict``: no agent ids, no internal fields."""
    inbound = m["direction"] == Direction.IN.value
    content = m.get("content") or {}
    return {
        "id": m["id"],
        "client_id": client_id_of(visitor_id, m.get("provider_message_id")) if inbound else None,
        "from": "visitor" if inbound else m["author_type"],
        "kind": m["kind"],
        "text": m["text"],
        "buttons": [{"id": str(b.get("id", "")), "title": str(b.get("title", ""))}
                    for b in content.get("buttons", []) if isinstance(b, dict)] if not inbound else [],
        "media": media or [],
        "status": m["status"],
        "created_at": m["created_at"],
    }


def _media(s: Session, rt: Runtime, msg: Message) -> list[dict[str, str]]:
    att_id = (msg.content or {}).get("attachment_id")
    if not att_id:
        return []
    att = s.get(Attachment, att_id)
    if att is None or att.workspace_id != msg.workspace_id:
        return []
    from crocevia.media.links import signed_media_url

    return [{"url": signed_media_url(rt, att), "mime_type": att.content_type, "filename": att.filename}]


def _contact_id(s: Session, channel: Channel, visitor_id: str) -> int | None:
    return s.scalar(select(ContactIdentity.contact_id).where(
        ContactIdentity.channel_id == channel.id, ContactIdentity.external_id == visitor_id))


def _conversation_ids(s: Session, channel: Channel, visitor_id: str) -> set[int]:
    contact_id = _contact_id(s, channel, visitor_id)
    if contact_id is None:
        return set()
    return set(s.scalars(select(Conversation.id).where(
        Conversation.channel_id == channel.id, Conversation.contact_id == contact_id)))


def conversation_ids(rt: Runtime, channel: Channel, visitor_id: str) -> set[int]:
    with rt.db.read() as s:
        return _conversation_ids(s, channel, visitor_id)


def history(rt: Runtime, channel: Channel, visitor_id: str, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """This visitor's latest messages on this channel, oldest first."""
    with rt.db.read() as s:
        convs = _conversation_ids(s, channel, visitor_id)
        if not convs:
            return []
        visible = (Message.direction == Direction.IN.value) | Message.status.in_(VISIBLE_OUT)
        rows = list(s.scalars(select(Message).where(
            Message.channel_id == channel.id, Message.conversation_id.in_(convs), visible,
        ).order_by(Message.id.desc()).limit(limit)))
        return [visitor_view(message_dict(m), visitor_id, _media(s, rt, m)) for m in reversed(rows)]


def sent_message(rt: Runtime, channel: Channel, visitor_id: str, message_id: int) -> dict[str, Any] | None:
    """An outbound message the dispatcher just sent, if it belongs to this visitor."""
    with rt.db.read() as s:
        msg = s.get(Message, message_id)
        if (msg is None or msg.channel_id != channel.id or msg.direction != Direction.OUT.value
                or msg.conversation_id not in _conversation_ids(s, channel, visitor_id)):
            return None
        return visitor_view(message_dict(msg), visitor_id, _media(s, rt, msg))


# -- what the visitor sends -----------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    claims: VisitorClaims
    acks: list[dict[str, Any]]


def receive(rt: Runtime, channel: Channel, cfg: ChannelConfig, req: WebhookRequest) -> Received:
    """verify → parse → keep only this visitor's receipts → ingest; one ack per frame item."""
    a = adapter()
    claims = a.visitor(req, cfg)
    events = a.parse(req, cfg)
    with rt.db.read() as s:
        events = _own_receipts_only(s, channel, claims.visitor_id, events)
    result = ingest.ingest(rt, channel, events) if events else None
    if result is not None and result.stored and (claims.email or claims.user_id):
        _annotate_contact(rt, channel, claims)
    acks: list[dict[str, Any]] = []
    receipts = 0
    with rt.db.read() as s:
        for e in events:
            if isinstance(e, InboundMessage):
                msg_id = s.scalar(select(Message.id).where(
                    Message.channel_id == channel.id, Message.direction == Direction.IN.value,
                    Message.provider_message_id == e.external_message_id))
                client_id = client_id_of(claims.visitor_id, e.external_message_id)
                new = result is not None and msg_id in result.stored
                acks.append({"type": "ack", "client_id": client_id, "id": msg_id, "duplicate": not new})
            elif isinstance(e, StatusUpdate):
                receipts += 1
    if receipts:
        acks.append({"type": "receipts", "applied": receipts})
    return Received(claims, acks)


def _own_receipts_only(s: Session, channel: Channel, visitor_id: str, events: list[InboundEvent]) -> list[InboundEvent]:
    wanted = [e for e in events if isinstance(e, StatusUpdate)]
    if not wanted:
        return events
    convs = _conversation_ids(s, channel, visitor_id)
    ids = [int(e.provider_message_id.removeprefix(PROVIDER_ID_PREFIX)) for e in wanted]
    mine = set(s.scalars(select(Message.provider_message_id).where(
        Message.id.in_(ids), Message.channel_id == channel.id, Message.direction == Direction.OUT.value,
        Message.conversation_id.in_(convs)))) if convs else set()
    return [e for e in events if not isinstance(e, StatusUpdate) or e.provider_message_id in mine]


def _annotate_contact(rt: Runtime, channel: Channel, claims: VisitorClaims) -> None:
    """Fill what the inbound pipeline does not carry: the e-mail and the verified customer id."""
    with rt.db.transaction() as s:
        contact_id = _contact_id(s, channel, claims.visitor_id)
        contact = s.get(Contact, contact_id) if contact_id is not None else None
        if contact is None:
            return
        if claims.email and not contact.email:
            contact.email = claims.email
        if claims.user_id and (contact.attributes or {}).get("webchat_user_id") != claims.user_id:
            contact.attributes = {**(contact.attributes or {}), "webchat_user_id": claims.user_id}


def is_own_message(visitor_id: str, message: dict[str, Any]) -> bool:
    """Whether a ``message.created`` event's message was written by this visitor."""
    return (message.get("direction") == Direction.IN.value
            and client_id_of(visitor_id, message.get("provider_message_id")) is not None)

