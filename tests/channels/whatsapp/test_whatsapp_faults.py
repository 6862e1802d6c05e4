"""Failures map to what the outbox must do: retry later (rate limits, outages) or give up
(a recipient WhatsApp will never reach), with Meta's own error code kept for the agent."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from crocevia.channels.base import OutboundMessage
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.channels.whatsapp.adapter import WhatsAppAdapter
from crocevia.domain.enums import MessageKind
from crocevia.errors import ProviderError

ADAPTER = WhatsAppAdapter()


def out(to: str = "393331234567", key: str = "fault-1") -> OutboundMessage:
    return OutboundMessage(1, key, to, MessageKind.TEXT, text="Buonasera")


def send_error(
    emu: EmulatorHandle, msg: OutboundMessage | None = None, http: httpx.Client | None = None
) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        ADAPTER.send(msg or out(), emu.cfg, http or emu.http)
    return info.value


def test_throughput_limit_is_retryable_and_honours_retry_after(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.fault(status=429, retry_after=7)
    err = send_error(whatsapp_emu)
    assert (err.retryable, err.retry_after, err.provider_code) == (True, 7.0, "130429")
    assert "Rate limit hit" in err.detail


def test_rate_limit_code_in_a_400_answer_is_still_retryable(whatsapp_emu: EmulatorHandle) -> None:
    # Graph usually answers throttling with HTTP 400; the code, not the status, decides.
    whatsapp_emu.fault(
        status=400,
        body={
            "error": {
                "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                "type": "OAuthException",
                "code": 131056,
                "fbtrace_id": "Az",
            }
        },
    )
    err = send_error(whatsapp_emu)
    assert (err.retryable, err.provider_code) == (True, "131056")


def test_server_error_is_retryable(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.fault(status=503)
    err = send_error(whatsapp_emu)
    assert err.retryable
    assert err.provider_code == "2"


def test_a_retry_after_an_outage_is_delivered_once(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.fault(status=500)
    send_error(whatsapp_emu)
    ADAPTER.send(out(), whatsapp_emu.cfg, whatsapp_emu.http)
    assert [r["outcome"] for r in whatsapp_emu.sends()] == ["fault:500", "accepted"]


def test_undeliverable_recipient_is_permanent_with_metas_reason(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.fault(
        status=400,
        body={
            "error": {
                "message": "(#131026) Message Undeliverable.",
                "type": "OAuthException",
                "code": 131026,
                "error_data": {"messaging_product": "whatsapp", "details": "Message Undeliverable."},
                "fbtrace_id": "Az",
            }
        },
    )
    err = send_error(whatsapp_emu)
    assert (err.retryable, err.provider_code) == (False, "131026")
    assert "not on WhatsApp" in err.detail


def test_closed_customer_service_window_is_permanent(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.fault(
        status=400,
        body={
            "error": {
                "message": "(#131047) Re-engagement message",
                "type": "OAuthException",
                "code": 131047,
                "fbtrace_id": "Az",
            }
        },
    )
    err = send_error(whatsapp_emu)
    assert (err.retryable, err.provider_code) == (False, "131047")
    assert "send an approved template" in err.detail


def test_number_outside_the_test_allow_list_is_refused_by_the_emulator(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.account(allowed_recipients=["393331234567"])
    err = send_error(whatsapp_emu, out(to="+39 347 000 0000"))
    assert (err.retryable, err.provider_code) == (False, "131030")
    assert whatsapp_emu.sends()[-1]["outcome"] == "rejected"


def test_malformed_number_is_permanent(whatsapp_emu: EmulatorHandle) -> None:
    err = send_error(whatsapp_emu, out(to="mario@example.com"))
    assert (err.retryable, err.provider_code) == (False, "100")


def test_revoked_token_is_permanent_and_says_reconnect(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.account(access_token="a-newer-token-the-hub-does-not-have")
    err = send_error(whatsapp_emu)
    assert (err.retryable, err.provider_code) == (False, "190")
    assert "reconnect" in err.detail


def test_wrong_appsecret_proof_is_refused(whatsapp_emu: EmulatorHandle) -> None:
    wrong = dataclasses.replace(
        whatsapp_emu.cfg, credentials={**whatsapp_emu.cfg.credentials, "app_secret": "not-the-app-secret"}
    )
    with pytest.raises(ProviderError) as info:
        ADAPTER.send(out(), wrong, whatsapp_emu.http)
    assert (info.value.retryable, info.value.provider_code) == (False, "100")


def test_time_out_is_retryable(whatsapp_emu: EmulatorHandle) -> None:
    whatsapp_emu.fault(status=200, delay=1.0)
    with httpx.Client(timeout=0.2) as impatient:
        err = send_error(whatsapp_emu, http=impatient)
    assert err.retryable
    assert "timed out" in err.detail


def test_unreachable_api_is_retryable(whatsapp_emu: EmulatorHandle) -> None:
    nowhere = dataclasses.replace(whatsapp_emu.cfg, api_base="http://127.0.0.1:9")
    with pytest.raises(ProviderError) as info:
        ADAPTER.send(out(), nowhere, whatsapp_emu.http)
    assert info.value.retryable
