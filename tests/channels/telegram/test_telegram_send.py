"""Sending through the Telegram adapter against the emulator, over real HTTP."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from crocevia.channels.base import Button, ChannelConfig, InboundMessage, MediaRef, OutboundMessage
from crocevia.channels.emulator.server import RunningServer
from crocevia.channels.registry import get_adapter
from crocevia.channels.telegram import testkit
from crocevia.channels.telegram.adapter import TelegramAdapter
from crocevia.domain.enums import MessageKind
from crocevia.errors import ProviderError, ValidationFailed

_registered = get_adapter("telegram")
assert isinstance(_registered, TelegramAdapter)
ADAPTER: TelegramAdapter = _registered
Recorded = Callable[[], list[dict[str, Any]]]


def out(text: str = "Ciao!", **kw: Any) -> OutboundMessage:
    fields: dict[str, Any] = {"message_id": 1, "idempotency_key": "out-1", "recipient_id": "123456789",
                              "kind": MessageKind.TEXT, "text": text}
    fields.update(kw)
    return OutboundMessage(**fields)


def sends(recorded: Recorded) -> list[dict[str, Any]]:
    return [r for r in recorded() if r["outcome"] in ("accepted", "replayed") or r["outcome"].startswith("fault")]


def accepted_ids(emulator: RunningServer) -> list[str]:
    """The ids the emulator gave the messages it accepted, as "<chat>:<message_id>"."""
    rows = httpx.get(f"{emulator.url}/_emulator/accepted", params={"provider": "telegram"}).json()
    return [f"{r['result']['chat']['id']}:{r['result']['message_id']}" for r in rows]


def fault(emulator: RunningServer, **kw: Any) -> None:
    httpx.post(f"{emulator.url}/_emulator/faults", json={"provider": "telegram", **kw}).raise_for_status()


def test_text_goes_to_send_message_with_the_token_in_the_path(
    tg_emulator: RunningServer, tg_cfg: ChannelConfig, tg_http: httpx.Client, tg_recorded: Recorded
) -> None:
    result = ADAPTER.send(out("Il tavolo è prenotato"), tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["method"] == "POST"
    assert call["path"] == f"/bot{testkit.BOT_TOKEN}/sendMessage"
    assert call["body"] == {"method": "sendMessage", "chat_id": "123456789", "text": "Il tavolo è prenotato"}
    assert call["headers"]["content-type"] == "application/json"
    assert call["idempotency_key"] == "out-1"
    assert call["outcome"] == "accepted"
    # The provider id is "<chat>:<message_id>": message ids are unique only per chat.
    assert [result.provider_message_id] == accepted_ids(tg_emulator)


def test_message_ids_count_per_chat(tg_cfg: ChannelConfig, tg_http: httpx.Client) -> None:
    first = ADAPTER.send(out(idempotency_key="a"), tg_cfg, tg_http)
    second = ADAPTER.send(out(idempotency_key="b"), tg_cfg, tg_http)
    other_chat = ADAPTER.send(out(idempotency_key="c", recipient_id="222"), tg_cfg, tg_http)
    chat, n = first.provider_message_id.split(":")
    assert (chat, second.provider_message_id) == ("123456789", f"123456789:{int(n) + 1}")
    assert other_chat.provider_message_id.startswith("222:")


def test_buttons_become_an_inline_keyboard(tg_cfg: ChannelConfig, tg_http: httpx.Client,
                                           tg_recorded: Recorded) -> None:
    msg = out("Confermi?", kind=MessageKind.BUTTONS,
              buttons=(Button("confirm_yes", "Sì"), Button("confirm_no", "No")))
    ADAPTER.send(msg, tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["body"]["text"] == "Confermi?"
    assert call["body"]["reply_markup"] == {"inline_keyboard": [
        [{"text": "Sì", "callback_data": "confirm_yes"}], [{"text": "No", "callback_data": "confirm_no"}]]}


def test_buttons_whose_id_exceeds_64_bytes_fall_back_to_numbered_text(
    tg_cfg: ChannelConfig, tg_http: httpx.Client, tg_recorded: Recorded
) -> None:
    msg = out("Scegli", kind=MessageKind.BUTTONS, buttons=(Button("x" * 65, "Primo"), Button("b", "Secondo")))
    ADAPTER.send(msg, tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["body"]["text"] == "Scegli\n\n1. Primo\n2. Secondo"
    assert "reply_markup" not in call["body"]


def test_photo_by_url_with_caption_and_reply(tg_emulator: RunningServer, tg_cfg: ChannelConfig,
                                             tg_http: httpx.Client, tg_recorded: Recorded) -> None:
    msg = out("Ecco il menù", kind=MessageKind.MEDIA, media_url="https://cdn.example.com/menu.jpg",
              media_mime_type="image/jpeg", reply_to_external_id="123456789:42")
    result = ADAPTER.send(msg, tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["path"].endswith("/sendPhoto")
    assert call["body"] == {"method": "sendPhoto", "chat_id": "123456789",
                            "photo": "https://cdn.example.com/menu.jpg", "caption": "Ecco il menù",
                            "reply_parameters": {"message_id": 42, "allow_sending_without_reply": True}}
    assert [result.provider_message_id] == accepted_ids(tg_emulator)


def test_pdf_goes_as_a_document(tg_cfg: ChannelConfig, tg_http: httpx.Client, tg_recorded: Recorded) -> None:
    msg = out("", kind=MessageKind.MEDIA, media_url="https://cdn.example.com/fattura.pdf",
              media_mime_type="application/pdf")
    ADAPTER.send(msg, tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["path"].endswith("/sendDocument")
    assert call["body"]["document"] == "https://cdn.example.com/fattura.pdf"
    assert "caption" not in call["body"]


def test_text_too_long_for_a_caption_follows_the_media(tg_emulator: RunningServer, tg_cfg: ChannelConfig,
                                                       tg_http: httpx.Client, tg_recorded: Recorded) -> None:
    long_text = "a" * 1500
    msg = out(long_text, kind=MessageKind.MEDIA, media_url="https://cdn.example.com/p.png",
              media_mime_type="image/png", buttons=(Button("ok", "OK"),))
    result = ADAPTER.send(msg, tg_cfg, tg_http)
    photo, text = tg_recorded()
    assert photo["path"].endswith("/sendPhoto") and "caption" not in photo["body"]
    assert text["path"].endswith("/sendMessage") and text["body"]["text"] == long_text
    assert text["body"]["reply_markup"] == {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    assert (photo["idempotency_key"], text["idempotency_key"]) == ("out-1", "out-1:1")
    # The message the hub tracks is the first one: the media.
    assert result.provider_message_id == accepted_ids(tg_emulator)[0]


def test_group_messages_go_to_the_group(tg_cfg: ChannelConfig, tg_http: httpx.Client,
                                        tg_recorded: Recorded) -> None:
    result = ADAPTER.send(out("Per tutti", thread_id="-1001987654321"), tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["body"]["chat_id"] == "-1001987654321"
    assert result.provider_message_id.startswith("-1001987654321:")


def test_location(tg_cfg: ChannelConfig, tg_http: httpx.Client, tg_recorded: Recorded) -> None:
    msg = out("", kind=MessageKind.LOCATION, content={"latitude": 45.4642, "longitude": 9.19})
    ADAPTER.send(msg, tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["path"].endswith("/sendLocation")
    assert (call["body"]["latitude"], call["body"]["longitude"]) == (45.4642, 9.19)


def test_reaction_targets_the_message(tg_cfg: ChannelConfig, tg_http: httpx.Client,
                                      tg_recorded: Recorded) -> None:
    msg = out("", kind=MessageKind.REACTION, content={"emoji": "👍"}, reply_to_external_id="123456789:42")
    result = ADAPTER.send(msg, tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["path"].endswith("/setMessageReaction")
    assert call["body"]["message_id"] == 42
    assert call["body"]["reaction"] == [{"type": "emoji", "emoji": "👍"}]
    assert result.provider_message_id == "123456789:42"


def test_text_over_4096_utf16_units_is_refused_before_sending(tg_cfg: ChannelConfig, tg_http: httpx.Client,
                                                             tg_recorded: Recorded) -> None:
    with pytest.raises(ValidationFailed) as err:
        ADAPTER.send(out("😀" * 2049), tg_cfg, tg_http)  # 2049 emoji = 4098 UTF-16 units
    assert err.value.field == "text"
    assert tg_recorded() == []


def test_templates_are_refused(tg_cfg: ChannelConfig, tg_http: httpx.Client) -> None:
    with pytest.raises(ValidationFailed) as err:
        ADAPTER.send(out(template={"name": "x", "language": "it", "parameters": []}), tg_cfg, tg_http)
    assert err.value.field == "template"


# -- faults ---------------------------------------------------------------------------------
def test_flood_limit_is_retryable_after_telegrams_retry_after(
    tg_emulator: RunningServer, tg_cfg: ChannelConfig, tg_http: httpx.Client, tg_recorded: Recorded
) -> None:
    fault(tg_emulator, status=429, retry_after=7)
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), tg_cfg, tg_http)
    assert err.value.retryable is True
    assert err.value.retry_after == 7.0
    assert "Too Many Requests: retry after 7" in err.value.detail
    assert [r["outcome"] for r in tg_recorded()] == ["fault:429"]


def test_retry_after_a_fault_delivers_once(tg_emulator: RunningServer, tg_cfg: ChannelConfig,
                                           tg_http: httpx.Client) -> None:
    fault(tg_emulator, status=502)
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), tg_cfg, tg_http)
    assert err.value.retryable is True
    first = ADAPTER.send(out(), tg_cfg, tg_http)
    again = ADAPTER.send(out(), tg_cfg, tg_http)  # a retry after a lost answer: same key
    assert first == again
    accepted = httpx.get(f"{tg_emulator.url}/_emulator/accepted", params={"provider": "telegram"}).json()
    assert len(accepted) == 1


def test_blocked_user_is_a_permanent_failure(tg_cfg: ChannelConfig, tg_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(recipient_id="666"), tg_cfg, tg_http)
    assert err.value.retryable is False
    assert err.value.provider_code == "403"
    assert "bot was blocked by the user" in err.value.detail


def test_unknown_chat_is_permanent(tg_cfg: ChannelConfig, tg_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(recipient_id="not-a-chat"), tg_cfg, tg_http)
    assert (err.value.retryable, err.value.provider_code) == (False, "400")
    assert "chat not found" in err.value.detail


def test_group_upgraded_to_supergroup_is_permanent_and_says_where(
    tg_emulator: RunningServer, tg_cfg: ChannelConfig, tg_http: httpx.Client
) -> None:
    body = {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1001234567890}}
    fault(tg_emulator, status=400, body=body)
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(recipient_id="-4001"), tg_cfg, tg_http)
    assert err.value.retryable is False
    assert "-1001234567890" in err.value.detail


def test_wrong_token_is_permanent(tg_cfg: ChannelConfig, tg_http: httpx.Client) -> None:
    bad = replace(tg_cfg, credentials={**tg_cfg.credentials, "bot_token": "7012345678:wrong-token-wrong-token-wrong-1"})
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), bad, tg_http)
    assert (err.value.retryable, err.value.provider_code) == (False, "401")
    assert "wrong-token" not in err.value.detail  # the token never lands in logs


def test_timeout_is_retryable(tg_emulator: RunningServer, tg_cfg: ChannelConfig, tg_recorded: Recorded) -> None:
    fault(tg_emulator, status=500, delay=1.0)
    with httpx.Client(timeout=0.2) as impatient, pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), tg_cfg, impatient)
    assert err.value.retryable is True
    # The emulator answers (and records) the held call only after the delay: wait for it, so
    # its record cannot land in a later test.
    deadline = time.monotonic() + 5
    while not tg_recorded() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r["outcome"] for r in tg_recorded()] == ["fault:500"]


def test_unreachable_api_is_retryable(tg_http: httpx.Client) -> None:
    cfg = testkit.config(api_base="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ProviderError) as err:
        ADAPTER.send(out(), cfg, tg_http)
    assert err.value.retryable is True
    assert testkit.BOT_TOKEN not in err.value.detail


# -- media, set-up --------------------------------------------------------------------------
def test_fetch_media_uses_get_file_then_downloads(tg_emulator: RunningServer, tg_cfg: ChannelConfig,
                                                  tg_http: httpx.Client, tg_recorded: Recorded) -> None:
    pdf = b"%PDF-1.4 fattura"
    httpx.post(f"{tg_emulator.url}/_emulator/telegram/files", json={
        "file_id": "BQACAgQAAxkBAAIBLGZdocAAQ", "file_path": "documents/file_3.pdf",
        "content_b64": base64.b64encode(pdf).decode()}).raise_for_status()
    ref = MediaRef(provider_media_id="BQACAgQAAxkBAAIBLGZdocAAQ", mime_type="application/pdf")
    assert ADAPTER.fetch_media(ref, tg_cfg, tg_http) == (pdf, "application/pdf")
    [get_file] = tg_recorded()
    assert get_file["body"] == {"method": "getFile", "file_id": "BQACAgQAAxkBAAIBLGZdocAAQ"}


def test_fetch_media_guesses_the_type_of_a_photo_from_its_path(tg_emulator: RunningServer,
                                                               tg_cfg: ChannelConfig, tg_http: httpx.Client) -> None:
    httpx.post(f"{tg_emulator.url}/_emulator/telegram/files", json={
        "file_id": "photo-1", "file_path": "photos/file_1.jpg",
        "content_b64": base64.b64encode(b"\xff\xd8jpeg").decode()}).raise_for_status()
    assert ADAPTER.fetch_media(MediaRef(provider_media_id="photo-1"), tg_cfg, tg_http) == (
        b"\xff\xd8jpeg", "image/jpeg")


def test_fetch_media_of_an_unknown_file_is_permanent(tg_cfg: ChannelConfig, tg_http: httpx.Client) -> None:
    with pytest.raises(ProviderError) as err:
        ADAPTER.fetch_media(MediaRef(provider_media_id="nope"), tg_cfg, tg_http)
    assert err.value.retryable is False
    assert "invalid file_id" in err.value.detail


def test_connection_test_names_the_bot_and_the_missing_webhook(tg_cfg: ChannelConfig,
                                                               tg_http: httpx.Client) -> None:
    assert ADAPTER.test_connection(tg_cfg, tg_http) == (
        "connected to Telegram bot @trattoria_bot (id 7012345678); but its webhook points nowhere: "
        f"call setWebhook with {tg_cfg.webhook_url}")
    ADAPTER.set_webhook(tg_cfg, tg_http)
    assert ADAPTER.test_connection(tg_cfg, tg_http).endswith("; webhook set to this channel")


def test_answering_a_button_press(tg_cfg: ChannelConfig, tg_http: httpx.Client, tg_recorded: Recorded) -> None:
    ADAPTER.answer_callback_query("4382bfdwdsb323b2d9", tg_cfg, tg_http, text="Fatto")
    [call] = tg_recorded()
    assert call["body"] == {"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9",
                            "text": "Fatto"}


def test_set_webhook_then_telegram_posts_updates_the_adapter_accepts(
    tg_emulator: RunningServer, tg_hub: Any, tg_http: httpx.Client, tg_cfg: ChannelConfig
) -> None:
    cfg = replace(tg_cfg, webhook_url=f"{tg_hub.url}/webhooks/telegram/ch_test_telegram")
    ADAPTER.set_webhook(cfg, tg_http)
    info = tg_http.post(f"{tg_emulator.url}/bot{testkit.BOT_TOKEN}/getWebhookInfo").json()["result"]
    assert info["url"] == cfg.webhook_url
    assert "message_reaction" in info["allowed_updates"]

    update = (testkit.FIXTURES / "message__text.json").read_bytes()
    answer = httpx.post(f"{tg_emulator.url}/_emulator/telegram/updates",
                        json={"account_id": "7012345678", "update": json.loads(update)}).json()
    assert answer["hub_status"] == 200
    deadline = time.monotonic() + 5
    while not tg_hub.seen and time.monotonic() < deadline:
        time.sleep(0.02)
    [req] = tg_hub.seen
    ADAPTER.verify(req, cfg)
    [event] = ADAPTER.parse(req, cfg)
    assert isinstance(event, InboundMessage)
    assert event.text == "Buongiorno, avete un tavolo per stasera?"


def test_answering_a_button_press_is_sent_without_a_quote(tg_cfg: ChannelConfig, tg_http: httpx.Client,
                                                          tg_recorded: Recorded) -> None:
    # A button press has no message of its own to quote: the answer still goes out.
    ADAPTER.send(out("Confermato", reply_to_external_id="callback:4382bfdwdsb323b2d9"), tg_cfg, tg_http)
    [call] = tg_recorded()
    assert call["body"] == {"method": "sendMessage", "chat_id": "123456789", "text": "Confermato"}
