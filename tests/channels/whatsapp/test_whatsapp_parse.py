"""Every WhatsApp fixture parses into exactly the events a person would expect to see."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    MessageEdit,
    Reaction,
    StatusUpdate,
)
from crocevia.channels.meta.testkit_common import structural_mutations
from crocevia.channels.whatsapp import testkit
from crocevia.channels.whatsapp.adapter import WhatsAppAdapter
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ValidationFailed

ADAPTER = WhatsAppAdapter()
USER = "393331234567"
OUR_MSG = "wamid.HBgMMzkzMzMxMjM0NTY3FQIAERgSQkE5QjE4QjdDMDE3RTk1QTlBAA=="


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def msg(mid: str, ts: int, kind: MessageKind, text: str = "", **kw: Any) -> InboundMessage:
    return InboundMessage(
        external_message_id=mid,
        sender_id=USER,
        sender_name="Mario Rossi",
        sender_phone=f"+{USER}",
        kind=kind,
        text=text,
        timestamp=at(ts),
        **kw,
    )


EXPECTED: dict[str, list[InboundEvent]] = {
    "messages__text": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDFBQjI0RjdFMkY3NkUxQkEA",
            1764000000,
            MessageKind.TEXT,
            "Buongiorno, avete un tavolo per stasera?",
        )
    ],
    "messages__reply": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDJDNDVBMTdFNUY1RTFCQQA=",
            1764000060,
            MessageKind.TEXT,
            "Sì, alle 20 va bene",
            reply_to_external_id=OUR_MSG,
        )
    ],
    "messages__image": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDNBNkJFRjhFMUE2QzI0MDYA",
            1764000120,
            MessageKind.MEDIA,
            "Il menù di oggi?",
            content={"media_type": "image"},
            media=(MediaRef(provider_media_id="1187391682851735", mime_type="image/jpeg", caption="Il menù di oggi?"),),
        )
    ],
    "messages__document": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDRCN0MxOUUzRjQ4NkEzMTMA",
            1764000180,
            MessageKind.MEDIA,
            "Fattura",
            content={"media_type": "document", "forwarded": True},
            media=(
                MediaRef(
                    provider_media_id="1493828721398234",
                    mime_type="application/pdf",
                    filename="fattura-2025-118.pdf",
                    caption="Fattura",
                ),
            ),
        )
    ],
    "messages__voice": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDVDOEQyMEY0RTU5N0I0MjQA",
            1764000240,
            MessageKind.MEDIA,
            content={"media_type": "audio", "voice": True},
            media=(MediaRef(provider_media_id="873265201938472", mime_type="audio/ogg; codecs=opus"),),
        )
    ],
    "messages__sticker": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDZEOUUzMUE1RjZBOEM1MzUA",
            1764000300,
            MessageKind.MEDIA,
            content={"media_type": "sticker"},
            media=(MediaRef(provider_media_id="1022485729384756", mime_type="image/webp"),),
        )
    ],
    "messages__location": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDdFQUY0MkI2QTdCOUQ2NDYA",
            1764000360,
            MessageKind.LOCATION,
            "Duomo di Milano",
            content={
                "latitude": 45.4642035,
                "longitude": 9.189982,
                "name": "Duomo di Milano",
                "address": "Piazza del Duomo, 20122 Milano MI",
                "url": "https://maps.google.com/?cid=2000000000000000000",
            },
        )
    ],
    "messages__contacts": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDhGQjA1M0M3QjhDQUU3NTcA",
            1764000420,
            MessageKind.CONTACTS,
            "Giulia Bianchi",
            content={
                "contacts": [
                    {
                        "name": {"first_name": "Giulia", "last_name": "Bianchi", "formatted_name": "Giulia Bianchi"},
                        "phones": [{"phone": "+39 333 765 4321", "wa_id": "393337654321", "type": "CELL"}],
                    }
                ]
            },
        )
    ],
    "messages__button_reply": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDlBQzE2NEQ4QzlEQkY4NjgA",
            1764000480,
            MessageKind.BUTTON_REPLY,
            "Confermo",
            content={"id": "confirm_booking", "title": "Confermo"},
            reply_to_external_id="wamid.HBgMMzkzMzMxMjM0NTY3FQIAERgSQ0E5QjE4QjdDMDE3RTk1QTlBAA==",
        )
    ],
    "messages__list_reply": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMTBCRDI3NUU5REFFQzk3OTkA",
            1764000540,
            MessageKind.BUTTON_REPLY,
            "20:30",
            content={"id": "slot_2030", "title": "20:30", "list": True, "description": "Sala interna"},
            reply_to_external_id="wamid.HBgMMzkzMzMxMjM0NTY3FQIAERgSREE5QjE4QjdDMDE3RTk1QTlBAA==",
        )
    ],
    "messages__template_button": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMTFDRTM4NkZBRUJGRDhBQTAA",
            1764000600,
            MessageKind.BUTTON_REPLY,
            "Stop promozioni",
            content={"id": "STOP_PROMOTIONS", "title": "Stop promozioni", "template_button": True},
            reply_to_external_id="wamid.HBgMMzkzMzMxMjM0NTY3FQIAERgSRUE5QjE4QjdDMDE3RTk1QTlBAA==",
        )
    ],
    "messages__reaction": [Reaction(OUR_MSG, USER, "\U0001f44d", at(1764000660))],
    "messages__unreaction": [Reaction(OUR_MSG, USER, "", at(1764000720))],
    "messages__edit": [
        MessageEdit(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDJDNDVBMTdFNUY1RTFCQQA=",
            USER,
            "Sì, alle 20:30 va bene",
            at(1764000780),
        )
    ],
    "messages__group_text": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMTVBMjdDQURFMkYzMUNFRTQA",
            1764000840,
            MessageKind.TEXT,
            "Ciao a tutti, confermo per sabato",
            thread_id="Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD",
        )
    ],
    "messages__unsupported": [
        msg(
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMTZCMzhEQkVGMzA0MkRGRjUA",
            1764000900,
            MessageKind.UNSUPPORTED,
            content={"type": "unsupported", "error": "Message type unknown"},
        )
    ],
    "messages__system": [IgnoredEvent("message:system")],
    "statuses__sent": [StatusUpdate(OUR_MSG, MessageStatus.SENT, at(1764001000))],
    "statuses__delivered": [StatusUpdate(OUR_MSG, MessageStatus.DELIVERED, at(1764001002))],
    "statuses__read": [StatusUpdate(OUR_MSG, MessageStatus.READ, at(1764001030))],
    "statuses__failed": [
        StatusUpdate(
            OUR_MSG,
            MessageStatus.FAILED,
            at(1764001001),
            "131047 Re-engagement message: Message failed to send because more than 24 hours have passed "
            "since the customer last replied to this number.",
        )
    ],
    "unknown__template_status_update": [IgnoredEvent("field:message_template_status_update")],
}


def parse(body: bytes) -> list[InboundEvent]:
    cfg = testkit.config()
    req = testkit.signed_request(body, cfg)
    ADAPTER.verify(req, cfg)
    return ADAPTER.parse(req, cfg)


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in testkit.FIXTURES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_events(name: str) -> None:
    assert parse((testkit.FIXTURES / f"{name}.json").read_bytes()) == EXPECTED[name]


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((testkit.FIXTURES / f"{name}.json").read_text())
    return data


def test_a_user_without_a_phone_number_is_keyed_by_business_scoped_id() -> None:
    data = fixture("messages__text")
    value = data["entry"][0]["changes"][0]["value"]
    del value["messages"][0]["from"]
    del value["contacts"][0]["wa_id"]
    [event] = parse(json.dumps(data).encode())
    assert isinstance(event, InboundMessage)
    assert (event.sender_id, event.sender_phone, event.sender_name) == ("IT.13491208655302741918", None, "Mario Rossi")


def test_events_for_another_phone_number_of_the_same_app_are_ignored() -> None:
    data = fixture("messages__text")
    data["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999999999"
    assert parse(json.dumps(data).encode()) == [IgnoredEvent("other_phone_number:999999999999999")]


def test_one_webhook_can_carry_several_messages_and_statuses() -> None:
    data = fixture("messages__text")
    value = data["entry"][0]["changes"][0]["value"]
    value["messages"].append({**value["messages"][0], "id": "wamid.second", "text": {"body": "Siamo in 4"}})
    value["statuses"] = fixture("statuses__read")["entry"][0]["changes"][0]["value"]["statuses"]
    events = parse(json.dumps(data).encode())
    assert [type(e).__name__ for e in events] == ["InboundMessage", "InboundMessage", "StatusUpdate"]
    assert [e.text for e in events if isinstance(e, InboundMessage)] == [
        "Buongiorno, avete un tavolo per stasera?",
        "Siamo in 4",
    ]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(object="page"), "object"),
        (lambda d: d.update(entry={"id": "1"}), "entry"),
        (
            lambda d: d["entry"][0]["changes"][0]["value"]["messages"][0].pop("id"),
            "entry[0].changes[0].value.messages[0].id",
        ),
        (
            lambda d: d["entry"][0]["changes"][0]["value"]["messages"][0].update(text="hi"),
            "entry[0].changes[0].value.messages[0].text",
        ),
        (
            lambda d: d["entry"][0]["changes"][0]["value"]["messages"][0].update(timestamp="yesterday"),
            "entry[0].changes[0].value.messages[0].timestamp",
        ),
        (lambda d: d["entry"][0]["changes"][0]["value"].update(messages="hi"), "entry[0].changes[0].value.messages"),
    ],
)
def test_malformed_payload_names_the_bad_field(mutate: Any, field: str) -> None:
    data = fixture("messages__text")
    mutate(data)
    with pytest.raises(ValidationFailed) as info:
        parse(json.dumps(data).encode())
    assert info.value.field == field


def test_location_without_numeric_coordinates_is_refused() -> None:
    data = fixture("messages__location")
    data["entry"][0]["changes"][0]["value"]["messages"][0]["location"]["latitude"] = "north"
    with pytest.raises(ValidationFailed) as info:
        parse(json.dumps(data).encode())
    assert info.value.field == "entry[0].changes[0].value.messages[0].location.latitude"


def test_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse(b"<xml/>")
    assert info.value.field == "body"


def test_unknown_message_type_is_acknowledged_not_an_error() -> None:
    data = fixture("messages__text")
    data["entry"][0]["changes"][0]["value"]["messages"][0].update(type="hologram", hologram={"id": "1"})
    assert parse(json.dumps(data).encode()) == [IgnoredEvent("message:hologram")]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_malformed_variant_of_a_fixture_crashes_the_parser(name: str) -> None:
    """Each node of the fixture replaced by a wrong type (or removed), one at a time: the parser
    returns events or raises ValidationFailed naming a field, and nothing else."""
    cfg = testkit.config()
    original = json.loads((testkit.FIXTURES / f"{name}.json").read_text())
    for where, variant in structural_mutations(original):
        req = testkit.signed_request(json.dumps(variant).encode(), cfg)
        try:
            ADAPTER.parse(req, cfg)
        except ValidationFailed as exc:
            assert exc.field, where
