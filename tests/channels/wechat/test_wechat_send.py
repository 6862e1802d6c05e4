"""Sending through the WeChat emulator over real HTTP: exact requests, tokens, faults, receipts."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from crocevia.channels.base import (
    Button,
    ChannelConfig,
    InboundMessage,
    MediaRef,
    OutboundMessage,
    StatusUpdate,
)
from crocevia.channels.emulator.server import RunningServer
from crocevia.channels.wechat import testkit
from crocevia.channels.wechat.adapter import WeChatAdapter
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ProviderError

ADAPTER = WeChatAdapter()
USER = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"
Recorded = Callable[[], list[dict[str, Any]]]


def _msg(key: str = "out-1", **fields: Any) -> OutboundMessage:
    base: dict[str, Any] = {"message_id": 1, "idempotency_key": key, "recipient_id": USER,
                            "kind": MessageKind.TEXT, "text": "您好，今晚 7 点有位子。"}
    base.update(fields)
    return OutboundMessage(**base)


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _sends(recorded: Recorded, path: str = "/cgi-bin/message/custom/send") -> list[dict[str, Any]]:
    return [r for r in recorded() if r["path"] == path]


def test_text_goes_to_custom_send_in_wechats_format(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                    wx_recorded: Recorded) -> None:
    result = ADAPTER.send(_msg(), wx_cfg, wx_http)

    [call] = _sends(wx_recorded)
    assert call["method"] == "POST"
    assert call["body"] == {"touser": USER, "msgtype": "text", "text": {"content": "您好，今晚 7 点有位子。"}}
    assert call["headers"]["content-type"] == "application/json; charset=utf-8"
    assert call["idempotency_key"] == "out-1"
    assert call["outcome"] == "accepted"
    # Customer-service sends return no id: the adapter stores its own stable one.
    assert result.provider_message_id == "wxcs:out-1"
    assert result.status is MessageStatus.SENT


def test_the_access_token_is_fetched_once_and_reused(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                     wx_recorded: Recorded) -> None:
    ADAPTER.send(_msg("a"), wx_cfg, wx_http)
    ADAPTER.send(_msg("b"), wx_cfg, wx_http)
    assert [r["outcome"] for r in wx_recorded()] == ["token", "accepted", "accepted"]


def test_a_token_voided_elsewhere_is_refreshed_once_and_the_send_retried(
    wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_recorded: Recorded, wx_emulator: RunningServer
) -> None:
    ADAPTER.send(_msg("a"), wx_cfg, wx_http)
    # Another system asks for a token: WeChat voids ours (errcode 40001 on the next call).
    httpx.get(f"{wx_emulator.url}/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": testkit.APP_ID, "secret": testkit.APP_SECRET})
    result = ADAPTER.send(_msg("b"), wx_cfg, wx_http)

    outcomes = [r["outcome"] for r in wx_recorded()]
    assert outcomes == ["token", "accepted", "token", "rejected", "token", "accepted"]
    assert result.provider_message_id == "wxcs:b"


def test_a_retry_with_the_same_key_is_not_sent_twice(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                     wx_emulator: RunningServer) -> None:
    ADAPTER.send(_msg("same"), wx_cfg, wx_http)
    ADAPTER.send(_msg("same"), wx_cfg, wx_http)
    accepted = httpx.get(f"{wx_emulator.url}/_emulator/accepted", params={"provider": "wechat"}).json()
    assert len(accepted) == 1


def test_buttons_become_a_menu_message(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                       wx_recorded: Recorded) -> None:
    msg = _msg(text="您对本次服务满意吗？", buttons=(Button("101", "满意"), Button("102", "不满意")))
    ADAPTER.send(msg, wx_cfg, wx_http)
    [call] = _sends(wx_recorded)
    assert call["body"] == {"touser": USER, "msgtype": "msgmenu", "msgmenu": {
        "head_content": "您对本次服务满意吗？",
        "list": [{"id": "101", "content": "满意"}, {"id": "102", "content": "不满意"}]}}


def test_too_many_buttons_fall_back_to_numbered_text(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                     wx_recorded: Recorded) -> None:
    buttons = tuple(Button(str(i), f"选项{i}") for i in range(1, 5))
    ADAPTER.send(_msg(text="请选择：", buttons=buttons), wx_cfg, wx_http)
    [call] = _sends(wx_recorded)
    assert call["body"]["msgtype"] == "text"
    assert call["body"]["text"]["content"] == "请选择：\n\n1. 选项1\n2. 选项2\n3. 选项3\n4. 选项4"


def test_an_account_that_cannot_send_menus_gets_numbered_text(
    wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_recorded: Recorded, wx_register: Callable[..., None]
) -> None:
    wx_register(account_type="subscription")
    msg = _msg(text="满意吗？", buttons=(Button("1", "满意"), Button("2", "不满意")))
    result = ADAPTER.send(msg, wx_cfg, wx_http)
    calls = _sends(wx_recorded)
    assert [c["outcome"] for c in calls] == ["rejected", "accepted"]  # 40200, then the fallback
    assert calls[1]["body"]["text"]["content"] == "满意吗？\n\n1. 满意\n2. 不满意"
    assert result.provider_message_id == "wxcs:out-1"


def test_an_image_by_url_is_uploaded_then_sent_with_its_caption_after_it(
    wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_recorded: Recorded, wx_site: Any
) -> None:
    msg = _msg(kind=MessageKind.MEDIA, text="今日菜单", media_url=f"{wx_site.url}/files/photo.jpg",
               media_mime_type="image/jpeg", media_filename="menu.jpg")
    ADAPTER.send(msg, wx_cfg, wx_http)

    calls = wx_recorded()
    upload = next(c for c in calls if c["path"] == "/cgi-bin/media/upload")
    assert upload["body"] == {"type": "image", "filename": "menu.jpg"}
    image, caption = _sends(wx_recorded)
    assert image["body"]["msgtype"] == "image"
    assert image["body"]["image"]["media_id"].startswith("wxmedia_")
    assert caption["body"] == {"touser": USER, "msgtype": "text", "text": {"content": "今日菜单"}}
    # Two API calls, two distinct idempotency keys: a retry replays each, never swaps them.
    assert image["idempotency_key"] != caption["idempotency_key"]


def test_a_file_wechat_cannot_carry_is_sent_as_a_link(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                      wx_recorded: Recorded, wx_site: Any) -> None:
    url = f"{wx_site.url}/files/brochure.pdf"
    ADAPTER.send(_msg(kind=MessageKind.MEDIA, text="价目表", media_url=url), wx_cfg, wx_http)
    [call] = _sends(wx_recorded)
    assert call["body"]["text"]["content"] == f"价目表\n{url}"
    assert not [c for c in wx_recorded() if c["path"] == "/cgi-bin/media/upload"]


def test_a_template_is_sent_and_its_receipt_comes_back_signed_and_sealed(
    wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_recorded: Recorded, wx_site: Any
) -> None:
    template = {"name": "tmpl_booking_ok", "language": "zh_CN",
                "parameters": [{"name": "thing1", "value": "两位"}, {"name": "time2", "value": "19:00"}],
                "url": "https://example.com/booking/42"}
    result = ADAPTER.send(_msg(kind=MessageKind.TEMPLATE, template=template), wx_cfg, wx_http)

    [call] = _sends(wx_recorded, "/cgi-bin/message/template/send")
    assert call["body"] == {"touser": USER, "template_id": "tmpl_booking_ok",
                            "data": {"thing1": {"value": "两位"}, "time2": {"value": "19:00"}},
                            "url": "https://example.com/booking/42"}
    assert result.provider_message_id.isdigit()

    [receipt] = wx_site.wait_for(1)
    assert receipt.query["encrypt_type"] == "aes"  # the account is in safe mode
    ADAPTER.verify(receipt, wx_cfg)
    [update] = ADAPTER.parse(receipt, wx_cfg)
    assert isinstance(update, StatusUpdate)
    assert (update.provider_message_id, update.status, update.error) == (
        result.provider_message_id, MessageStatus.DELIVERED, None)


def test_a_template_to_a_user_who_blocked_the_account_reports_failed(
    wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_site: Any
) -> None:
    msg = _msg(kind=MessageKind.TEMPLATE, recipient_id="oBLOCKEDxxxxxxxxxxxxxxxxxxxx",
               template={"name": "tmpl", "parameters": {"thing1": "x"}})
    result = ADAPTER.send(msg, wx_cfg, wx_http)
    [receipt] = wx_site.wait_for(1)
    [update] = ADAPTER.parse(receipt, wx_cfg)
    assert isinstance(update, StatusUpdate)
    assert (update.provider_message_id, update.status, update.error) == (
        result.provider_message_id, MessageStatus.FAILED, "failed:user block")


def test_unnamed_template_parameters_are_refused_before_any_call(
    wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_recorded: Recorded
) -> None:
    msg = _msg(kind=MessageKind.TEMPLATE, template={"name": "tmpl", "parameters": ["两位", "19:00"]})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(msg, wx_cfg, wx_http)
    assert caught.value.retryable is False
    assert not _sends(wx_recorded, "/cgi-bin/message/template/send")


# -- errors -----------------------------------------------------------------------------------
def test_rate_limit_is_retryable_after_a_minute(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                wx_fault: Callable[..., None]) -> None:
    wx_fault(status=429)
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), wx_cfg, wx_http)
    assert (caught.value.retryable, caught.value.retry_after, caught.value.provider_code) == (True, 60.0, "45011")


def test_system_busy_is_retryable(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                  wx_fault: Callable[..., None]) -> None:
    wx_fault(status=200, body={"errcode": -1, "errmsg": "system error"})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), wx_cfg, wx_http)
    assert caught.value.retryable is True


def test_a_5xx_is_retryable(wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_fault: Callable[..., None]) -> None:
    wx_fault(status=503)
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), wx_cfg, wx_http)
    assert caught.value.retryable is True


def test_a_timeout_is_retryable(wx_cfg: ChannelConfig, wx_fault: Callable[..., None],
                                wx_recorded: Recorded) -> None:
    wx_fault(status=200, body={"errcode": 0, "errmsg": "ok"}, delay=1.0)
    with httpx.Client(timeout=0.2) as impatient, pytest.raises(ProviderError) as caught:
        # The token call is not faulted; the send is held past the client's timeout.
        ADAPTER.send(_msg(), wx_cfg, impatient)
    assert caught.value.retryable is True
    # The held request did reach WeChat; let it finish before the next test resets the emulator.
    assert _eventually(lambda: "fault:200" in [c["outcome"] for c in wx_recorded()])


def test_an_invalid_openid_is_permanent(wx_cfg: ChannelConfig, wx_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(recipient_id="not-an-openid"), wx_cfg, wx_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "40003")
    assert "invalid recipient" in caught.value.detail


def test_outside_the_48_hour_window_is_permanent_with_the_reason(wx_cfg: ChannelConfig,
                                                                 wx_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(recipient_id="oEXPIREDxxxxxxxxxxxxxxxxxxxx"), wx_cfg, wx_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "45015")
    assert "48-hour" in caught.value.detail


def test_the_per_interaction_quota_is_permanent_with_the_reason(
    wx_cfg: ChannelConfig, wx_http: httpx.Client, wx_fault: Callable[..., None]
) -> None:
    wx_fault(status=200, body={"errcode": 45047, "errmsg": "out of response count limit"})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.send(_msg(), wx_cfg, wx_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "45047")
    assert "5 messages" in caught.value.detail


def test_a_wrong_app_secret_is_permanent(wx_cfg: ChannelConfig, wx_http: httpx.Client) -> None:
    cfg = testkit.config(api_base=wx_cfg.api_base)
    cfg = ChannelConfig(**{**cfg.__dict__, "credentials": {**cfg.credentials, "app_secret": "wrong"}})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.test_connection(cfg, wx_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "40125")


def test_connection_check_reports_the_account(wx_cfg: ChannelConfig, wx_http: httpx.Client) -> None:
    assert testkit.APP_ID in ADAPTER.test_connection(wx_cfg, wx_http)


# -- media in ---------------------------------------------------------------------------------
def test_inbound_media_is_downloaded_by_media_id(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                 wx_emulator: RunningServer) -> None:
    httpx.post(f"{wx_emulator.url}/_emulator/wechat/media", json={
        "media_id": "voice_media_id_7x1Yq0example", "content_type": "audio/amr",
        "data_base64": base64.b64encode(b"#!AMR\n voice").decode()}).raise_for_status()
    data, mime = ADAPTER.fetch_media(MediaRef(provider_media_id="voice_media_id_7x1Yq0example"), wx_cfg, wx_http)
    assert (data, mime) == (b"#!AMR\n voice", "audio/amr")


def test_inbound_video_is_downloaded_through_its_video_url(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                           wx_emulator: RunningServer) -> None:
    httpx.post(f"{wx_emulator.url}/_emulator/wechat/media", json={
        "media_id": "video_1", "content_type": "video/mp4",
        "data_base64": base64.b64encode(b"\x00\x00\x00\x18ftypmp42").decode()}).raise_for_status()
    data, mime = ADAPTER.fetch_media(MediaRef(provider_media_id="video_1"), wx_cfg, wx_http)
    assert (data, mime) == (b"\x00\x00\x00\x18ftypmp42", "video/mp4")


def test_an_unknown_media_id_is_a_permanent_error(wx_cfg: ChannelConfig, wx_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as caught:
        ADAPTER.fetch_media(MediaRef(provider_media_id="gone"), wx_cfg, wx_http)
    assert (caught.value.retryable, caught.value.provider_code) == (False, "40007")


def test_an_image_without_media_id_is_fetched_from_its_picurl(wx_cfg: ChannelConfig, wx_http: httpx.Client,
                                                             wx_site: Any, wx_photo: bytes) -> None:
    data, mime = ADAPTER.fetch_media(MediaRef(url=f"{wx_site.url}/files/photo.jpg"), wx_cfg, wx_http)
    assert (data, mime) == (wx_photo, "image/jpeg")


# -- the emulator's inbound push is what the adapter accepts -----------------------------------
@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
def test_a_user_message_pushed_by_the_emulator_verifies_and_parses(
    mode: str, wx_emulator: RunningServer, wx_site: Any, wx_register: Callable[..., None]
) -> None:
    wx_register(message_mode=mode)
    answer = httpx.post(f"{wx_emulator.url}/_emulator/wechat/push", json={
        "account_id": testkit.APP_ID, "openid": USER, "content": "还有位子吗"}).json()
    assert (answer["hub_status"], answer["hub_body"]) == (200, "success")
    [req] = wx_site.wait_for(1)
    cfg = testkit.config(message_mode=mode)
    ADAPTER.verify(req, cfg)
    [event] = ADAPTER.parse(req, cfg)
    assert isinstance(event, InboundMessage)
    assert (event.sender_id, event.text, event.external_message_id) == (USER, "还有位子吗", answer["msg_id"])

