"""QQ bot webhook JSON -> channel-neutral events.

Envelope (``event-emit.md``): ``{"id": event id, "op": opcode, "d": {...}, "s": seq, "t": name}``;
op 0 is an event, op 13 the callback-URL validation. Event bodies follow ``send-receive/event.md``
and ``trans/msg-btn.md`` (field names cross-checked with botpy ``message.py``/``interaction.py``).
Ids are openids scoped to the bot: ``user_openid`` in one-to-one chats, ``member_openid`` per
group. QQ sends no delivery or read receipts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from crocevia.channels.base import IgnoredEvent, InboundEvent, InboundMessage, MediaRef
from crocevia.domain.enums import MessageKind
from crocevia.errors import ValidationFailed

OP_DISPATCH = 0
OP_VALIDATION = 13
# A reply to a button click uses ``event_id`` instead of ``msg_id`` (send.md); the prefix keeps
# the two kinds of reply handle apart once the hub stores them as external message ids.
EVENT_ID_PREFIX = "event:"


def envelope(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("body is not JSON", field="body") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed("body must be a JSON object", field="body")
    if not isinstance(payload.get("op"), int):
        raise ValidationFailed("payload has no integer op", field="op")
    return payload


def events_from_payload(payload: dict[str, Any]) -> list[InboundEvent]:
    op = payload["op"]
    if op == OP_VALIDATION:
        return [IgnoredEvent("validation")]  # answered by the adapter's handshake
    if op != OP_DISPATCH:
        return [IgnoredEvent(f"op:{op}")]
    name = payload.get("t")
    if not isinstance(name, str) or not name:
        raise ValidationFailed("dispatch payload has no event name", field="t")
    data = payload.get("d")
    if not isinstance(data, dict):
        raise ValidationFailed("dispatch payload has no d object", field="d")
    if name == "C2C_MESSAGE_CREATE":
        return [_message(data, sender=_text(data, "author", "user_openid"), thread="")]
    if name == "GROUP_AT_MESSAGE_CREATE":
        return [_message(data, sender=_text(data, "author", "member_openid"),
                         thread=_text(data, "group_openid"))]
    if name == "INTERACTION_CREATE":
        return [_interaction(data)]
    # FRIEND_ADD/DEL, C2C_MSG_RECEIVE/REJECT, GROUP_ADD/DEL_ROBOT, GROUP_MSG_RECEIVE/REJECT,
    # guild (频道) events...: acknowledged, not turned into messages.
    return [IgnoredEvent(name)]


def _message(data: dict[str, Any], *, sender: str, thread: str) -> InboundMessage:
    media = tuple(_attachment(a, i) for i, a in enumerate(_list(data, "attachments")))
    # In groups the text after the @bot mention starts with a space.
    text = str(data.get("content") or "").strip()
    return InboundMessage(
        external_message_id=_text(data, "id"),
        sender_id=sender,
        kind=MessageKind.MEDIA if media else MessageKind.TEXT,
        text=text,
        media=media,
        timestamp=_timestamp(data.get("timestamp")),
        thread_id=thread,
    )


def _interaction(data: dict[str, Any]) -> InboundMessage:
    resolved = data.get("data", {}).get("resolved", {}) if isinstance(data.get("data"), dict) else {}
    resolved = resolved if isinstance(resolved, dict) else {}
    chat_type = data.get("chat_type")
    group = str(data.get("group_openid") or "") if chat_type == 1 else ""
    sender = str((data.get("group_member_openid") if group else data.get("user_openid")) or "")
    if not sender:
        sender = str(resolved.get("user_id") or "")
    if not sender:
        raise ValidationFailed("interaction names no user", field="d.user_openid")
    # type 11: a callback button on a message; type 12: the C2C quick menu (feature_id).
    button_id = str(resolved.get("button_id") or resolved.get("feature_id") or "")
    payload = str(resolved.get("button_data") or "")
    return InboundMessage(
        external_message_id=EVENT_ID_PREFIX + _text(data, "id"),
        sender_id=sender,
        kind=MessageKind.BUTTON_REPLY,
        text=payload,
        content={"id": button_id, "payload": payload, "interaction_type": data.get("type")},
        timestamp=_timestamp(data.get("timestamp")),
        thread_id=group,
    )


def _attachment(raw: Any, index: int) -> MediaRef:
    if not isinstance(raw, dict) or not raw.get("url"):
        raise ValidationFailed("attachment without url", field=f"d.attachments[{index}].url")
    url = str(raw["url"])
    if "://" not in url:
        # Attachment URLs are sometimes sent without a scheme ("multimedia.nt.qq.com.cn/...").
        url = "https://" + url.lstrip("/")
    content_type = str(raw.get("content_type") or "")
    return MediaRef(
        url=url,
        # "voice" and "file" are not MIME types: keep only real ones.
        mime_type=content_type if "/" in content_type else "",
        filename=str(raw.get("filename") or ""),
    )


def _text(data: dict[str, Any], *path: str) -> str:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"event has no {'.'.join(path)}", field="d." + ".".join(path))
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ValidationFailed(f"{key} must be a list", field=f"d.{key}")
    return value


def _timestamp(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(str(raw))  # RFC 3339, e.g. 2023-11-06T13:37:18+08:00
    except ValueError as exc:
        raise ValidationFailed("timestamp must be RFC 3339", field="d.timestamp") from exc
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
