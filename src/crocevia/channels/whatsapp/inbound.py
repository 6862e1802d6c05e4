"""Parse WhatsApp Cloud API webhooks into channel-neutral events.

Envelope: ``object: whatsapp_business_account`` → ``entry[].changes[]`` with ``field: messages``
→ ``value`` holding ``metadata``, ``contacts[]``, ``messages[]`` and/or ``statuses[]``.
Shapes checked against pywa's test fixtures (``tests/data/updates/*.json``: message, callback_button,
callback_selection, message_status, edited_message) and Meta's group-messages webhook reference
(``messages[].group_id``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    MessageEdit,
    Reaction,
    StatusUpdate,
)
from crocevia.channels.meta.payload import (
    items,
    load_object,
    number,
    opt_list,
    opt_obj,
    opt_str,
    req_list,
    req_obj,
    req_str,
    unix_time,
)
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ValidationFailed

EXPECTED_OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
_STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    # A voice note was played: it was read, and more; the hub has no finer status.
    "played": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
}


def parse_webhook(body: bytes, phone_number_id: str) -> list[InboundEvent]:
    payload = load_object(body)
    if payload.get("object") != EXPECTED_OBJECT:
        raise ValidationFailed(f"object must be {EXPECTED_OBJECT!r}", field="object")
    events: list[InboundEvent] = []
    for entry_path, entry in items(req_list(payload, "entry", ""), "entry"):
        for path, change in items(req_list(entry, "changes", entry_path), f"{entry_path}.changes"):
            field = opt_str(change, "field", path)
            if field != "messages":
                # Template status, account updates, echoes of the Business app...: acknowledged only.
                events.append(IgnoredEvent(f"field:{field or 'unknown'}"))
                continue
            events.extend(_parse_value(req_obj(change, "value", path), f"{path}.value", phone_number_id))
    return events


def _parse_value(value: dict[str, Any], path: str, phone_number_id: str) -> list[InboundEvent]:
    metadata = opt_obj(value, "metadata", path)
    number_id = opt_str(metadata, "phone_number_id", f"{path}.metadata")
    if phone_number_id and number_id and number_id != phone_number_id:
        # One Meta app may serve several numbers; each is its own channel.
        return [IgnoredEvent(f"other_phone_number:{number_id}")]
    contacts = [c for _, c in items(opt_list(value, "contacts", path), f"{path}.contacts")]
    events: list[InboundEvent] = []
    for msg_path, message in items(opt_list(value, "messages", path), f"{path}.messages"):
        events.append(_parse_message(message, msg_path, contacts))
    for st_path, status in items(opt_list(value, "statuses", path), f"{path}.statuses"):
        events.append(_parse_status(status, st_path))
    if not events:
        events.append(IgnoredEvent("messages:errors" if value.get("errors") else "messages:empty"))
    return events


def _sender(message: dict[str, Any], path: str, contacts: list[dict[str, Any]]) -> tuple[str, str | None, str | None]:
    """(sender id, display name, phone in E.164). Users with a username may hide their phone
    number; then the business-scoped user id (``user_id``, e.g. ``US.1349…``) is the only key."""
    wa_id = opt_str(message, "from", path)
    contact = next((c for c in contacts if wa_id and str(c.get("wa_id", "")) == wa_id), None)
    if contact is None and len(contacts) == 1:
        contact = contacts[0]
    contact = contact or {}
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    name = str(profile["name"]) if profile and profile.get("name") else None
    sender = wa_id or opt_str(message, "from_user_id", path) or str(contact.get("user_id") or "")
    if not sender:
        raise ValidationFailed(f"{path}.from is required", field=f"{path}.from")
    phone = f"+{wa_id}" if wa_id.isdigit() else None
    return sender, name, phone


def _parse_message(message: dict[str, Any], path: str, contacts: list[dict[str, Any]]) -> InboundEvent:
    msg_id = req_str(message, "id", path)
    mtype = opt_str(message, "type", path)
    sender, name, phone = _sender(message, path, contacts)
    ts = unix_time(message, "timestamp", path, millis=False)
    if mtype == "reaction":
        reaction = req_obj(message, "reaction", path)
        target = req_str(reaction, "message_id", f"{path}.reaction")
        return Reaction(target, sender, opt_str(reaction, "emoji", f"{path}.reaction"), ts)
    if mtype == "edit":
        return _parse_edit(message, path, sender, ts)
    if mtype in ("system", "revoke", "request_welcome", "ephemeral"):
        return IgnoredEvent(f"message:{mtype}")
    parsed = _content(message, mtype, path)
    if parsed is None:
        return IgnoredEvent(f"message:{mtype or 'unknown'}")
    kind, text, content, media = parsed
    context = opt_obj(message, "context", path)
    if context.get("forwarded") or context.get("frequently_forwarded"):
        content["forwarded"] = True
    if message.get("referral"):
        content["referral"] = message["referral"]  # click-to-WhatsApp ad that started the chat
    return InboundMessage(
        external_message_id=msg_id,
        sender_id=sender,
        sender_name=name,
        sender_phone=phone,
        kind=kind,
        text=text,
        content=content,
        media=media,
        timestamp=ts,
        thread_id=opt_str(message, "group_id", path),
        reply_to_external_id=str(context["id"]) if context.get("id") else None,
    )


Parsed = tuple[MessageKind, str, dict[str, Any], tuple[MediaRef, ...]]


def _content(message: dict[str, Any], mtype: str, path: str) -> Parsed | None:
    if mtype == "text":
        return MessageKind.TEXT, req_str(req_obj(message, "text", path), "body", f"{path}.text"), {}, ()
    if mtype in MEDIA_TYPES:
        return _media(message, mtype, path)
    if mtype == "location":
        loc = req_obj(message, "location", path)
        lpath = f"{path}.location"
        content: dict[str, Any] = {
            "latitude": number(loc, "latitude", lpath),
            "longitude": number(loc, "longitude", lpath),
        }
        content.update({k: str(loc[k]) for k in ("name", "address", "url") if loc.get(k)})
        return MessageKind.LOCATION, str(loc.get("name") or ""), content, ()
    if mtype == "contacts":
        cards = items(req_list(message, "contacts", path), f"{path}.contacts")
        names = [opt_str(opt_obj(card, "name", cpath), "formatted_name", f"{cpath}.name") for cpath, card in cards]
        return MessageKind.CONTACTS, ", ".join(n for n in names if n), {"contacts": [c for _, c in cards]}, ()
    if mtype == "interactive":
        return _interactive(message, path)
    if mtype == "button":  # a template's quick-reply button
        button = req_obj(message, "button", path)
        title = opt_str(button, "text", f"{path}.button")
        payload = opt_str(button, "payload", f"{path}.button")
        return MessageKind.BUTTON_REPLY, title, {"id": payload, "title": title, "template_button": True}, ()
    if mtype in ("unsupported", "order"):
        content = {"type": mtype}
        if isinstance(message.get("order"), dict):
            content["order"] = message["order"]
        errors = message.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            content["error"] = str(errors[0].get("title") or errors[0].get("message") or "")
        text = str((message.get("order") or {}).get("text", "")) if mtype == "order" else ""
        return MessageKind.UNSUPPORTED, text, content, ()
    return None


def _media(message: dict[str, Any], mtype: str, path: str) -> Parsed:
    media = req_obj(message, mtype, path)
    mpath = f"{path}.{mtype}"
    caption = opt_str(media, "caption", mpath)
    ref = MediaRef(
        provider_media_id=req_str(media, "id", mpath),
        url=opt_str(media, "url", mpath),
        mime_type=opt_str(media, "mime_type", mpath),
        filename=opt_str(media, "filename", mpath),
        caption=caption,
    )
    content: dict[str, Any] = {"media_type": mtype}
    if media.get("voice") is True:
        content["voice"] = True
    if media.get("animated") is True:
        content["animated"] = True
    return MessageKind.MEDIA, caption, content, (ref,)


def _interactive(message: dict[str, Any], path: str) -> Parsed | None:
    interactive = opt_obj(message, "interactive", path)
    ipath = f"{path}.interactive"
    itype = opt_str(interactive, "type", ipath)
    if itype in ("button_reply", "list_reply"):
        reply = req_obj(interactive, itype, ipath)
        rpath = f"{ipath}.{itype}"
        title = opt_str(reply, "title", rpath)
        content: dict[str, Any] = {"id": req_str(reply, "id", rpath), "title": title}
        if itype == "list_reply":
            content.update(list=True, description=opt_str(reply, "description", rpath))
        return MessageKind.BUTTON_REPLY, title, content, ()
    return None  # flow replies (nfm_reply) and interactive payloads Meta could not decode


def _parse_edit(message: dict[str, Any], path: str, sender: str, ts: datetime | None) -> InboundEvent:
    edit = req_obj(message, "edit", path)
    epath = f"{path}.edit"
    original = req_str(edit, "original_message_id", epath)
    new = opt_obj(edit, "message", epath)
    new_type = opt_str(new, "type", f"{epath}.message")
    inner = opt_obj(new, new_type, f"{epath}.message") if new_type else {}
    new_text = str((inner.get("body") if new_type == "text" else inner.get("caption")) or "")
    return MessageEdit(original, sender, new_text, ts)


def _parse_status(status: dict[str, Any], path: str) -> InboundEvent:
    wamid = req_str(status, "id", path)
    raw = opt_str(status, "status", path)
    mapped = _STATUSES.get(raw)
    if mapped is None:
        return IgnoredEvent(f"status:{raw or 'unknown'}")
    error = None
    if mapped is MessageStatus.FAILED:
        error = _error_text(opt_list(status, "errors", path)) or "failed (no reason given)"
    return StatusUpdate(wamid, mapped, unix_time(status, "timestamp", path, millis=False), error)


def _error_text(errors: list[Any]) -> str:
    """``131026 Message undeliverable: <details>`` — the code first, for support look-ups."""
    parts = []
    for err in errors:
        if not isinstance(err, dict):
            continue
        text = f"{err.get('code', '')} {err.get('title') or err.get('message') or ''}".strip()
        details = err.get("error_data", {}).get("details") if isinstance(err.get("error_data"), dict) else None
        parts.append(f"{text}: {details}" if details else text)
    return "; ".join(parts)
