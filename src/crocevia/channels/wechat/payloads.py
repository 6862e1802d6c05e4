"""WeChat Official Account callback XML -> channel-neutral events.

Field names follow the official "receiving messages" pages as modelled by wechatpy
(``messages.py``, ``events.py``): ``ToUserName`` (the account's gh_ id), ``FromUserName``
(the user's OpenID), ``CreateTime`` (unix seconds), ``MsgType``, ``MsgId`` (absent on events).
WeChat retries a callback up to 3 times, so every event carries a stable id for dedupe:
``MsgId`` for messages, ``FromUserName:CreateTime`` for events (the official rule).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    StatusUpdate,
)
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ValidationFailed


def parse_xml(body: bytes) -> dict[str, str]:
    """The flat ``<xml>`` element WeChat sends, as tag -> text (nested elements are skipped)."""
    try:
        # defusedxml: the body is attacker-reachable until the signature is known good,
        # and entity expansion must never be allowed.
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise ValidationFailed("body is not well-formed XML", field="body") from exc
    if root.tag != "xml":
        raise ValidationFailed("WeChat callbacks have an <xml> root element", field="body")
    return {child.tag: (child.text or "") for child in root if len(child) == 0}


def event_from_xml(fields: dict[str, str]) -> InboundEvent:
    msg_type = _required(fields, "MsgType").strip().lower()
    sender = _required(fields, "FromUserName").strip()
    when = _create_time(fields)
    if msg_type == "event":
        return _event(fields, sender, when)
    msg_id = _required(fields, "MsgId").strip()
    common: dict[str, Any] = {"external_message_id": msg_id, "sender_id": sender, "timestamp": when}
    if msg_type == "text":
        menu_id = fields.get("bizmsgmenuid", "").strip()
        if menu_id:
            # The user tapped an item of a customer-service "msgmenu" message we sent.
            return InboundMessage(
                kind=MessageKind.BUTTON_REPLY,
                text=fields.get("Content", ""),
                content={"id": menu_id, "title": fields.get("Content", "")},
                **common,
            )
        return InboundMessage(kind=MessageKind.TEXT, text=fields.get("Content", ""), **common)
    if msg_type == "image":
        ref = MediaRef(provider_media_id=fields.get("MediaId", ""), url=fields.get("PicUrl", ""))
        return InboundMessage(kind=MessageKind.MEDIA, media=(ref,), content={"type": "image"}, **common)
    if msg_type == "voice":
        fmt = fields.get("Format", "").strip().lower()
        ref = MediaRef(provider_media_id=fields.get("MediaId", ""), mime_type=f"audio/{fmt}" if fmt else "")
        # Recognition is WeChat's own speech-to-text, present when the account enabled it.
        recognition = fields.get("Recognition", "")
        return InboundMessage(
            kind=MessageKind.MEDIA,
            text=recognition,
            media=(ref,),
            content={"type": "voice", "recognition": recognition} if recognition else {"type": "voice"},
            **common,
        )
    if msg_type in ("video", "shortvideo"):
        ref = MediaRef(provider_media_id=fields.get("MediaId", ""), mime_type="video/mp4")
        return InboundMessage(
            kind=MessageKind.MEDIA,
            media=(ref,),
            content={"type": msg_type, "thumb_media_id": fields.get("ThumbMediaId", "")},
            **common,
        )
    if msg_type == "location":
        label = fields.get("Label", "")
        location = {
            "latitude": _float(fields, "Location_X"),
            "longitude": _float(fields, "Location_Y"),
            "name": label,
        }
        if fields.get("Scale", "").strip():
            location["scale"] = _float(fields, "Scale")
        return InboundMessage(kind=MessageKind.LOCATION, text=label, content=location, **common)
    if msg_type == "link":
        link = {k.lower(): fields.get(k, "") for k in ("Title", "Description", "Url")}
        text = "\n".join(v for v in (link["title"], link["url"]) if v)
        return InboundMessage(kind=MessageKind.TEXT, text=text, content={"link": link}, **common)
    if msg_type == "miniprogrampage":
        card = {"title": fields.get("Title", ""), "app_id": fields.get("AppId", ""),
                "page_path": fields.get("PagePath", "")}
        return InboundMessage(kind=MessageKind.UNSUPPORTED, text=card["title"],
                              content={"miniprogrampage": card}, **common)
    return IgnoredEvent(f"msgtype:{msg_type}")


def _event(fields: dict[str, str], sender: str, when: datetime | None) -> InboundEvent:
    name = _required(fields, "Event").strip()
    key = name.lower()
    # The official dedupe handle for events (they carry no MsgId).
    event_id = f"{sender}:{fields.get('CreateTime', '').strip()}"
    if key == "click":
        # A custom-menu button of type "click": its EventKey is the button's key.
        event_key = fields.get("EventKey", "")
        return InboundMessage(
            external_message_id=event_id,
            sender_id=sender,
            kind=MessageKind.BUTTON_REPLY,
            text=event_key,
            content={"id": event_key, "source": "menu"},
            timestamp=when,
        )
    if key == "templatesendjobfinish":
        # The only delivery receipt WeChat sends: for template messages, keyed by their msgid.
        msg_id = _required(fields, "MsgID").strip()
        status = fields.get("Status", "").strip()
        if status == "success":
            return StatusUpdate(msg_id, MessageStatus.DELIVERED, when)
        return StatusUpdate(msg_id, MessageStatus.FAILED, when, error=status or "failed")
    # subscribe / unsubscribe / SCAN / LOCATION / VIEW / mass-send reports...: acknowledged only.
    return IgnoredEvent(f"event:{key}")


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None or not value.strip():
        raise ValidationFailed(f"WeChat callback has no {name}", field=name)
    return value


def _create_time(fields: dict[str, str]) -> datetime | None:
    raw = fields.get("CreateTime", "").strip()
    if not raw:
        return None
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValidationFailed("CreateTime must be unix seconds", field="CreateTime") from exc


def _float(fields: dict[str, str], name: str) -> float:
    try:
        return float(fields.get(name, ""))
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a number", field=name) from exc
