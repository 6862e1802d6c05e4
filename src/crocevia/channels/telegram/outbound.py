"""Bot API calls for one OutboundMessage, and the Bot API's error answers as ours.

Request shapes: https://core.telegram.org/bots/api#sendmessage (and sendPhoto, sendDocument,
sendLocation, setMessageReaction). Errors: {"ok": false, "error_code", "description",
"parameters": {"retry_after" | "migrate_to_chat_id"}} (python-telegram-bot
``request/_baserequest.py`` reads them the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from crocevia.channels.base import OutboundMessage, fallback_text, parse_retry_after
from crocevia.channels.telegram.inbound import split_ref
from crocevia.domain.enums import MessageKind
from crocevia.errors import ProviderError, ValidationFailed

MAX_TEXT = 4096  # MessageLimit.MAX_TEXT_LENGTH
MAX_CAPTION = 1024  # MessageLimit.CAPTION_LENGTH
MAX_BUTTONS = 100  # InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER (undocumented by Telegram)
MAX_CALLBACK_DATA = 64  # bytes, InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


@dataclass(frozen=True)
class ApiCall:
    method: str
    payload: dict[str, Any]


def utf16_len(text: str) -> int:
    """Telegram measures text in UTF-16 code units (an emoji usually counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def buttons_fit(msg: OutboundMessage) -> bool:
    return 0 < len(msg.buttons) <= MAX_BUTTONS and all(
        0 < len(b.id.encode()) <= MAX_CALLBACK_DATA and b.title for b in msg.buttons
    )


def media_method(mime: str) -> tuple[str, str]:
    """(Bot API method, its file parameter) for a media type."""
    if mime in ("image/jpeg", "image/png", "image/webp"):
        return "sendPhoto", "photo"
    if mime == "image/gif":
        return "sendAnimation", "animation"
    if mime == "video/mp4":
        return "sendVideo", "video"
    if mime == "audio/ogg":
        return "sendVoice", "voice"
    if mime in ("audio/mpeg", "audio/mp4", "audio/m4a"):
        return "sendAudio", "audio"
    return "sendDocument", "document"


def _reply_target(ref: str | None) -> int | None:
    """The message_id to quote; None for no reply or for something that is not a message
    (a button press, "callback:<id>"): the answer then goes out unquoted rather than not at all."""
    if not ref or ref.startswith("callback:"):
        return None
    try:
        return split_ref(ref)[1]
    except ValidationFailed:
        return None


def build_calls(msg: OutboundMessage) -> list[ApiCall]:
    """The calls that deliver ``msg``: usually one; two when a caption is too long for media."""
    chat_id = (msg.thread_id or msg.recipient_id).strip()
    if not chat_id:
        raise ValidationFailed("a Telegram message needs a chat id", field="recipient_id")
    if msg.template:
        raise ValidationFailed("Telegram has no message templates; send the text itself", field="template")
    base: dict[str, Any] = {"chat_id": chat_id}
    if msg.content.get("message_thread_id"):
        base["message_thread_id"] = int(msg.content["message_thread_id"])

    if msg.kind is MessageKind.REACTION:
        if not msg.reply_to_external_id:
            raise ValidationFailed("a reaction needs the message it reacts to", field="reply_to_external_id")
        _, target = split_ref(msg.reply_to_external_id)
        emoji = str(msg.content.get("emoji", msg.text))
        reaction = [{"type": "emoji", "emoji": emoji}] if emoji else []
        payload = {"chat_id": chat_id, "message_id": target, "reaction": reaction}
        return [ApiCall("setMessageReaction", payload)]

    reply_target = _reply_target(msg.reply_to_external_id)
    if reply_target is not None:
        # Still deliver if the customer deleted the message we answer.
        base["reply_parameters"] = {"message_id": reply_target, "allow_sending_without_reply": True}

    text = msg.text
    markup: dict[str, Any] | None = None
    if msg.buttons:
        if buttons_fit(msg):
            # One button per row: titles stay readable on a phone.
            markup = {"inline_keyboard": [[{"text": b.title, "callback_data": b.id}] for b in msg.buttons]}
        else:
            text = fallback_text(msg)
    if markup is not None:
        base["reply_markup"] = markup
    if utf16_len(text) > MAX_TEXT:
        raise ValidationFailed(f"Telegram text is limited to {MAX_TEXT} characters", field="text")

    if msg.kind is MessageKind.LOCATION:
        try:
            lat, lon = float(msg.content["latitude"]), float(msg.content["longitude"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed("a location needs latitude and longitude", field="content") from exc
        return [ApiCall("sendLocation", {**base, "latitude": lat, "longitude": lon})]

    if msg.media_url:
        method, param = media_method(msg.media_mime_type)
        media: dict[str, Any] = {**base, param: msg.media_url}
        if text and utf16_len(text) <= MAX_CAPTION:
            return [ApiCall(method, {**media, "caption": text})]
        if not text:
            return [ApiCall(method, media)]
        # Too long for a caption: the media, then the text (with the buttons) on its own.
        media.pop("reply_markup", None)
        follow = {k: v for k, v in base.items() if k != "reply_parameters"}
        return [ApiCall(method, media), ApiCall("sendMessage", {**follow, "text": text})]

    if not text:
        raise ValidationFailed("a Telegram message needs text or media", field="text")
    return [ApiCall("sendMessage", {**base, "text": text})]


def result_of(resp: httpx.Response) -> Any:
    """The ``result`` of a successful call; a ProviderError (retryable or not) otherwise."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        retryable = resp.status_code == 429 or resp.status_code >= 500
        raise ProviderError(f"Telegram HTTP {resp.status_code}: {resp.text[:200]}", retryable=retryable,
                            retry_after=parse_retry_after(resp.headers.get("retry-after")),
                            provider_code=str(resp.status_code))
    if data.get("ok") is True and resp.status_code < 400:
        return data.get("result")
    code = int(data.get("error_code") or resp.status_code)
    description = str(data.get("description") or f"HTTP {resp.status_code}")
    raw_params = data.get("parameters")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    if params.get("migrate_to_chat_id"):
        # The group became a supergroup: the old chat id is dead for good.
        raise ProviderError(f"Telegram: group moved to chat {params['migrate_to_chat_id']}", retryable=False,
                            provider_code="migrate_to_chat_id")
    if code == 429 or params.get("retry_after") is not None:
        retry_after = params.get("retry_after")
        header = resp.headers.get("retry-after")
        wait = float(retry_after) if retry_after is not None else parse_retry_after(header)
        raise ProviderError(f"Telegram: {description}", retryable=True, retry_after=wait, provider_code="429")
    if code >= 500:
        raise ProviderError(f"Telegram: {description}", retryable=True, provider_code=str(code))
    # 403 "bot was blocked by the user", 400 "chat not found", 401 bad token...: retrying won't help.
    raise ProviderError(f"Telegram: {description}", retryable=False, provider_code=str(code))
