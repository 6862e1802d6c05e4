"""Sending through the Messenger adapter to the Graph emulator over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from crocevia.channels.base import Button, OutboundMessage, StatusUpdate, StatusUpTo
from crocevia.channels.messenger.adapter import MessengerAdapter
from crocevia.channels.meta.testkit_common import EmulatorHandle
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ValidationFailed

ADAPTER = MessengerAdapter()
PSID = "6783012345678901"
PATH = "/v25.0/104857394857362/messages"


def out(**kw: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "message_id": 7,
        "idempotency_key": "fb-1",
        "recipient_id": PSID,
        "kind": MessageKind.TEXT,
    }
    return OutboundMessage(**{**fields, **kw})


def sent_bodies(emu: EmulatorHandle, msg: OutboundMessage) -> list[dict[str, Any]]:
    result = ADAPTER.send(msg, emu.cfg, emu.http)
    requests = emu.sends()
    assert all(r["path"] == PATH and r["outcome"] == "accepted" for r in requests)
    assert result.provider_message_id == emu.accepted()[0]["id"]
    return [r["body"] for r in requests]


def test_text_is_a_response_to_the_psid(messenger_emu: EmulatorHandle) -> None:
    result = ADAPTER.send(out(text="Sì, domenica siamo aperti"), messenger_emu.cfg, messenger_emu.http)
    [request] = messenger_emu.sends()
    assert (request["method"], request["path"], request["outcome"]) == ("POST", PATH, "accepted")
    assert request["headers"]["idempotency-key"] == "fb-1"
    assert "authorization" not in request["headers"]  # the Page token travels as ?access_token=
    assert request["body"] == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Sì, domenica siamo aperti"},
    }
    assert result.provider_message_id == messenger_emu.accepted()[0]["id"]


def test_up_to_three_buttons_become_a_button_template(messenger_emu: EmulatorHandle) -> None:
    [body] = sent_bodies(
        messenger_emu,
        out(
            kind=MessageKind.BUTTONS,
            text="Per quante persone?",
            buttons=(Button("P2", "2"), Button("P4", "4"), Button("P6", "6 o più")),
        ),
    )
    assert body["message"] == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": "Per quante persone?",
                "buttons": [
                    {"type": "postback", "title": "2", "payload": "P2"},
                    {"type": "postback", "title": "4", "payload": "P4"},
                    {"type": "postback", "title": "6 o più", "payload": "P6"},
                ],
            },
        }
    }


def test_four_to_thirteen_buttons_become_quick_replies(messenger_emu: EmulatorHandle) -> None:
    days = ("Lun", "Mar", "Mer", "Gio", "Ven")
    [body] = sent_bodies(
        messenger_emu,
        out(kind=MessageKind.BUTTONS, text="Che giorno?", buttons=tuple(Button(d.upper(), d) for d in days)),
    )
    assert body["message"] == {
        "text": "Che giorno?",
        "quick_replies": [{"content_type": "text", "title": d, "payload": d.upper()} for d in days],
    }


def test_fourteen_buttons_fall_back_to_numbered_text(messenger_emu: EmulatorHandle) -> None:
    [body] = sent_bodies(
        messenger_emu,
        out(kind=MessageKind.BUTTONS, text="Scegli", buttons=tuple(Button(str(i), f"N{i}") for i in range(1, 15))),
    )
    assert "quick_replies" not in body["message"]
    assert body["message"]["text"].splitlines()[-1] == "14. N14"


def test_button_titles_over_twenty_characters_fall_back(messenger_emu: EmulatorHandle) -> None:
    [body] = sent_bodies(
        messenger_emu,
        out(kind=MessageKind.BUTTONS, text="Scegli", buttons=(Button("a", "Una scelta davvero troppo lunga"),)),
    )
    assert body["message"] == {"text": "Scegli\n\n1. Una scelta davvero troppo lunga"}


def test_media_and_text_go_as_attachment_then_text(messenger_emu: EmulatorHandle) -> None:
    first, second = sent_bodies(
        messenger_emu,
        out(
            kind=MessageKind.MEDIA,
            text="Il menù di oggi",
            media_url="https://cdn.example.com/menu.jpg",
            media_mime_type="image/jpeg",
        ),
    )
    assert first["message"] == {
        "attachment": {"type": "image", "payload": {"url": "https://cdn.example.com/menu.jpg", "is_reusable": True}}
    }
    assert second["message"] == {"text": "Il menù di oggi"}
    keys = [r["headers"]["idempotency-key"] for r in messenger_emu.sends()]
    assert keys == ["fb-1", "fb-1:1"]


def test_pdf_goes_as_a_file_attachment(messenger_emu: EmulatorHandle) -> None:
    [body] = sent_bodies(
        messenger_emu,
        out(kind=MessageKind.MEDIA, media_url="https://cdn.example.com/f.pdf", media_mime_type="application/pdf"),
    )
    assert body["message"]["attachment"]["type"] == "file"


def test_human_agent_tag_is_sent_as_message_tag(messenger_emu: EmulatorHandle) -> None:
    [body] = sent_bodies(messenger_emu, out(text="Le scrivo io dopo il controllo", content={"tag": "HUMAN_AGENT"}))
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_location_becomes_a_map_link(messenger_emu: EmulatorHandle) -> None:
    [body] = sent_bodies(
        messenger_emu,
        out(kind=MessageKind.LOCATION, content={"latitude": 45.4642, "longitude": 9.19, "name": "Trattoria Esempio"}),
    )
    assert body["message"] == {"text": "Trattoria Esempio\nhttps://maps.google.com/?q=45.4642,9.19"}


@pytest.mark.parametrize(
    ("msg", "field"),
    [
        (out(kind=MessageKind.TEMPLATE, template={"name": "x", "language": "it"}), "template"),
        (out(kind=MessageKind.REACTION, content={"emoji": "\u2764\ufe0f", "message_id": "m_1"}), "kind"),
        (out(text="x" * 2001), "text"),
        (out(text=""), "text"),
    ],
)
def test_what_messenger_cannot_send_is_refused_before_calling_meta(
    messenger_emu: EmulatorHandle, msg: OutboundMessage, field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        ADAPTER.send(msg, messenger_emu.cfg, messenger_emu.http)
    assert info.value.field == field
    assert messenger_emu.sends() == []


def test_delivery_receipt_names_the_sent_message_and_read_is_a_watermark(messenger_emu: EmulatorHandle) -> None:
    messenger_emu.account(webhook_url=messenger_emu.hook_url)
    result = ADAPTER.send(out(text="A domenica!"), messenger_emu.cfg, messenger_emu.http)
    events = []
    for req in messenger_emu.hook.wait_for(2):
        ADAPTER.verify(req, messenger_emu.cfg)
        events += ADAPTER.parse(req, messenger_emu.cfg)
    delivered = [(e.provider_message_id, e.status) for e in events if isinstance(e, StatusUpdate)]
    assert delivered == [(result.provider_message_id, MessageStatus.DELIVERED)]
    reads = [e for e in events if isinstance(e, StatusUpTo)]
    assert [(e.recipient_id, e.status) for e in reads] == [(PSID, MessageStatus.READ)]


def test_test_connection_names_the_page(messenger_emu: EmulatorHandle) -> None:
    assert ADAPTER.test_connection(messenger_emu.cfg, messenger_emu.http) == (
        "connected to Facebook Page Trattoria Esempio (104857394857362)"
    )


def test_a_retry_with_the_same_key_is_not_doubled(messenger_emu: EmulatorHandle) -> None:
    first = ADAPTER.send(out(text="Una volta"), messenger_emu.cfg, messenger_emu.http)
    again = ADAPTER.send(out(text="Una volta"), messenger_emu.cfg, messenger_emu.http)
    assert first == again
    assert [r["outcome"] for r in messenger_emu.sends()] == ["accepted", "replayed"]
