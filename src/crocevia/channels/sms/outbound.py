"""The Twilio Messages API call for one OutboundMessage, and Twilio's errors as ours.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded (twilio-python
``MessageList.create``); errors come back as {"code", "message", "more_info", "status"}.
"""

from __future__ import annotations

import httpx

from crocevia.channels.base import OutboundMessage, fallback_text, parse_retry_after
from crocevia.errors import ProviderError, ValidationFailed

MAX_BODY = 1600  # Twilio refuses longer bodies (error 21617)
MAX_MEDIA = 10

# Worth retrying later: too many requests (20429), the sender's queue is full (21611),
# account-wide rate above its limit (63017), Twilio's own trouble (20500, 20503).
RETRYABLE_CODES = frozenset({20429, 21611, 63017, 20500, 20503})
# Never worth retrying with the same recipient: named so the logs say why.
RECIPIENT_CODES: dict[int, str] = {
    21211: "invalid 'To' number",
    21610: "recipient has opted out (replied STOP)",
    21612: "'To' number cannot be reached from this sender",
    21614: "'To' number is not a mobile number",
    21408: "sending to this region is not enabled",
    21608: "unverified 'To' number (trial account)",
    21635: "'To' number is a landline",
}


def build_form(
    msg: OutboundMessage, *, sender: str, messaging_service_sid: str, status_callback: str
) -> list[tuple[str, str]]:
    if msg.template:
        raise ValidationFailed("SMS has no message templates; send the text itself", field="template")
    if not msg.recipient_id.strip():
        raise ValidationFailed("an SMS needs a recipient phone number", field="recipient_id")
    # No buttons on SMS: they become numbered options the customer can answer with a digit.
    body = fallback_text(msg)
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"SMS text is limited to {MAX_BODY} characters", field="text")
    media = [u for u in (msg.media_url, *msg.content.get("media_urls", ())) if u]
    if len(media) > MAX_MEDIA:
        raise ValidationFailed(f"an MMS carries at most {MAX_MEDIA} media", field="media_url")
    if not body and not media:
        raise ValidationFailed("an SMS needs text or media", field="text")
    form: list[tuple[str, str]] = [("To", msg.recipient_id.strip())]
    # A Messaging Service picks the sender itself (and applies its opt-out rules).
    form.append(("MessagingServiceSid", messaging_service_sid) if messaging_service_sid else ("From", sender))
    if body:
        form.append(("Body", body))
    form += [("MediaUrl", url) for url in media]
    if status_callback:
        form.append(("StatusCallback", status_callback))
    return form


def raise_for_twilio(resp: httpx.Response) -> None:
    """Map a Twilio error answer to a retryable or permanent ProviderError."""
    if resp.status_code < 400:
        return
    try:
        data = resp.json()
    except ValueError:
        data = None
    code = data.get("code") if isinstance(data, dict) else None
    message = str(data.get("message", "")) if isinstance(data, dict) else resp.text[:300]
    retry_after = parse_retry_after(resp.headers.get("retry-after"))
    provider_code = str(code) if code is not None else str(resp.status_code)
    if code in RECIPIENT_CODES:
        detail = f"Twilio {code}: {RECIPIENT_CODES[code]} ({message})"
        raise ProviderError(detail, retryable=False, provider_code=provider_code)
    detail = f"Twilio {code or resp.status_code}: {message}"
    if code in RETRYABLE_CODES or resp.status_code == 429 or resp.status_code >= 500:
        raise ProviderError(detail, retryable=True, retry_after=retry_after, provider_code=provider_code)
    raise ProviderError(detail, retryable=False, provider_code=provider_code)
