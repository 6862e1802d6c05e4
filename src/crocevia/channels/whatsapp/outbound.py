"""Build WhatsApp Cloud API ``POST /{phone-number-id}/messages`` bodies.

Shapes and limits checked against pywa (``api.py`` ``send_message``, ``client.py``, ``types/callback.py``):
reply buttons ≤ 3 with titles ≤ 20 chars and ids ≤ 256; lists ≤ 10 rows with titles ≤ 24, ids ≤ 200,
button label ≤ 20; interactive body ≤ 1024, header/footer ≤ 60; text ≤ 4096. Groups are addressed
with ``recipient_type: group`` (Meta groups messaging reference); a business-scoped user id
(``US.123…``) goes in ``recipient`` instead of ``to``.
"""

from __future__ import annotations

import re
from typing import Any

from crocevia.channels.base import OutboundMessage, fallback_text
from crocevia.domain.enums import MessageKind
from crocevia.errors import ValidationFailed

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_INTERACTIVE_BODY = 1024
MAX_HEADER_FOOTER = 60
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_ID = 200
MAX_LIST_LABEL = 20

_BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?\d+$")
_PHONE = re.compile(r"^\+?[\d\s().-]+$")


def recipient_fields(msg: OutboundMessage) -> dict[str, str]:
    if msg.thread_id:
        return {"recipient_type": "group", "to": msg.thread_id}
    rid = msg.recipient_id.strip()
    if not rid:
        raise ValidationFailed("recipient is empty", field="recipient_id")
    if _BSUID.match(rid):
        return {"recipient_type": "individual", "recipient": rid}
    if _PHONE.match(rid):
        return {"recipient_type": "individual", "to": re.sub(r"\D", "", rid)}
    return {"recipient_type": "individual", "to": rid}


def build_bodies(msg: OutboundMessage) -> list[dict[str, Any]]:
    """Usually one body; two when the message is audio or a sticker with text (no captions there)."""
    base: dict[str, Any] = {"messaging_product": "whatsapp", **recipient_fields(msg)}
    context = {"context": {"message_id": msg.reply_to_external_id}} if msg.reply_to_external_id else {}
    if msg.template is not None or msg.kind is MessageKind.TEMPLATE:
        return [{**base, **context, "type": "template", "template": _template(msg)}]
    if msg.kind is MessageKind.REACTION:
        return [{**base, "type": "reaction", "reaction": _reaction(msg)}]
    if msg.kind is MessageKind.LOCATION and "latitude" in msg.content:
        return [{**base, **context, "type": "location", "location": _location(msg)}]
    if msg.buttons:
        interactive = _interactive(msg)
        if interactive is not None:
            return [{**base, **context, "type": "interactive", "interactive": interactive}]
    text = fallback_text(msg) if msg.buttons else msg.text
    if msg.media_url:
        mtype = media_type(msg)
        media: dict[str, Any] = {"link": msg.media_url}
        if mtype == "document" and msg.media_filename:
            media["filename"] = msg.media_filename
        if mtype in ("image", "video", "document"):
            if text:
                _check(text, MAX_CAPTION, "text")
                media["caption"] = text
            return [{**base, **context, "type": mtype, mtype: media}]
        first = {**base, **context, "type": mtype, mtype: media}
        return [first, _text_body(base, {}, text)] if text else [first]
    if not text:
        raise ValidationFailed("message has neither text nor media", field="text")
    return [_text_body(base, context, text)]


def media_type(msg: OutboundMessage) -> str:
    explicit = str(msg.content.get("media_type", ""))
    if explicit in ("image", "video", "audio", "document", "sticker"):
        return explicit
    mime = msg.media_mime_type.lower()
    if mime == "image/webp" and msg.content.get("sticker"):
        return "sticker"
    return next((t for t in ("image", "video", "audio") if mime.startswith(t + "/")), "document")


def _text_body(base: dict[str, Any], context: dict[str, Any], text: str) -> dict[str, Any]:
    _check(text, MAX_TEXT, "text")
    return {**base, **context, "type": "text", "text": {"preview_url": "http" in text, "body": text}}


def _template(msg: OutboundMessage) -> dict[str, Any]:
    tpl = msg.template or {}
    name = str(tpl.get("name") or "")
    if not name:
        raise ValidationFailed("a WhatsApp template needs its approved name", field="template.name")
    language = tpl.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    if not code:
        raise ValidationFailed("a WhatsApp template needs a language code such as en_US", field="template.language")
    body: dict[str, Any] = {"name": name, "language": {"code": str(code)}}
    if isinstance(tpl.get("components"), list):
        body["components"] = tpl["components"]  # header/button parameters, passed through as given
    elif tpl.get("parameters"):
        params = [p if isinstance(p, dict) else {"type": "text", "text": str(p)} for p in tpl["parameters"]]
        body["components"] = [{"type": "body", "parameters": params}]
    return body


def _reaction(msg: OutboundMessage) -> dict[str, str]:
    target = str(msg.content.get("message_id") or msg.reply_to_external_id or "")
    if not target:
        raise ValidationFailed("a reaction needs the id of the message it reacts to", field="content.message_id")
    # An empty emoji removes the business's reaction.
    return {"message_id": target, "emoji": str(msg.content.get("emoji", msg.text))}


def _location(msg: OutboundMessage) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    for key in ("latitude", "longitude"):
        try:
            loc[key] = float(msg.content[key])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(f"location needs a numeric {key}", field=f"content.{key}") from exc
    loc.update({k: str(msg.content[k]) for k in ("name", "address") if msg.content.get(k)})
    return loc


def _interactive(msg: OutboundMessage) -> dict[str, Any] | None:
    """Reply buttons or a list; None when this message cannot be carried (caller falls back)."""
    if not msg.text or len(msg.text) > MAX_INTERACTIVE_BODY:
        return None
    wants_list = msg.kind is MessageKind.LIST
    fits_buttons = len(msg.buttons) <= MAX_REPLY_BUTTONS and all(
        0 < len(b.title) <= MAX_BUTTON_TITLE and 0 < len(b.id) <= MAX_BUTTON_ID for b in msg.buttons
    )
    fits_list = len(msg.buttons) <= MAX_LIST_ROWS and all(
        0 < len(b.title) <= MAX_ROW_TITLE and 0 < len(b.id) <= MAX_ROW_ID for b in msg.buttons
    )
    interactive: dict[str, Any]
    if fits_buttons and not wants_list:
        buttons = [{"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in msg.buttons]
        interactive = {"type": "button", "body": {"text": msg.text}, "action": {"buttons": buttons}}
        header = _media_header(msg)
        if header is not None:
            interactive["header"] = header
        elif msg.media_url:
            return None  # media this header cannot show (audio): send media + numbered options
    elif fits_list and not msg.media_url:
        label = str(msg.content.get("list_button") or "Options")[:MAX_LIST_LABEL]
        rows = [{"id": b.id, "title": b.title} for b in msg.buttons]
        section_title = str(msg.content.get("list_section") or label)[:MAX_ROW_TITLE]
        interactive = {
            "type": "list",
            "body": {"text": msg.text},
            "action": {"button": label, "sections": [{"title": section_title, "rows": rows}]},
        }
    else:
        return None
    for part in ("header", "footer"):
        value = msg.content.get(part)
        if value and part not in interactive and len(str(value)) <= MAX_HEADER_FOOTER:
            interactive[part] = {"type": "text", "text": str(value)} if part == "header" else {"text": str(value)}
    return interactive


def _media_header(msg: OutboundMessage) -> dict[str, Any] | None:
    if not msg.media_url:
        return None
    mtype = media_type(msg)
    if mtype not in ("image", "video", "document"):
        return None
    return {"type": mtype, mtype: {"link": msg.media_url}}


def _check(text: str, limit: int, field: str) -> None:
    if len(text) > limit:
        raise ValidationFailed(f"{field} is {len(text)} characters; WhatsApp allows {limit}", field=field)
