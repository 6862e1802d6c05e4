"""Messenger Send API failures: retry rate limits and outages, give up on people who cannot be reached."""

from __future__ import annotations

import dataclasses

import pytest

from crocevia.channels.base import OutboundMessage
from crocevia.channels.messenger.adapter import MessengerAdapter
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.domain.enums import MessageKind
from crocevia.errors import ProviderError

ADAPTER = MessengerAdapter()


def out(to: str = "6783012345678901", **content: str) -> OutboundMessage:
    return OutboundMessage(1, "fb-fault", to, MessageKind.TEXT, text="Buonasera", content=dict(content))


def error(emu: EmulatorHandle, msg: OutboundMessage | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        ADAPTER.send(msg or out(), emu.cfg, emu.http)
    return info.value


def test_send_rate_limit_is_retryable_with_retry_after(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.fault(status=429, retry_after=30)
    err = error(messenger_emu)
    assert (err.retryable, err.retry_after, err.provider_code) == (True, 30.0, "613")


def test_temporary_error_is_retryable(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.fault(status=502)
    assert error(messenger_emu).retryable


def test_person_who_blocked_the_page_is_permanent(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.account(blocked=["6783012345678901"])
    err = error(messenger_emu)
    assert (err.retryable, err.provider_code) == (False, "551/1545041")
    assert "isn't available right now" in err.detail


def test_outside_the_window_is_permanent_but_a_tag_gets_through(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.account(outside_window=["6783012345678901"])
    err = error(messenger_emu)
    assert (err.retryable, err.provider_code) == (False, "10/2018278")
    ADAPTER.send(out(tag="HUMAN_AGENT"), messenger_emu.cfg, messenger_emu.http)
    assert [r["outcome"] for r in messenger_emu.sends()] == ["rejected", "accepted"]


def test_unknown_recipient_is_permanent(messenger_emu: EmulatorHandle) -> None:
    err = error(messenger_emu, out(to="not-a-psid"))
    assert (err.retryable, err.provider_code) == (False, "100/2018001")


def test_expired_page_token_is_permanent(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.account(access_token="EAAnew-token-after-password-change")
    err = error(messenger_emu)
    assert (err.retryable, err.provider_code) == (False, "190")


def test_app_requiring_appsecret_proof_accepts_ours_and_refuses_a_wrong_one(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.account(require_appsecret_proof=True)
    ADAPTER.send(out(), messenger_emu.cfg, messenger_emu.http)
    wrong = dataclasses.replace(
        messenger_emu.cfg, credentials={**messenger_emu.cfg.credentials, "app_secret": "other-secret-123"}
    )
    with pytest.raises(ProviderError) as info:
        ADAPTER.send(dataclasses.replace(out(), idempotency_key="fb-fault-2"), wrong, messenger_emu.http)
    assert (info.value.retryable, info.value.provider_code) == (False, "100")
