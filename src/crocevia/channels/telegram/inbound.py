"""A Telegram Update as channel-neutral inbound events.

Ids: Telegram's message_id is unique only inside one chat, so every message id the hub sees
is "<chat_id>:<message_id>" (the same form ``send`` returns), and replies, reactions and edits
point at ids of that form.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    MessageEdit,
    Reaction,
)
from crocevia.channels.telegram.payloads import (
    TgCallbackQuery,
    TgChat,
    TgMessage,
    TgMessageReaction,
    TgReactionType,
    TgUpdate,
)
from crocevia.domain.enums import MessageKind
from crocevia.errors import ValidationFailed

GROUP_TYPES = {"group", "supergroup", "channel"}
# Content a person sent that the hub cannot show yet: kept as "unsupported" so an agent
# still sees that something arrived. Every other extra key is a service message.
UNSUPPORTED_CONTENT = ("poll", "dice", "game", "story", "invoice", "paid_media", "giveaway", "checklist")


# Telegram omits mime_type on some media; these are the formats it always uses for them.
_DEFAULT_MIME = {
    "voice": "audio/ogg", "video_note": "video/mp4", "video": "video/mp4", "animation": "video/mp4",
}


def message_ref(chat_id: int | str, message_id: int | str) -> str:
    return f"{chat_id}:{message_id}"


def split_ref(ref: str) -> tuple[str, int]:
    """'<chat_id>:<message_id>' back into its parts (chat ids may be negative)."""
    chat, _, mid = ref.rpartition(":")
    try:
        return chat, int(mid)
    except ValueError as exc:
        raise ValidationFailed(
            f"not a Telegram message reference: {ref!r}", field="reply_to_external_id"
        ) from exc


def _ts(unix: int | None) -> datetime | None:
    return datetime.fromtimestamp(unix, UTC) if unix else None


def load_update(body: bytes) -> TgUpdate:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValidationFailed("Telegram update is not JSON", field="body") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("Telegram update must be a JSON object", field="body")
    try:
        return TgUpdate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"Telegram update: {where}: {first['msg']}", field=where) from exc


def parse_update(update: TgUpdate) -> list[InboundEvent]:
    if update.message is not None:
        return [_message(update.message)]
    if update.channel_post is not None:
        return [_message(update.channel_post)]
    if update.edited_message is not None:
        return [_edit(update.edited_message)]
    if update.edited_channel_post is not None:
        return [_edit(update.edited_channel_post)]
    if update.callback_query is not None:
        return [_callback(update.callback_query)]
    if update.message_reaction is not None:
        return [_reaction(update.message_reaction)]
    if update.my_chat_member is not None:
        # "kicked" in a private chat means the user blocked the bot; sends will now fail 403.
        return [IgnoredEvent(f"my_chat_member:{update.my_chat_member.new_chat_member.status}")]
    extras = sorted((update.model_extra or {}).keys())
    return [IgnoredEvent(extras[0] if extras else "unknown")]


def _thread(chat: TgChat) -> str:
    return str(chat.id) if chat.type in GROUP_TYPES else ""


def _sender(msg: TgMessage) -> tuple[str, str | None]:
    if msg.from_ is not None:
        return str(msg.from_.id), msg.from_.full_name or msg.from_.username or None
    # Channel posts and anonymous admins speak as a chat.
    chat = msg.sender_chat or msg.chat
    return str(chat.id), chat.title or chat.username or None


def _media(msg: TgMessage) -> tuple[MediaRef, ...]:
    caption = msg.caption
    if msg.photo:
        largest = msg.photo[-1]  # sizes come smallest first
        return (MediaRef(provider_media_id=largest.file_id, mime_type="image/jpeg", caption=caption),)
    if msg.sticker is not None:
        s = msg.sticker
        mime = "application/x-tgsticker" if s.is_animated else "video/webm" if s.is_video else "image/webp"
        return (MediaRef(provider_media_id=s.file_id, mime_type=mime, caption=s.emoji),)
    for name in ("document", "video", "voice", "audio", "animation", "video_note"):
        item = getattr(msg, name)
        if item is not None:
            mime = item.mime_type or _DEFAULT_MIME.get(name, "application/octet-stream")
            return (MediaRef(provider_media_id=item.file_id, mime_type=mime, filename=item.file_name,
                             caption=caption),)
    return ()


def _message(msg: TgMessage) -> InboundEvent:
    sender_id, sender_name = _sender(msg)
    content: dict[str, Any] = {}
    if msg.from_ is not None and msg.from_.username:
        content["username"] = msg.from_.username
    if msg.message_thread_id is not None:
        content["message_thread_id"] = msg.message_thread_id  # forum topic inside a group
    media = _media(msg)
    kind = MessageKind.TEXT
    text = msg.text or msg.caption
    if media:
        kind = MessageKind.MEDIA
    elif msg.venue is not None:
        kind = MessageKind.LOCATION
        loc = msg.venue.location
        content.update(latitude=loc.latitude, longitude=loc.longitude, name=msg.venue.title,
                       address=msg.venue.address)
    elif msg.location is not None:
        kind = MessageKind.LOCATION
        content.update(latitude=msg.location.latitude, longitude=msg.location.longitude)
    elif msg.contact is not None:
        c = msg.contact
        kind = MessageKind.CONTACTS
        name = " ".join(p for p in (c.first_name, c.last_name) if p)
        entry: dict[str, Any] = {"name": name, "phone": c.phone_number}
        if c.user_id is not None:
            entry["user_id"] = str(c.user_id)
        content["contacts"] = [entry]
    elif not text:
        extras = msg.model_extra or {}
        unsupported = next((k for k in UNSUPPORTED_CONTENT if extras.get(k)), None)
        if unsupported is None:
            # Joins, leaves, pins, title changes...: nothing a person wrote.
            return IgnoredEvent("message:service")
        kind = MessageKind.UNSUPPORTED
        content["telegram_type"] = unsupported
    reply_to = msg.reply_to_message
    return InboundMessage(
        external_message_id=message_ref(msg.chat.id, msg.message_id),
        sender_id=sender_id,
        sender_name=sender_name,
        kind=kind,
        text=text,
        content=content,
        media=media,
        timestamp=_ts(msg.date),
        thread_id=_thread(msg.chat),
        reply_to_external_id=message_ref(msg.chat.id, reply_to.message_id) if reply_to else None,
    )


def _edit(msg: TgMessage) -> MessageEdit:
    sender_id, _ = _sender(msg)
    return MessageEdit(
        external_message_id=message_ref(msg.chat.id, msg.message_id),
        sender_id=sender_id,
        new_text=msg.text or msg.caption,
        timestamp=_ts(msg.edit_date or msg.date),
    )


def _callback(cq: TgCallbackQuery) -> InboundMessage:
    """A press on an inline button. Telegram keeps a spinner on the button until the bot calls
    answerCallbackQuery (``TelegramAdapter.answer_callback_query``) with content["callback_query_id"]."""
    title = ""
    if cq.message is not None and cq.message.reply_markup is not None:
        for row in cq.message.reply_markup.inline_keyboard:
            for button in row:
                if button.callback_data == cq.data and not title:
                    title = button.text
    content: dict[str, Any] = {"button_id": cq.data, "button_title": title, "callback_query_id": cq.id}
    if cq.from_.username:
        content["username"] = cq.from_.username
    msg = cq.message
    return InboundMessage(
        external_message_id=f"callback:{cq.id}",
        sender_id=str(cq.from_.id),
        sender_name=cq.from_.full_name or None,
        kind=MessageKind.BUTTON_REPLY,
        text=title or cq.data,
        content=content,
        timestamp=None,  # a press carries no time of its own: the hub stamps it on receipt
        thread_id=_thread(msg.chat) if msg is not None else "",
        reply_to_external_id=message_ref(msg.chat.id, msg.message_id) if msg is not None else None,
    )


def _emoji(reaction: TgReactionType) -> str:
    if reaction.type == "emoji":
        return reaction.emoji
    if reaction.type == "custom_emoji":
        return f"custom_emoji:{reaction.custom_emoji_id}"
    return "⭐" if reaction.type == "paid" else reaction.type


def _reaction(r: TgMessageReaction) -> Reaction:
    old = {_emoji(x) for x in r.old_reaction}
    new = [_emoji(x) for x in r.new_reaction]
    # Users may hold several reactions; report the one just added, else the one kept.
    added = next((e for e in new if e not in old), new[0] if new else "")
    actor = r.user.id if r.user is not None else r.actor_chat.id if r.actor_chat is not None else r.chat.id
    return Reaction(
        target_external_id=message_ref(r.chat.id, r.message_id),
        sender_id=str(actor),
        emoji=added,
        timestamp=_ts(r.date),
    )
