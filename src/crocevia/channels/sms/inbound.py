"""Twilio's form-encoded webhooks (incoming SMS/MMS, status callbacks) as inbound events.

Field names from https://www.twilio.com/docs/messaging/guides/webhook-request and the
Message resource's status values (twilio-python ``MessageInstance.Status``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    StatusUpdate,
    WebhookRequest,
)
from crocevia.channels.sms import keywords
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ValidationFailed

# Twilio's MessageStatus values, as our statuses.
STATUS_MAP: dict[str, MessageStatus] = {
    "accepted": MessageStatus.QUEUED,
    "scheduled": MessageStatus.QUEUED,
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.QUEUED,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "partially_delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,  # WhatsApp senders only
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}
_INBOUND_STATUSES = {"receiving", "received"}

# The delivery errors a status callback carries most often; titles as on twilio.com/docs/api/errors.
DELIVERY_ERRORS: dict[str, str] = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered (carrier violation)",
    "30008": "Unknown error",
    "30034": "Message blocked: unregistered A2P 10DLC number",
    "21610": "Attempt to send to unsubscribed recipient",
}


def form_params(req: WebhookRequest) -> list[tuple[str, str]]:
    """The POST parameters, in order; a GET webhook carries its fields in the URL instead."""
    if req.method.upper() == "GET":
        return []
    try:
        text = req.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("Twilio webhook body is not UTF-8 form data", field="body") from exc
    # Blank values are kept: Twilio signs them (an MMS without text has "Body=").
    return parse_qsl(text, keep_blank_values=True)


def request_fields(req: WebhookRequest) -> dict[str, str]:
    """First value of every field, from the body (POST) or the query string (GET)."""
    pairs = form_params(req)
    if req.method.upper() == "GET":
        pairs = list(req.query.items()) or parse_qsl(urlsplit(req.url).query, keep_blank_values=True)
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def parse_fields(fields: Mapping[str, str]) -> list[InboundEvent]:
    status = fields.get("MessageStatus", "")
    if status and status not in _INBOUND_STATUSES:
        return [_status_update(fields, status)]
    if "Body" in fields or "NumMedia" in fields:
        return [_message(fields)]
    return [IgnoredEvent(f"twilio:{status or fields.get('SmsStatus') or 'unknown'}")]


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise ValidationFailed(f"Twilio webhook has no {name}", field=name)
    return value


def _status_update(fields: Mapping[str, str], status: str) -> InboundEvent:
    sid = _required(fields, "MessageSid")
    mapped = STATUS_MAP.get(status)
    if mapped is None:
        return IgnoredEvent(f"twilio-status:{status}")
    error = None
    if mapped is MessageStatus.FAILED:
        code = fields.get("ErrorCode", "").strip()
        text = fields.get("ErrorMessage", "").strip() or DELIVERY_ERRORS.get(code, "")
        error = " ".join(p for p in (code, text) if p) or status
        if status == "canceled":
            error = "canceled before sending"
    return StatusUpdate(provider_message_id=sid, status=mapped, error=error)


def _message(fields: Mapping[str, str]) -> InboundMessage:
    sid = _required(fields, "MessageSid")
    sender = _required(fields, "From")
    raw_count = fields.get("NumMedia", "0").strip() or "0"
    try:
        num_media = int(raw_count)
        if not 0 <= num_media <= 10:
            raise ValueError
    except ValueError as exc:
        raise ValidationFailed(f"NumMedia must be 0-10, got {raw_count!r}", field="NumMedia") from exc
    media = tuple(_media(fields, i) for i in range(num_media))
    body = fields.get("Body", "")
    content: dict[str, Any] = {"to": fields.get("To", "")}
    keyword = keywords.classify(body)
    if keyword is not None:
        content["keyword"] = keyword
    for geo in ("FromCountry", "FromCity"):
        if fields.get(geo):
            content[geo[4:].lower()] = fields[geo]
    return InboundMessage(
        external_message_id=sid,
        sender_id=sender,
        sender_phone=sender if sender.startswith("+") else None,
        kind=MessageKind.MEDIA if media else MessageKind.TEXT,
        text=body,
        content=content,
        media=media,
    )


def _media(fields: Mapping[str, str], index: int) -> MediaRef:
    url = _required(fields, f"MediaUrl{index}")
    return MediaRef(
        # The Media SID is the last path segment of .../Messages/MM.../Media/ME...
        provider_media_id=urlsplit(url).path.rstrip("/").rpartition("/")[2],
        url=url,
        mime_type=fields.get(f"MediaContentType{index}", ""),
    )
