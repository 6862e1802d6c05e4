"""Sending SMS through the Twilio adapter against the emulator, over real HTTP."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from crocevia.channels.base import Button, ChannelConfig, InboundMessage, MediaRef, OutboundMessage, StatusUpdate
from crocevia.channels.emulator.server import RunningServer
from crocevia.channels.registry import get_adapter
from crocevia.channels.sms import testkit
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ProviderError, ValidationFailed

ADAPTER = get_adapter("sms")
Recorded = Callable[[], list[dict[str, Any]]]
MESSAGES_PATH = f"/2010-04-01/Accounts/{testkit.ACCOUNT_SID}/Messages.json"
BASIC = "Basic " + base64.b64encode(f"{testkit.ACCOUNT_SID}:{testkit.AUTH_TOKEN}".encode()).decode()


def out(text: str = "Il tuo ordine è pronto", **kw: Any) -> OutboundMessage:
    fields: dict[str, Any] = {"message_id": 1, "idempotency_key": "out-1", "recipient_id": "+14155550100",
                              "kind": MessageKind.TEXT, "text": text}
    fields.update(kw)
    return OutboundMessage(**fields)


def fault(emulator: RunningServer, **kw: Any) -> None:
    httpx.post(f"{emulator.url}/_emulator/faults", json={"provider": "twilio", **kw}).raise_for_status()


def test_text_is_a_form_post_with_basic_auth_and_status_callback(
    sms_cfg: ChannelConfig, sms_http: httpx.Client, sms_recorded: Recorded
) -> None:
    result = ADAPTER.send(out(), sms_cfg, sms_http)
    [call] = sms_recorded()
    assert (call["method"], call["path"], call["outcome"]) == ("POST", MESSAGES_PATH, "accepted")
    assert call["headers"]["authorization"] == BASIC
    assert call["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert call["headers"]["i-twilio-idempotency-token"] == "out-1"
    assert call["body"]["form"] == {"To": "+14155550100", "From": "+14155550199", "Body": "Il tuo ordine è pronto",
                                    "StatusCallback": sms_cfg.webhook_url}
    assert result.provider_message_id.startswith("SM") and len(result.provider_message_id) == 34
    assert result.status is MessageStatus.QUEUED


def test_messaging_service_replaces_from(sms_cfg: ChannelConfig, sms_http: httpx.Client,
                                         sms_recorded: Recorded) -> None:
    mg = "MG2e4a6c8e0a2c4e6a8c0e2a4c6e8a0b2d"
    cfg = replace(sms_cfg, credentials={**sms_cfg.credentials, "messaging_service_sid": mg})
    ADAPTER.send(out(), cfg, sms_http)
    [call] = sms_recorded()
    assert call["body"]["form"]["MessagingServiceSid"] == mg
    assert "From" not in call["body"]["form"]


def test_buttons_become_numbered_options(sms_cfg: ChannelConfig, sms_http: httpx.Client,
                                         sms_recorded: Recorded) -> None:
    msg = out("Confermi la prenotazione?", kind=MessageKind.BUTTONS,
              buttons=(Button("yes", "Sì"), Button("no", "No, annulla")))
    ADAPTER.send(msg, sms_cfg, sms_http)
    [call] = sms_recorded()
    assert call["body"]["form"]["Body"] == "Confermi la prenotazione?\n\n1. Sì\n2. No, annulla"


def test_mms_by_url(sms_cfg: ChannelConfig, sms_http: httpx.Client, sms_recorded: Recorded) -> None:
    msg = out("Lo scontrino", kind=MessageKind.MEDIA, media_url="https://cdn.example.com/r.jpg",
              media_mime_type="image/jpeg")
    result = ADAPTER.send(msg, sms_cfg, sms_http)
    [call] = sms_recorded()
    assert call["body"]["media_urls"] == ["https://cdn.example.com/r.jpg"]
    assert result.provider_message_id.startswith("MM")


def test_too_long_text_is_refused_before_sending(sms_cfg: ChannelConfig, sms_http: httpx.Client,
                                                 sms_recorded: Recorded) -> None:
    with pytest.raises(ValidationFailed) as err:
        ADAPTER.send(out("a" * 1601), sms_cfg, sms_http)
    assert err.value.field == "text"
    assert sms_recorded() == []


def test_templates_are_refused(sms_cfg: ChannelConfig, sms_http: httpx.Client) -> None:
    with pytest.raises(ValidationFailed) as err:
        ADAPTER.send(out(template={"name": "x", "language": "it", "parameters": []}), sms_cfg, sms_http)
    assert err.value.field == "template"


# -- errors ---------------------------------------------------------------------------------
def test_invalid_to_number_is_permanent(sms_cfg: ChannelConfig, sms_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(recipient_id="12345"), sms_cfg, sms_http)
    assert (err.value.retryable, err.value.provider_code) == (False, "21211")
    assert "invalid 'To' number" in err.value.detail


def test_unsubscribed_recipient_is_permanent(sms_cfg: ChannelConfig, sms_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(recipient_id="+14155550111"), sms_cfg, sms_http)
    assert (err.value.retryable, err.value.provider_code) == (False, "21610")
    assert "opted out" in err.value.detail


def test_rate_limit_is_retryable_with_retry_after(sms_emulator: RunningServer, sms_cfg: ChannelConfig,
                                                  sms_http: httpx.Client, sms_recorded: Recorded) -> None:
    fault(sms_emulator, status=429, retry_after=3)
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), sms_cfg, sms_http)
    assert (err.value.retryable, err.value.retry_after, err.value.provider_code) == (True, 3.0, "20429")
    assert [r["outcome"] for r in sms_recorded()] == ["fault:429"]


def test_queue_full_21611_is_retryable(sms_emulator: RunningServer, sms_cfg: ChannelConfig,
                                       sms_http: httpx.Client) -> None:
    body = {"code": 21611, "message": "This 'From' number has exceeded the maximum number of queued messages",
            "more_info": "https://www.twilio.com/docs/errors/21611", "status": 400}
    fault(sms_emulator, status=400, body=body)
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), sms_cfg, sms_http)
    assert (err.value.retryable, err.value.provider_code) == (True, "21611")


def test_server_error_then_retry_sends_once(sms_emulator: RunningServer, sms_cfg: ChannelConfig,
                                            sms_http: httpx.Client) -> None:
    fault(sms_emulator, status=503)
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), sms_cfg, sms_http)
    assert err.value.retryable is True
    first = ADAPTER.send(out(), sms_cfg, sms_http)
    replay = ADAPTER.send(out(), sms_cfg, sms_http)  # same idempotency key: the emulator replays
    assert first.provider_message_id == replay.provider_message_id
    accepted = httpx.get(f"{sms_emulator.url}/_emulator/accepted", params={"provider": "twilio"}).json()
    assert len(accepted) == 1


def test_timeout_is_retryable(sms_emulator: RunningServer, sms_cfg: ChannelConfig, sms_recorded: Recorded) -> None:
    fault(sms_emulator, status=500, delay=1.0)
    with httpx.Client(timeout=0.2) as impatient, pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), sms_cfg, impatient)
    assert err.value.retryable is True
    # The emulator answers (and records) the held call only after the delay: wait for it, so
    # its record cannot land in a later test.
    deadline = time.monotonic() + 5
    while not sms_recorded() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r["outcome"] for r in sms_recorded()] == ["fault:500"]


def test_wrong_auth_token_is_permanent(sms_cfg: ChannelConfig, sms_http: httpx.Client) -> None:
    bad = replace(sms_cfg, credentials={**sms_cfg.credentials, "auth_token": "f" * 32})
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), bad, sms_http)
    assert (err.value.retryable, err.value.provider_code) == (False, "20003")


# -- status callbacks and inbound, end to end -----------------------------------------------
def test_status_callbacks_are_signed_like_twilio_and_reach_delivered(
    sms_cfg: ChannelConfig, sms_http: httpx.Client, sms_hub: Any
) -> None:
    result = ADAPTER.send(out(), sms_cfg, sms_http)
    seen = sms_hub.wait_for(2, mentioning=result.provider_message_id)
    updates = []
    for req in seen:
        ADAPTER.verify(req, sms_cfg)
        updates += ADAPTER.parse(req, sms_cfg)
    assert updates == [StatusUpdate(result.provider_message_id, MessageStatus.SENT),
                       StatusUpdate(result.provider_message_id, MessageStatus.DELIVERED)]


def test_undeliverable_number_reports_the_carrier_error(sms_cfg: ChannelConfig, sms_http: httpx.Client,
                                                        sms_hub: Any) -> None:
    result = ADAPTER.send(out(recipient_id="+14155550122"), sms_cfg, sms_http)
    last = sms_hub.wait_for(2, mentioning=result.provider_message_id)[-1]
    ADAPTER.verify(last, sms_cfg)
    assert ADAPTER.parse(last, sms_cfg) == [
        StatusUpdate(result.provider_message_id, MessageStatus.FAILED, error="30003 Unreachable destination handset")]


def test_incoming_mms_from_the_emulator_verifies_and_its_media_downloads(
    sms_emulator: RunningServer, sms_cfg: ChannelConfig, sms_http: httpx.Client, sms_hub: Any,
    sms_recorded: Recorded,
) -> None:
    jpeg = b"\xff\xd8\xff\xe0 fake jpeg"
    httpx.post(f"{sms_emulator.url}/_emulator/twilio/media", json={
        "media_sid": "ME11112222333344445555666677778888", "content_type": "image/jpeg",
        "content_b64": base64.b64encode(jpeg).decode()}).raise_for_status()
    answer = httpx.post(f"{sms_emulator.url}/_emulator/twilio/inbound", json={
        "account_id": testkit.ACCOUNT_SID, "from": "+393331234567", "to": "+14155550199",
        "body": "STOP", "media": ["ME11112222333344445555666677778888"]}).json()
    assert answer["hub_status"] == 200
    [req] = sms_hub.wait_for(1, mentioning=answer["message_sid"])
    ADAPTER.verify(req, sms_cfg)
    [msg] = ADAPTER.parse(req, sms_cfg)
    assert isinstance(msg, InboundMessage)
    assert (msg.external_message_id, msg.sender_id, msg.content["keyword"]) == (
        answer["message_sid"], "+393331234567", "opt_out")
    assert ADAPTER.fetch_media(msg.media[0], sms_cfg, sms_http) == (jpeg, "image/jpeg")


def test_media_download_needs_the_account_credentials(sms_cfg: ChannelConfig, sms_http: httpx.Client) -> None:
    ref = MediaRef(url=f"https://api.twilio.com/2010-04-01/Accounts/{testkit.ACCOUNT_SID}/Messages/MM1/Media/MEx")
    bad = replace(sms_cfg, credentials={**sms_cfg.credentials, "auth_token": "f" * 32})
    with pytest.raises(ProviderError) as err:
        ADAPTER.fetch_media(ref, bad, sms_http)
    assert (err.value.retryable, err.value.provider_code) == (False, "20003")


def test_connection_test_names_the_account(sms_cfg: ChannelConfig, sms_http: httpx.Client) -> None:
    assert ADAPTER.test_connection(sms_cfg, sms_http) == "connected to Twilio account Trattoria Da Ana (active)"


# -- the official SDK against the emulator --------------------------------------------------
def _sdk_client(emulator: RunningServer) -> TwilioClient:
    client = TwilioClient(testkit.ACCOUNT_SID, testkit.AUTH_TOKEN, http_client=TwilioHttpClient(timeout=5))
    client.api.base_url = emulator.url  # api.twilio.com, replaced by the emulator
    return client


def test_twilio_sdk_reads_the_emulators_answer(sms_emulator: RunningServer, sms_cfg: ChannelConfig) -> None:
    message = _sdk_client(sms_emulator).messages.create(to="+14155550100", from_="+14155550199", body="Ciao 🍕")
    assert message.sid is not None and message.sid.startswith("SM")
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.direction == "outbound-api"
    assert message.date_created is not None


def test_twilio_sdk_sees_the_emulators_errors(sms_emulator: RunningServer, sms_cfg: ChannelConfig) -> None:
    with pytest.raises(TwilioRestException) as err:
        _sdk_client(sms_emulator).messages.create(to="+14155550111", from_="+14155550199", body="hi")
    assert err.value.code == 21610
