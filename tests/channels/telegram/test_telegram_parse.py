"""Every Telegram fixture, verified and parsed as the hub's webhook route would."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    MessageEdit,
    Reaction,
    WebhookRequest,
)
from crocevia.channels.registry import get_adapter
from crocevia.channels.telegram import testkit
from crocevia.domain.enums import MessageKind
from crocevia.errors import SignatureInvalid, ValidationFailed

ADAPTER = get_adapter("telegram")
CFG = testkit.config()


def load(name: str) -> bytes:
    return (testkit.FIXTURES / name).read_bytes()


def events_of(name: str) -> list[InboundEvent]:
    req = testkit.signed_request(load(name), CFG, name)
    ADAPTER.verify(req, CFG)
    return ADAPTER.parse(req, CFG)


def only(name: str) -> InboundEvent:
    events = events_of(name)
    assert len(events) == 1
    return events[0]


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


# -- verification ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.name for p in testkit.FIXTURES.iterdir()))
def test_every_fixture_verifies_and_parses(name: str) -> None:
    assert events_of(name), f"{name} produced no event"


@pytest.mark.parametrize("name", sorted(p.name for p in testkit.FIXTURES.iterdir()))
def test_a_changed_secret_token_is_refused(name: str) -> None:
    req = testkit.tamper(testkit.signed_request(load(name), CFG, name))
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(req, CFG)


def test_a_missing_secret_token_is_refused() -> None:
    req = testkit.signed_request(load("message__text.json"), CFG)
    bare = replace(req, headers={"content-type": "application/json"})
    with pytest.raises(SignatureInvalid, match="missing"):
        ADAPTER.verify(bare, CFG)


def test_the_secret_of_another_channel_is_refused() -> None:
    other = replace(CFG, credentials={**CFG.credentials, "webhook_secret": "another-channel-secret-123"})
    req = testkit.signed_request(load("message__text.json"), other)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(req, CFG)


def test_a_secret_that_is_a_prefix_of_the_real_one_is_refused() -> None:
    req = testkit.signed_request(load("message__text.json"), CFG)
    short = replace(req, headers={**req.headers, "x-telegram-bot-api-secret-token": testkit.WEBHOOK_SECRET[:-1]})
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(short, CFG)


# -- messages -------------------------------------------------------------------------------
def test_private_text_message() -> None:
    ev = only("message__text.json")
    assert ev == InboundMessage(
        external_message_id="123456789:42",
        sender_id="123456789",
        sender_name="Ana Bianchi",
        kind=MessageKind.TEXT,
        text="Buongiorno, avete un tavolo per stasera?",
        content={"username": "ana_b"},
        timestamp=at(1735689600),
        thread_id="",
    )


def test_group_message_carries_the_group_as_thread_and_the_reply_target() -> None:
    ev = only("message__group_reply.json")
    assert isinstance(ev, InboundMessage)
    assert ev.thread_id == "-1001987654321"
    assert ev.sender_id == "555000111"
    assert ev.sender_name == "Luca"
    assert ev.external_message_id == "-1001987654321:318"
    assert ev.reply_to_external_id == "-1001987654321:317"
    assert ev.text == "Anche per noi, siamo in 4"


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    ev = only("message__photo.json")
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.MEDIA
    assert ev.text == "Lo scontrino di ieri"
    assert ev.media == (
        MediaRef(provider_media_id="AgACAgQAAxkBAAIBK2ZlargeAAQ", mime_type="image/jpeg",
                 caption="Lo scontrino di ieri"),
    )


def test_document_keeps_its_file_name_and_type() -> None:
    ev = only("message__document.json")
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.MEDIA
    assert ev.text == ""
    assert ev.media == (MediaRef(provider_media_id="BQACAgQAAxkBAAIBLGZdocAAQ", mime_type="application/pdf",
                                 filename="fattura-2025-001.pdf"),)


def test_voice_note() -> None:
    ev = only("message__voice.json")
    assert isinstance(ev, InboundMessage)
    assert ev.media[0].provider_media_id == "AwACAgQAAxkBAAIBLWZvoiceAAQ"
    assert ev.media[0].mime_type == "audio/ogg"


def test_video_with_caption() -> None:
    ev = only("message__video.json")
    assert isinstance(ev, InboundMessage)
    assert ev.text == "Questo è l'ingresso?"
    assert ev.media[0].mime_type == "video/mp4"
    assert ev.media[0].filename == "ingresso.mp4"


def test_location() -> None:
    ev = only("message__location.json")
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.LOCATION
    assert ev.content["latitude"] == pytest.approx(45.464211)
    assert ev.content["longitude"] == pytest.approx(9.191383)


def test_shared_contact() -> None:
    ev = only("message__contact.json")
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.CONTACTS
    assert ev.content["contacts"] == [{"name": "Marco Verdi", "phone": "+393331234567", "user_id": "987654321"}]


def test_poll_arrives_as_unsupported_so_an_agent_still_sees_it() -> None:
    ev = only("message__poll.json")
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.UNSUPPORTED
    assert ev.content["telegram_type"] == "poll"


def test_members_joining_a_group_is_a_service_message_and_ignored() -> None:
    assert only("message__new_chat_members.json") == IgnoredEvent("message:service")


def test_edit_of_a_message() -> None:
    ev = only("edited_message__text.json")
    assert ev == MessageEdit(external_message_id="123456789:42", sender_id="123456789",
                             new_text="Buongiorno, avete un tavolo per 2 stasera?", timestamp=at(1735689660))


def test_channel_post_speaks_as_the_channel() -> None:
    ev = only("channel_post__text.json")
    assert isinstance(ev, InboundMessage)
    assert ev.sender_id == "-1001122334455"
    assert ev.sender_name == "Trattoria News"
    assert ev.thread_id == "-1001122334455"
    assert ev.text == "Stasera menù speciale!"


def test_button_press_names_the_button_and_keeps_the_query_id_to_answer() -> None:
    ev = only("callback_query__button.json")
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.BUTTON_REPLY
    assert ev.external_message_id == "callback:4382bfdwdsb323b2d9"
    assert ev.sender_id == "123456789"
    assert ev.text == "Sì, confermo"
    assert ev.content == {"button_id": "confirm_yes", "button_title": "Sì, confermo",
                          "callback_query_id": "4382bfdwdsb323b2d9", "username": "ana_b"}
    assert ev.reply_to_external_id == "123456789:50"


def test_reaction_added_and_removed() -> None:
    assert only("message_reaction__added.json") == Reaction(
        target_external_id="123456789:50", sender_id="123456789", emoji="👍", timestamp=at(1735690800))
    assert only("message_reaction__removed.json") == Reaction(
        target_external_id="123456789:50", sender_id="123456789", emoji="", timestamp=at(1735690860))


def test_user_blocking_the_bot_is_acknowledged_not_stored() -> None:
    assert only("my_chat_member__kicked.json") == IgnoredEvent("my_chat_member:kicked")


def test_update_types_we_do_not_handle_are_ignored() -> None:
    assert only("unknown__inline_query.json") == IgnoredEvent("inline_query")


# -- malformed ------------------------------------------------------------------------------
def _parse_raw(body: bytes) -> list[InboundEvent]:
    req = WebhookRequest("POST", CFG.webhook_url, {}, {}, body)
    return ADAPTER.parse(req, CFG)


def test_body_that_is_not_json_names_the_body() -> None:
    with pytest.raises(ValidationFailed) as err:
        _parse_raw(b"update_id=1")
    assert err.value.field == "body"


def test_update_without_update_id_names_the_field() -> None:
    with pytest.raises(ValidationFailed) as err:
        _parse_raw(json.dumps({"message": {"message_id": 1}}).encode())
    assert err.value.field == "update_id"


def test_message_without_chat_names_the_missing_path() -> None:
    body = {"update_id": 5, "message": {"message_id": 1, "date": 1735689600, "text": "hi"}}
    with pytest.raises(ValidationFailed) as err:
        _parse_raw(json.dumps(body).encode())
    assert err.value.field == "message.chat"


def test_json_array_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        _parse_raw(b"[1, 2]")


def test_fixture_files_are_exactly_what_telegram_posts() -> None:
    # No trailing newline or BOM: the contract test feeds these bytes verbatim.
    for path in Path(testkit.FIXTURES).iterdir():
        raw = path.read_bytes()
        assert json.loads(raw)["update_id"] > 0
        assert not raw.endswith(b"\n")
