"""Turning an OutboundMessage into QQ ``/v2/users|groups/{id}/messages`` calls (send.md).

Only passive replies exist: proactive (push) messages were discontinued on 2025-04-21, so every
send names the inbound message it answers (``msg_id``, or ``event_id`` for a button click) and
must arrive within 60 min (one-to-one) or 5 min (group) of it, at most 5 replies per message.

QQ dedupes on ``msg_id`` + ``msg_seq`` and answers a repeat with code 40054005. We derive
``msg_seq`` from the idempotency key, so a retry of a send that in fact went through is refused
by QQ as a duplicate, and we report it as sent instead of sending it twice.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from crocevia.channels.base import OutboundMessage, SendResult, fallback_text
from crocevia.channels.qq.api import DEDUPED, QQAPI, error_code
from crocevia.channels.qq.payloads import EVENT_ID_PREFIX
from crocevia.clock import utcnow
from crocevia.errors import ProviderError

C2C_WINDOW = timedelta(minutes=60)
GROUP_WINDOW = timedelta(minutes=5)
# QQ documents msg_seq as an int; SDK users send values up to 1e6 (random.randint(1, 1000000)).
_SEQ_RANGE = 1_000_000
# rich-media.md: 1 image (png/jpg), 2 video (mp4), 3 voice (silk/amr); 4 file is not open yet.
_FILE_TYPES = {
    "image/png": 1,
    "image/jpeg": 1,
    "video/mp4": 2,
    "audio/silk": 3,
    "audio/amr": 3,
}


def msg_seq(idempotency_key: str) -> int:
    """A stable msg_seq per outbound message, so QQ itself dedupes our retries."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % _SEQ_RANGE + 1


class QQSender:
    def __init__(self, api: QQAPI, settings: Mapping[str, Any]) -> None:
        self.api = api
        self.settings = settings

    def send(self, msg: OutboundMessage) -> SendResult:
        if msg.template:
            raise ProviderError("QQ bots have no template messages", retryable=False,
                                provider_code="unsupported")
        reply = _reply_handle(msg)
        _check_window(msg)
        scope = f"/v2/groups/{msg.thread_id}" if msg.thread_id else f"/v2/users/{msg.recipient_id}"
        # Keyboards need markdown and an invitation-only permission: buttons become numbered text.
        text = fallback_text(msg)
        body: dict[str, Any] = {"content": text, "msg_type": 0}
        if msg.media_url:
            body = self._media_body(msg, scope, text)
        body.update(reply)
        body["msg_seq"] = msg_seq(msg.idempotency_key)
        resp = self.api.call("POST", f"{scope}/messages", json=body, what="QQ send")
        if resp.status_code >= 400 and error_code(resp)[0] == DEDUPED:
            # Already sent by an earlier attempt whose answer we never saw.
            return SendResult(provider_message_id=f"qq-dedup:{msg.idempotency_key}")
        data = _json(resp)
        message_id = data.get("id") or _audit_id(data)
        if not message_id:
            raise ProviderError(f"QQ send: no message id in {str(data)[:200]}", retryable=False)
        return SendResult(provider_message_id=str(message_id))

    def _media_body(self, msg: OutboundMessage, scope: str, text: str) -> dict[str, Any]:
        mime = (msg.media_mime_type or mimetypes.guess_type(msg.media_url)[0] or "").lower()
        file_type = _FILE_TYPES.get(mime)
        if file_type is None:
            # Not a kind QQ can show inline: send the link (it must be registered in the console).
            return {"content": "\n".join(t for t in (text, msg.media_url) if t), "msg_type": 0}
        # Step 1: QQ fetches the URL; srv_send_msg false, or it would count as a proactive message.
        resp = self.api.call("POST", f"{scope}/files",
                             json={"file_type": file_type, "url": msg.media_url, "srv_send_msg": False},
                             what="QQ media upload")
        file_info = _json(resp).get("file_info")
        if not file_info:
            raise ProviderError("QQ media upload returned no file_info", retryable=True)
        # Step 2: msg_type 7; content must not be empty (send.md asks for a placeholder " ").
        return {"content": text or " ", "msg_type": 7, "media": {"file_info": str(file_info)}}


def _reply_handle(msg: OutboundMessage) -> dict[str, str]:
    ref = msg.reply_to_external_id
    if not ref:
        raise ProviderError(
            "QQ accepts only replies: proactive messages were discontinued on 2025-04-21, and this "
            "message names no inbound message to answer",
            retryable=False,
            provider_code="qq_no_proactive",
        )
    if ref.startswith(EVENT_ID_PREFIX):
        return {"event_id": ref[len(EVENT_ID_PREFIX):]}
    return {"msg_id": ref}


def _check_window(msg: OutboundMessage) -> None:
    """Fail early, without a call, when we know the passive-reply window has closed.

    The hub enforces the 60-minute window of the channel; a group's is 5 minutes, which only the
    adapter can apply, from ``content["reply_to_timestamp"]`` (ISO 8601 or unix seconds).
    """
    raw = msg.content.get("reply_to_timestamp")
    if raw in (None, ""):
        return
    try:
        when = (datetime.fromtimestamp(float(raw), UTC) if isinstance(raw, int | float)
                else datetime.fromisoformat(str(raw)))
    except (ValueError, OverflowError, OSError):
        return  # an unreadable hint must not block a reply QQ may still accept
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    window, rule = (GROUP_WINDOW, "qq_group_5m") if msg.thread_id else (C2C_WINDOW, "qq_c2c_60m")
    if utcnow() - when > window:
        where = "a group message" if msg.thread_id else "a one-to-one message"
        raise ProviderError(
            f"QQ passive-reply window closed: replies to {where} are accepted for "
            f"{int(window.total_seconds() // 60)} min only ({rule})",
            retryable=False,
            provider_code=rule,
        )


def _json(resp: Any) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError as exc:
        raise ProviderError("QQ answered with something that is not JSON", retryable=True) from exc
    return data if isinstance(data, dict) else {}


def _audit_id(data: dict[str, Any]) -> str:
    """201/202 answers mean "accepted, pending review" and carry an audit id instead."""
    inner = data.get("data")
    audit = inner.get("message_audit") if isinstance(inner, dict) else None
    return str(audit.get("audit_id", "")) if isinstance(audit, dict) else ""
