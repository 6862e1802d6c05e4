"""Build Send API bodies for Messenger and Instagram (Instagram reuses Messenger's Send API).

One ``OutboundMessage`` may need two calls: an attachment cannot carry text, so media goes first
and the text follows (as Chatwoot does). Buttons become, in order of preference:

- Messenger: a button template with up to 3 postback buttons (text ≤ 640 chars), else quick replies;
- Instagram: quick replies (plain text only);
- quick replies: at most 13, titles ≤ 20 characters;
- anything that does not fit: numbered options in the text (``fallback_text``).

Outside the 24 h window a message tag may be passed as ``content["tag"]`` (e.g. ``HUMAN_AGENT``),
which is sent as ``messaging_type: MESSAGE_TAG`` plus ``tag``.
"""

from __future__ import annotations

from typing import Any, Literal

from crocevia.channels.base import OutboundMessage, fallback_text
from crocevia.domain.enums import MessageKind
from crocevia.errors import ValidationFailed

Platform = Literal["messenger", "instagram"]

MAX_QUICK_REPLIES = 13
MAX_TEMPLATE_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_TEMPLATE_TEXT = 640
MAX_PAYLOAD = 1000
TEXT_LIMIT: dict[Platform, int] = {"messenger": 2000, "instagram": 1000}


def build_send_bodies(msg: OutboundMessage, platform: Platform) -> list[dict[str, Any]]:
    if msg.template is not None or msg.kind is MessageKind.TEMPLATE:
        raise ValidationFailed(
            "Messenger and Instagram have no pre-approved templates; outside the 24 h window "
            "pass a message tag in content['tag'] instead",
            field="template",
        )
    if msg.kind is MessageKind.REACTION:
        raise ValidationFailed("sending reactions is not supported on this channel", field="kind")
    base: dict[str, Any] = {"recipient": {"id": msg.recipient_id}}
    tag = msg.content.get("tag")
    if tag:
        base.update(messaging_type="MESSAGE_TAG", tag=str(tag))
    elif platform == "messenger":
        base["messaging_type"] = "RESPONSE"

    text = _text_of(msg)
    bodies: list[dict[str, Any]] = []
    if msg.media_url:
        bodies.append({**base, "message": {"attachment": _attachment(msg, platform)}})
    if text or msg.buttons:
        bodies.append({**base, "message": _text_message(msg, text, platform)})
    if not bodies:
        raise ValidationFailed("message has neither text nor media", field="text")
    return bodies


def _text_of(msg: OutboundMessage) -> str:
    if msg.kind is MessageKind.LOCATION and "latitude" in msg.content:
        # The Send API cannot send a location; a map link is the graceful equivalent.
        lat, lon = msg.content["latitude"], msg.content.get("longitude")
        label = str(msg.content.get("name") or msg.text or "Location")
        return f"{label}\nhttps://maps.google.com/?q={lat},{lon}"
    return msg.text


def _attachment(msg: OutboundMessage, platform: Platform) -> dict[str, Any]:
    mime = msg.media_mime_type.lower()
    kind = next((t for t in ("image", "video", "audio") if mime.startswith(t + "/")), "file")
    payload: dict[str, Any] = {"url": msg.media_url}
    if platform == "messenger":
        payload["is_reusable"] = True  # lets Meta cache the file for later sends
    return {"type": kind, "payload": payload}


def _fits(msg: OutboundMessage, limit: int) -> bool:
    return 0 < len(msg.buttons) <= limit and all(
        0 < len(b.title) <= MAX_BUTTON_TITLE and len(b.id) <= MAX_PAYLOAD for b in msg.buttons
    )


def _text_message(msg: OutboundMessage, text: str, platform: Platform) -> dict[str, Any]:
    limit = TEXT_LIMIT[platform]
    if platform == "messenger" and text and len(text) <= MAX_BUTTON_TEMPLATE_TEXT and _fits(msg, MAX_TEMPLATE_BUTTONS):
        buttons = [{"type": "postback", "title": b.title, "payload": b.id} for b in msg.buttons]
        return {
            "attachment": {
                "type": "template",
                "payload": {"template_type": "button", "text": text, "buttons": buttons},
            }
        }
    if text and _fits(msg, MAX_QUICK_REPLIES):
        _check_length(text, limit)
        replies = [{"content_type": "text", "title": b.title, "payload": b.id} for b in msg.buttons]
        return {"text": text, "quick_replies": replies}
    rendered = fallback_text(msg) if msg.buttons else text
    _check_length(rendered, limit)
    return {"text": rendered}


def _check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise ValidationFailed(f"text is {len(text)} characters; this channel allows {limit}", field="text")
