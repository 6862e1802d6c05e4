"""SMS (and MMS) through Twilio Programmable Messaging.

inbound  POST /webhooks/sms/<channel>   form fields, X-Twilio-Signature (see signature.py)
outbound POST <api_base>/2010-04-01/Accounts/<AccountSid>/Messages.json   HTTP Basic auth
ack      empty TwiML <Response/>: the hub answers customers through the API, never inline
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field, model_validator

from crocevia.channels.base import (
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    InboundEvent,
    MediaRef,
    OutboundMessage,
    SendResult,
    WebhookReply,
    WebhookRequest,
)
from crocevia.channels.sms import inbound, outbound
from crocevia.channels.sms.signature import SETTINGS_HEADER, SIGNATURE_HEADER, verify_signature
from crocevia.domain.enums import MessageStatus
from crocevia.errors import ProviderError, SignatureInvalid, ValidationFailed

TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
API_HOST = "api.twilio.com"


class TwilioCredentials(BaseModel):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=32, max_length=64)
    # The sender: a Twilio number (E.164), a short code or alphanumeric id, or a Messaging Service.
    from_number: str = ""
    messaging_service_sid: str = Field(default="", pattern=r"^(MG[0-9a-fA-F]{32})?$")
    # Only when a Twilio Webhook Setting signs with a SharedKey instead of the Auth Token.
    webhook_shared_key: str = ""

    @model_validator(mode="after")
    def _needs_a_sender(self) -> TwilioCredentials:
        if not self.from_number and not self.messaging_service_sid:
            raise ValueError("set from_number or messaging_service_sid")
        return self


class TwilioSmsAdapter(ChannelAdapter):
    kind = "sms"
    display_name = "SMS (Twilio)"
    capabilities = Capabilities(
        media=True,  # MMS: US and Canada numbers only
        buttons=0,
        max_text_length=outbound.MAX_BODY,
        # A US long code sends 1 segment/s; short codes and Messaging Services with several
        # numbers go faster, but this is the safe floor (twilio.com/docs/api/errors/21611).
        rate_per_second=1.0,
    )
    credentials_model: ClassVar[type[BaseModel]] = TwilioCredentials
    default_api_base = f"https://{API_HOST}"

    # -- inbound ------------------------------------------------------------------------------
    def verify(self, req: WebhookRequest, cfg: ChannelConfig) -> None:
        try:
            params = inbound.form_params(req)
        except ValidationFailed as exc:
            raise SignatureInvalid("body is not form data Twilio could have signed") from exc
        verify_signature(
            url=req.url,
            params=params,
            raw_body=req.body,
            signature=req.header(SIGNATURE_HEADER),
            settings_header=req.header(SETTINGS_HEADER),
            auth_token=str(cfg.credentials["auth_token"]),
            shared_key=str(cfg.credentials.get("webhook_shared_key") or ""),
        )

    def parse(self, req: WebhookRequest, cfg: ChannelConfig) -> list[InboundEvent]:
        return inbound.parse_fields(inbound.request_fields(req))

    def ack(self, req: WebhookRequest, cfg: ChannelConfig, events: list[InboundEvent]) -> WebhookReply:
        return WebhookReply(status=200, body=TWIML_EMPTY, content_type="text/xml")

    # -- outbound -----------------------------------------------------------------------------
    def _auth(self, cfg: ChannelConfig) -> tuple[str, str]:
        return str(cfg.credentials["account_sid"]), str(cfg.credentials["auth_token"])

    def send(self, msg: OutboundMessage, cfg: ChannelConfig, http: httpx.Client) -> SendResult:
        account_sid, _ = self._auth(cfg)
        form = outbound.build_form(
            msg,
            sender=str(cfg.credentials.get("from_number") or ""),
            messaging_service_sid=str(cfg.credentials.get("messaging_service_sid") or ""),
            status_callback=cfg.webhook_url if cfg.webhook_url.startswith(("http://", "https://")) else "",
        )
        url = f"{self.api_base(cfg)}/2010-04-01/Accounts/{account_sid}/Messages.json"
        # Twilio documents this header on the webhooks it sends; its Messages API does not
        # promise to dedupe on it (twilio.com/docs/errors/20500), so a retry after a lost
        # answer may still send twice. The emulator honours it.
        headers = {"I-Twilio-Idempotency-Token": msg.idempotency_key, "Accept": "application/json"}
        try:
            resp = http.post(url, data=_form_dict(form), headers=headers, auth=self._auth(cfg))
        except httpx.TimeoutException as exc:
            raise ProviderError("Twilio API timed out", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"Twilio API unreachable: {exc}", retryable=True) from exc
        outbound.raise_for_twilio(resp)
        try:
            data = resp.json()
            sid = str(data["sid"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError("Twilio answered without a message sid", retryable=False) from exc
        status = inbound.STATUS_MAP.get(str(data.get("status", "")), MessageStatus.QUEUED)
        return SendResult(provider_message_id=sid, status=status)

    def fetch_media(self, ref: MediaRef, cfg: ChannelConfig, http: httpx.Client) -> tuple[bytes, str]:
        if not ref.url:
            raise ProviderError("media has no URL to fetch", retryable=False)
        url = ref.url
        parts = urlsplit(url)
        if parts.hostname == API_HOST:
            # Twilio media lives under the REST API; the emulator stands in for it in tests.
            url = self.api_base(cfg) + parts.path
        # Basic auth is needed when "HTTP auth for media" is on; Twilio then redirects to its
        # CDN, and httpx drops the Authorization header on that cross-origin hop.
        try:
            resp = http.get(url, auth=self._auth(cfg), follow_redirects=True)
        except httpx.HTTPError as exc:
            raise ProviderError(f"Twilio media download failed: {exc}", retryable=True) from exc
        outbound.raise_for_twilio(resp)
        return resp.content, resp.headers.get("content-type", "").split(";")[0] or ref.mime_type

    def test_connection(self, cfg: ChannelConfig, http: httpx.Client) -> str:
        account_sid, _ = self._auth(cfg)
        resp = http.get(f"{self.api_base(cfg)}/2010-04-01/Accounts/{account_sid}.json", auth=self._auth(cfg))
        outbound.raise_for_twilio(resp)
        data = resp.json()
        name = data.get("friendly_name") or account_sid
        return f"connected to Twilio account {name} ({data.get('status')})"


def _form_dict(form: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """httpx wants repeated fields (MediaUrl) as a list under one name."""
    merged: dict[str, str | list[str]] = {}
    for name, value in form:
        if name in merged:
            prev = merged[name]
            merged[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            merged[name] = value
    return merged

