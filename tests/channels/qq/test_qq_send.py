"""Sending through the QQ emulator over real HTTP: exact requests, passive replies, faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from crocevia.channels.base import Button, ChannelConfig, InboundMessage, OutboundMessage
from crocevia.channels.emulator.server import RunningServer
from crocevia.channels.qq import testkit
from crocevia.channels.qq.adapter import QQAdapter
from crocevia.channels.qq.send import msg_seq
from crocevia.clock import utcnow
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ProviderError

ADAPTER = QQAdapter()
USER = "E4F4AEA33253A2797FB897C50B81D7ED"
MEMBER = "7C1A4F2B9E3D5A6C8B0E2F4A6C8E0B2D"
GROUP = "C9F778FE6ADF9D1D1DBE395BF744A33A"
INBOUND = "ROBOT1.0_.b6nx.CVryAO0nR58RXuU6SC.m92gc19j02qKqdm8ek!"
Recorded = Callable[[], list[dict[str, Any]]]


def _msg(key: str = "out-1", **fields: Any) -> OutboundMessage:
    base: dict[str, Any] = {"message_id": 1, "idempotency_key": key, "recipient_id": USER,
                            "kind": MessageKind.TEXT, "text": "可以的，今晚七点给您留位。",
                            "reply_to_external_id": INBOUND}
    base.update(fields)
    return OutboundMessage(**base)


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _sends(recorded: Recorded) -> list[dict[str, Any]]:
    return [r for r in recorded() if r["path"].endswith("/messages")]


def test_a_c2c_reply_goes_out_in_qqs_format(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                            qq_recorded: Recorded) -> None:
    result = ADAPTER.send(_msg(), qq_cfg, qq_http)

    calls = qq_recorded()
    assert [c["outcome"] for c in calls] == ["token", "accepted"]
    send = calls[1]
    assert (send["method"], send["path"]) == ("POST", f"/v2/users/{USER}/messages")
    assert send["headers"]["authorization"].startswith("QQBot qqtok_")
    assert send["headers"]["x-union-appid"] == testkit.APP_ID
    assert send["body"] == {"content": "可以的，今晚七点给您留位。", "msg_type": 0, "msg_id": INBOUND,
                            "msg_seq": msg_seq("out-1")}
    assert result.provider_message_id.startswith("ROBOT1.0_")
    assert result.status is MessageStatus.SENT


def test_the_token_request_is_what_the_docs_show(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                                 qq_recorded: Recorded) -> None:
    ADAPTER.send(_msg("a"), qq_cfg, qq_http)
    ADAPTER.send(_msg("b"), qq_cfg, qq_http)
    token_calls = [c for c in qq_recorded() if c["outcome"] == "token"]
    assert len(token_calls) == 1  # cached between sends
    assert (token_calls[0]["method"], token_calls[0]["path"]) == ("POST", "/app/getAppAccessToken")
    assert token_calls[0]["body"] == {"appId": testkit.APP_ID}


def test_msg_seq_is_stable_per_message_and_differs_between_messages() -> None:
    assert msg_seq("out-1") == msg_seq("out-1")
    assert msg_seq("out-1") != msg_seq("out-2")
    assert 1 <= msg_seq("anything") <= 1_000_000


def test_a_group_reply_goes_to_the_group(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                         qq_recorded: Recorded) -> None:
    ADAPTER.send(_msg(recipient_id=MEMBER, thread_id=GROUP), qq_cfg, qq_http)
    [send] = _sends(qq_recorded)
    assert send["path"] == f"/v2/groups/{GROUP}/messages"


def test_a_reply_to_a_button_click_uses_event_id(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                                 qq_recorded: Recorded) -> None:
    ADAPTER.send(_msg(reply_to_external_id="event:30540ff7-9d8f-4737-83f1-e116ce6afa8b"), qq_cfg, qq_http)
    [send] = _sends(qq_recorded)
    assert send["body"]["event_id"] == "30540ff7-9d8f-4737-83f1-e116ce6afa8b"
    assert "msg_id" not in send["body"]


def test_buttons_become_numbered_text(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                      qq_recorded: Recorded) -> None:
    ADAPTER.send(_msg(text="几位？", buttons=(Button("2", "两位"), Button("4", "四位"))), qq_cfg, qq_http)
    [send] = _sends(qq_recorded)
    assert send["body"]["content"] == "几位？\n\n1. 两位\n2. 四位"


def test_an_image_is_uploaded_by_url_then_sent_as_media(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                                        qq_recorded: Recorded) -> None:
    msg = _msg(kind=MessageKind.MEDIA, text="", media_url="https://example.com/menu.png")
    ADAPTER.send(msg, qq_cfg, qq_http)
    upload, send = (c for c in qq_recorded() if c["outcome"] != "token")
    assert upload["path"] == f"/v2/users/{USER}/files"
    assert upload["body"] == {"file_type": 1, "url": "https://example.com/menu.png", "srv_send_msg": False}
    assert send["body"]["msg_type"] == 7
    assert send["body"]["content"] == " "  # QQ needs a placeholder for media messages
    assert send["body"]["media"]["file_info"]


def test_a_file_qq_cannot_show_is_sent_as_a_link(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                                 qq_recorded: Recorded) -> None:
    msg = _msg(kind=MessageKind.MEDIA, text="价目表", media_url="https://example.com/prices.pdf")
    ADAPTER.send(msg, qq_cfg, qq_http)
    [send] = _sends(qq_recorded)
    assert send["body"]["content"] == "价目表\nhttps://example.com/prices.pdf"
    assert not [c for c in qq_recorded() if c["path"].endswith("/files")]


def test_a_retry_of_a_send_that_went_through_is_not_sent_twice(
    qq_cfg: ChannelConfig, qq_http: httpx.Client, qq_recorded: Recorded, qq_emulator: RunningServer
) -> None:
    first = ADAPTER.send(_msg("same"), qq_cfg, qq_http)
    again = ADAPTER.send(_msg("same"), qq_cfg, qq_http)  # e.g. the first answer was lost
    assert [c["outcome"] for c in _sends(qq_recorded)] == ["accepted", "deduplicated"]
    accepted = httpx.get(f"{qq_emulator.url}/_emulator/accepted", params={"provider": "qq"}).json()
    assert len(accepted) == 1
    assert first.status is MessageStatus.SENT and again.status is MessageStatus.SENT


# -- passive replies only ---------------------------------------------------------------------
def test_a_message_that_answers_nothing_is_refused_without_a_call(
    qq_cfg: ChannelConfig, qq_http: httpx.Client, qq_recorded: Recorded
) -> None:
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(reply_to_external_id=None), qq_cfg, qq_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "qq_no_proactive")
    assert "2025-04-21" in caught.value.detail
    assert not _sends(qq_recorded)


def test_a_group_reply_after_five_minutes_is_refused_without_a_call(
    qq_cfg: ChannelConfig, qq_http: httpx.Client, qq_recorded: Recorded
) -> None:
    asked = (utcnow() - timedelta(minutes=6)).isoformat()
    msg = _msg(recipient_id=MEMBER, thread_id=GROUP, content={"reply_to_timestamp": asked})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(msg, qq_cfg, qq_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "qq_group_5m")
    assert not _sends(qq_recorded)


def test_a_c2c_reply_after_six_minutes_still_goes_out(qq_cfg: ChannelConfig, qq_http: httpx.Client) -> None:
    asked = (utcnow() - timedelta(minutes=6)).timestamp()
    result = ADAPTER.send(_msg(content={"reply_to_timestamp": asked}), qq_cfg, qq_http)
    assert result.provider_message_id.startswith("ROBOT1.0_")


def test_qq_refusing_an_expired_reply_is_permanent(
    qq_cfg: ChannelConfig, qq_http: httpx.Client, qq_push: Callable[..., dict[str, Any]], qq_hub: Any
) -> None:
    # A group message delivered 10 minutes ago, whose age the hub did not pass on.
    pushed = qq_push(openid=MEMBER, group_openid=GROUP, content="在吗", timestamp=time.time() - 600)
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(recipient_id=MEMBER, thread_id=GROUP, reply_to_external_id=pushed["msg_id"]),
                     qq_cfg, qq_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "304027")


# -- faults -----------------------------------------------------------------------------------
def test_429_is_retryable_and_honours_retry_after(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                                  qq_fault: Callable[..., None]) -> None:
    qq_fault(status=429, retry_after=7)
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), qq_cfg, qq_http)
    assert (caught.value.retryable, caught.value.retry_after, caught.value.provider_code) == (True, 7.0, "22009")


def test_a_5xx_is_retryable(qq_cfg: ChannelConfig, qq_http: httpx.Client, qq_fault: Callable[..., None]) -> None:
    qq_fault(status=500)
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), qq_cfg, qq_http)
    assert caught.value.retryable is True


def test_a_timeout_is_retryable(qq_cfg: ChannelConfig, qq_fault: Callable[..., None],
                                qq_recorded: Recorded) -> None:
    qq_fault(status=200, body={"id": "late", "timestamp": 0}, delay=1.0)
    with httpx.Client(timeout=0.2) as impatient, pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), qq_cfg, impatient)
    assert caught.value.retryable is True
    # The held request did reach QQ; let it finish before the next test resets the emulator.
    assert _eventually(lambda: "fault:200" in [c["outcome"] for c in qq_recorded()])


def test_an_unregistered_url_is_permanent_with_the_console_setting_named(
    qq_cfg: ChannelConfig, qq_http: httpx.Client, qq_fault: Callable[..., None]
) -> None:
    qq_fault(status=400, body={"message": "url not allowed", "code": 304003, "err_code": 304003})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(text="见 https://example.com"), qq_cfg, qq_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "304003")
    assert "消息URL配置" in caught.value.detail


def test_an_unknown_recipient_is_permanent(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                           qq_fault: Callable[..., None]) -> None:
    qq_fault(status=400, body={"message": "回复的消息 id 错误", "code": 304026, "err_code": 304026})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), qq_cfg, qq_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "304026")


def test_a_rejected_token_is_refreshed_once(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                            qq_recorded: Recorded, qq_fault: Callable[..., None]) -> None:
    qq_fault(status=401, body={"message": "token not exist or expire", "code": 11243})
    result = ADAPTER.send(_msg(), qq_cfg, qq_http)
    assert [c["outcome"] for c in qq_recorded()] == ["token", "fault:401", "token", "accepted"]
    assert result.provider_message_id.startswith("ROBOT1.0_")


def test_wrong_credentials_are_permanent(qq_cfg: ChannelConfig, qq_http: httpx.Client) -> None:
    cfg = ChannelConfig(**{**qq_cfg.__dict__, "credentials": {"app_id": testkit.APP_ID, "app_secret": "nope"}})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.test_connection(cfg, qq_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "100007")


def test_connection_check_reports_the_bot(qq_cfg: ChannelConfig, qq_http: httpx.Client) -> None:
    assert testkit.APP_ID in ADAPTER.test_connection(qq_cfg, qq_http)


def test_a_button_click_can_be_answered(qq_cfg: ChannelConfig, qq_http: httpx.Client,
                                        qq_recorded: Recorded) -> None:
    ADAPTER.answer_interaction("30540ff7-9d8f-4737-83f1-e116ce6afa8b", qq_cfg, qq_http)
    [answer] = [c for c in qq_recorded() if c["outcome"] == "answered"]
    assert (answer["method"], answer["path"], answer["body"]) == (
        "PUT", "/interactions/30540ff7-9d8f-4737-83f1-e116ce6afa8b", {"code": 0})


# -- the emulator's webhooks are what the adapter accepts --------------------------------------
@pytest.mark.parametrize("group", [False, True])
def test_a_message_pushed_by_the_emulator_verifies_and_parses(
    group: bool, qq_cfg: ChannelConfig, qq_push: Callable[..., dict[str, Any]], qq_hub: Any
) -> None:
    extra = {"group_openid": GROUP} if group else {}
    pushed = qq_push(openid=MEMBER if group else USER, content="还有位子吗", **extra)
    assert pushed["hub_status"] == 200
    [req] = qq_hub.wait_for(1)
    ADAPTER.verify(req, qq_cfg)
    [event] = ADAPTER.parse(req, qq_cfg)
    assert isinstance(event, InboundMessage)
    assert (event.external_message_id, event.text, event.thread_id) == (
        pushed["msg_id"], "还有位子吗", GROUP if group else "")
