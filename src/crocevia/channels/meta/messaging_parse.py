"""Parse the Messenger-shaped webhook that Messenger (``object: page``) and Instagram
(``object: instagram``) both send: ``entry[].messaging[]`` items, one event each.

Field names follow Meta's webhook event references (messages, messaging_postbacks,
message_deliveries, message_reads / messaging_seen, message_reactions, message_edits) and
Chatwoot's Instagram fixtures (``read.mid``, ``reply_to.story``, ``is_deleted``).
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
    StatusUpTo,
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

# Attachment types that carry a downloadable file (the URL is a signed, expiring CDN link).
_MEDIA_TYPES = frozenset({"image", "audio", "video", "file", "sticker"})
# Shared posts, reels and story mentions: the URL is the item's image or video on Meta's CDN.
_SHARE_TYPES = frozenset({"share", "story_mention", "reel", "ig_reel", "post", "ig_post"})
# A shared web link (``fallback``) or product card: a page to link to, not a file to download.
_LINK_TYPES = frozenset({"fallback", "template"})
# Used only when a reaction arrives without its emoji (older API versions send just the name).
_NAMED_REACTIONS = {
    "love": "\u2764\ufe0f",
    "like": "\U0001f44d",
    "dislike": "\U0001f44e",
    "smile": "\U0001f606",
    "wow": "\U0001f62e",
    "sad": "\U0001f622",
    "angry": "\U0001f620",
}
# Messaging items we acknowledge without turning them into inbox events.
_KNOWN_IGNORED = (
    "optin",
    "referral",
    "account_linking",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "policy_enforcement",
    "game_play",
    "response_feedback",
)


def parse_messaging_webhook(body: bytes, *, expected_object: str, account_id: str) -> list[InboundEvent]:
    payload = load_object(body)
    obj = payload.get("object")
    if obj != expected_object:
        raise ValidationFailed(f"object must be {expected_object!r}, got {obj!r}", field="object")
    events: list[InboundEvent] = []
    for path, entry in items(req_list(payload, "entry", ""), "entry"):
        entry_id = req_str(entry, "id", path)
        if account_id and entry_id != account_id:
            # The app's webhook also serves other Pages/accounts; they belong to other channels.
            events.append(IgnoredEvent(f"other_account:{entry_id}"))
            continue
        for item_path, item in items(opt_list(entry, "messaging", path), f"{path}.messaging"):
            events.extend(_parse_item(item, item_path))
        # Standby: a message while another app owns the thread (handover protocol): not ours to answer.
        events.extend(IgnoredEvent("standby") for _ in opt_list(entry, "standby", path))
        for change_path, change in items(opt_list(entry, "changes", path), f"{path}.changes"):
            events.append(IgnoredEvent(f"changes:{opt_str(change, 'field', change_path) or 'unknown'}"))
    return events


def _parse_item(item: dict[str, Any], path: str) -> list[InboundEvent]:
    sender_id = req_str(req_obj(item, "sender", path), "id", f"{path}.sender")
    ts = unix_time(item, "timestamp", path, millis=True)
    if "message" in item:
        return [_parse_message(req_obj(item, "message", path), sender_id, ts, f"{path}.message")]
    if "postback" in item:
        return [_parse_postback(req_obj(item, "postback", path), sender_id, item, ts, f"{path}.postback")]
    if "delivery" in item:
        return _parse_delivery(req_obj(item, "delivery", path), sender_id, f"{path}.delivery")
    if "read" in item:
        return [_parse_read(req_obj(item, "read", path), sender_id, ts, f"{path}.read")]
    if "reaction" in item:
        return [_parse_reaction(req_obj(item, "reaction", path), sender_id, ts, f"{path}.reaction")]
    if "message_edit" in item:
        edit = req_obj(item, "message_edit", path)
        edit_path = f"{path}.message_edit"
        return [MessageEdit(req_str(edit, "mid", edit_path), sender_id, opt_str(edit, "text", edit_path), ts)]
    known = next((key for key in _KNOWN_IGNORED if key in item), None)
    return [IgnoredEvent(known or "messaging:unknown")]


def _parse_message(message: dict[str, Any], sender_id: str, ts: datetime | None, path: str) -> InboundEvent:
    if message.get("is_echo"):
        # Our own sends (or replies typed in the Meta inbox) echoed back: the hub already has them.
        return IgnoredEvent("message_echo")
    if message.get("is_deleted"):
        return IgnoredEvent("message_deleted")
    mid = req_str(message, "mid", path)
    text = opt_str(message, "text", path)
    content: dict[str, Any] = {}
    reply_to = opt_obj(message, "reply_to", path)
    if isinstance(reply_to.get("story"), dict):
        content["story"] = {
            "id": str(reply_to["story"].get("id", "")),
            "url": str(reply_to["story"].get("url", "")),
        }
    kind = MessageKind.TEXT
    media: list[MediaRef] = []
    attachments = items(opt_list(message, "attachments", path), f"{path}.attachments")
    has_sticker = any(att.get("type") == "sticker" for _, att in attachments)
    shared: list[dict[str, str]] = []
    for att_path, att in attachments:
        att_type = opt_str(att, "type", att_path)
        payload = opt_obj(att, "payload", att_path)
        url = opt_str(payload, "url", f"{att_path}.payload")
        if att_type == "image" and has_sticker and "sticker_id" in payload:
            continue  # during Meta's sticker transition one sticker arrives as both image and sticker
        if att_type == "location" and "coordinates" in payload:
            coords = req_obj(payload, "coordinates", f"{att_path}.payload")
            cpath = f"{att_path}.payload.coordinates"
            kind = MessageKind.LOCATION
            content.update(latitude=number(coords, "lat", cpath), longitude=number(coords, "long", cpath))
            continue
        if att_type in _MEDIA_TYPES and url:
            media.append(MediaRef(url=url, caption=text))
        elif att_type in _SHARE_TYPES and url:
            shared.append({"type": att_type, "url": url})
            media.append(MediaRef(url=url, caption=text))
        elif att_type in _LINK_TYPES and url:
            shared.append({"type": att_type, "url": url, "title": opt_str(att, "title", att_path)})
            text = text or url
        content.setdefault("attachment_types", []).append(att_type)
    if shared:
        content["shared"] = shared
    if media and kind is MessageKind.TEXT:
        kind = MessageKind.MEDIA
    quick_reply = opt_obj(message, "quick_reply", path)
    if quick_reply.get("payload") is not None:
        kind = MessageKind.BUTTON_REPLY
        content.update(id=str(quick_reply["payload"]), title=text)
    if message.get("is_unsupported") or (kind is MessageKind.TEXT and not text):
        kind = MessageKind.UNSUPPORTED
    return InboundMessage(
        external_message_id=mid,
        sender_id=sender_id,
        kind=kind,
        text=text,
        content=content,
        media=tuple(media),
        timestamp=ts,
        reply_to_external_id=str(reply_to["mid"]) if reply_to.get("mid") else None,
    )


def _parse_postback(
    postback: dict[str, Any], sender_id: str, item: dict[str, Any], ts: datetime | None, path: str
) -> InboundEvent:
    title = opt_str(postback, "title", path)
    payload = opt_str(postback, "payload", path)
    # ``mid`` is present from API v11; before that a postback has no id, so derive a stable one
    # from what Meta does send, which keeps redeliveries of the same tap idempotent.
    mid = opt_str(postback, "mid", path) or f"postback:{sender_id}:{item.get('timestamp', '')}:{payload}"
    return InboundMessage(
        external_message_id=mid,
        sender_id=sender_id,
        kind=MessageKind.BUTTON_REPLY,
        text=title,
        content={"id": payload, "title": title, "postback": True},
        timestamp=ts,
    )


def _parse_delivery(delivery: dict[str, Any], sender_id: str, path: str) -> list[InboundEvent]:
    when = unix_time(delivery, "watermark", path, millis=True)
    mids = [str(mid) for mid in opt_list(delivery, "mids", path) if mid]
    if not mids:
        # Only a watermark: everything sent to this person before it is delivered.
        return [StatusUpTo(sender_id, MessageStatus.DELIVERED, when)] if when else [IgnoredEvent("delivery")]
    return [StatusUpdate(mid, MessageStatus.DELIVERED, when) for mid in mids]


def _parse_read(read: dict[str, Any], sender_id: str, ts: datetime | None, path: str) -> InboundEvent:
    mid = opt_str(read, "mid", path)
    if mid:  # Instagram messaging_seen names the message
        return StatusUpdate(mid, MessageStatus.READ, ts)
    # Messenger message_reads carries only a watermark: everything up to it is read.
    when = unix_time(read, "watermark", path, millis=True) if "watermark" in read else ts
    return StatusUpTo(sender_id, MessageStatus.READ, when) if when else IgnoredEvent("read")


def _parse_reaction(reaction: dict[str, Any], sender_id: str, ts: datetime | None, path: str) -> InboundEvent:
    mid = req_str(reaction, "mid", path)
    if opt_str(reaction, "action", path) == "unreact":
        return Reaction(mid, sender_id, "", ts)
    name = opt_str(reaction, "reaction", path)
    emoji = opt_str(reaction, "emoji", path) or _NAMED_REACTIONS.get(name, name)
    return Reaction(mid, sender_id, emoji, ts)
