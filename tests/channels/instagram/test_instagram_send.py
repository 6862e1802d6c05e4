"""Sending Instagram DMs through both connection routes, against the Graph emulator over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from crocevia.channels.base import Button, OutboundMessage, StatusUpdate
from crocevia.channels.instagram.adapter import InstagramAdapter
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ProviderError, ValidationFailed

ADAPTER = InstagramAdapter()
IGSID = "2055366968346312"


def out(**kw: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "message_id": 3,
        "idempotency_key": "ig-1",
        "recipient_id": IGSID,
        "kind": MessageKind.TEXT,
    }
    return OutboundMessage(**{**fields, **kw})


def test_instagram_login_posts_to_the_account_id(instagram_emu: EmulatorHandle) -> None:
    result = ADAPTER.send(out(text="Entregamos sim!"), instagram_emu.cfg, instagram_emu.http)
    [request] = instagram_emu.sends()
    assert (request["path"], request["outcome"]) == ("/v25.0/17841400123456789/messages", "accepted")
    assert request["body"] == {"recipient": {"id": IGSID}, "message": {"text": "Entregamos sim!"}}
    assert request["headers"]["idempotency-key"] == "ig-1"
    assert result.provider_message_id == instagram_emu.accepted()[0]["id"]


def test_facebook_login_posts_to_me_with_the_page_token(instagram_fb_emu: EmulatorHandle) -> None:
    instagram_fb_emu.account(require_appsecret_proof=True)
    ADAPTER.send(out(text="Entregamos sim!"), instagram_fb_emu.cfg, instagram_fb_emu.http)
    [request] = instagram_fb_emu.sends()
    assert (request["path"], request["outcome"]) == ("/v25.0/me/messages", "accepted")


def test_buttons_become_quick_replies(instagram_emu: EmulatorHandle) -> None:
    ADAPTER.send(
        out(
            kind=MessageKind.BUTTONS,
            text="Qual tamanho?",
            buttons=(Button("SIZE_S", "P"), Button("SIZE_M", "M"), Button("SIZE_L", "G")),
        ),
        instagram_emu.cfg,
        instagram_emu.http,
    )
    [request] = instagram_emu.sends()
    assert request["body"]["message"] == {
        "text": "Qual tamanho?",
        "quick_replies": [
            {"content_type": "text", "title": "P", "payload": "SIZE_S"},
            {"content_type": "text", "title": "M", "payload": "SIZE_M"},
            {"content_type": "text", "title": "G", "payload": "SIZE_L"},
        ],
    }


def test_too_many_buttons_fall_back_to_numbered_text(instagram_emu: EmulatorHandle) -> None:
    ADAPTER.send(
        out(kind=MessageKind.BUTTONS, text="Cor?", buttons=tuple(Button(f"c{i}", f"Cor {i}") for i in range(20))),
        instagram_emu.cfg,
        instagram_emu.http,
    )
    [request] = instagram_emu.sends()
    assert request["body"]["message"]["text"].endswith("20. Cor 19")


def test_image_then_caption_and_human_agent_tag(instagram_emu: EmulatorHandle) -> None:
    ADAPTER.send(
        out(
            kind=MessageKind.MEDIA,
            text="Modelo azul",
            media_url="https://cdn.example.com/azul.jpg",
            media_mime_type="image/jpeg",
            content={"tag": "HUMAN_AGENT"},
        ),
        instagram_emu.cfg,
        instagram_emu.http,
    )
    image, caption = (r["body"] for r in instagram_emu.sends())
    assert image == {
        "recipient": {"id": IGSID},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"attachment": {"type": "image", "payload": {"url": "https://cdn.example.com/azul.jpg"}}},
    }
    assert caption["message"] == {"text": "Modelo azul"}


def test_text_over_the_instagram_limit_is_refused(instagram_emu: EmulatorHandle) -> None:
    with pytest.raises(ValidationFailed) as info:
        ADAPTER.send(out(text="a" * 1001), instagram_emu.cfg, instagram_emu.http)
    assert info.value.field == "text"


def test_seen_receipt_marks_the_sent_message_read(instagram_emu: EmulatorHandle) -> None:
    instagram_emu.account(webhook_url=instagram_emu.hook_url)
    result = ADAPTER.send(out(text="Obrigado!"), instagram_emu.cfg, instagram_emu.http)
    [req] = instagram_emu.hook.wait_for(1)  # Instagram sends no delivery receipt, only "seen"
    ADAPTER.verify(req, instagram_emu.cfg)
    [update] = ADAPTER.parse(req, instagram_emu.cfg)
    assert isinstance(update, StatusUpdate)
    assert (update.provider_message_id, update.status) == (result.provider_message_id, MessageStatus.READ)


def test_test_connection_for_both_routes(instagram_emu: EmulatorHandle, instagram_fb_emu: EmulatorHandle) -> None:
    expected = "connected to Instagram account @loja.exemplo (17841400123456789)"
    assert ADAPTER.test_connection(instagram_emu.cfg, instagram_emu.http) == expected
    assert ADAPTER.test_connection(instagram_fb_emu.cfg, instagram_fb_emu.http) == expected


def test_rate_limit_is_retryable_and_a_stranger_is_not(instagram_emu: EmulatorHandle) -> None:
    instagram_emu.fault(status=429, retry_after=12)
    with pytest.raises(ProviderError) as limited:
        ADAPTER.send(out(text="Oi"), instagram_emu.cfg, instagram_emu.http)
    assert (limited.value.retryable, limited.value.retry_after, limited.value.provider_code) == (True, 12.0, "613")
    with pytest.raises(ProviderError) as stranger:
        ADAPTER.send(out(text="Oi", recipient_id="someone"), instagram_emu.cfg, instagram_emu.http)
    assert (stranger.value.retryable, stranger.value.provider_code) == (False, "100/2018001")


def test_expired_instagram_token_is_permanent(instagram_emu: EmulatorHandle) -> None:
    instagram_emu.account(access_token="IGAArefreshed-token-0000000000")
    with pytest.raises(ProviderError) as info:
        ADAPTER.send(out(text="Oi"), instagram_emu.cfg, instagram_emu.http)
    assert (info.value.retryable, info.value.provider_code) == (False, "190")
    assert "reconnect" in info.value.detail
