"""Every Messenger fixture parses into exactly the events a person would expect to see."""

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
    StatusUpTo,
)
from crocevia.channels.messenger import testkit
from crocevia.channels.messenger.adapter import MessengerAdapter
from crocevia.channels.meta.testkit_common import structural_mutations
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import ValidationFailed

ADAPTER = MessengerAdapter()
PSID = "6783012345678901"
FIRST = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
OURS = "m_GM1Nf8Aw3zacTKndlEEQp4sPKS_WVvf1piIQ04VtQGpYjpNlowgswSbQ4sg2GI4lvrcrwRV_1imdOh03O9xHT6V"


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def msg(mid: str, ms: int, kind: MessageKind, text: str = "", **kw: Any) -> InboundMessage:
    return InboundMessage(external_message_id=mid, sender_id=PSID, kind=kind, text=text, timestamp=at(ms), **kw)


STICKER = "https://scontent.xx.fbcdn.net/v/t39.1997-6/39178562_1505197616293642_n.png"
EXPECTED: dict[str, list[InboundEvent]] = {
    "messages__text": [msg(FIRST, 1764000000123, MessageKind.TEXT, "Ciao! Siete aperti domenica?")],
    "messages__quick_reply": [
        msg(
            "m_BH6Ia3Vr8uvxOFiYgZZLk9nKFN_RQqa6kdDL59QoLBkTekgjqryrNwL9nb7BD9gqmxmrMQ_6dhYJcv8J4sCO1Q",
            1764000060123,
            MessageKind.BUTTON_REPLY,
            "Domenica",
            content={"id": "DAY_SUNDAY", "title": "Domenica"},
        )
    ],
    "messages__reply": [
        msg(
            "m_CI7Jb4Ws9vwyPGjZhAAMl0oLGO_SRrb7leEM60RpMClUfljhkrszsOxM0oc8CE0hrnynsNR_7eiZKdw9K5tDP2R",
            1764000120123,
            MessageKind.TEXT,
            "Perfetto, grazie",
            reply_to_external_id=FIRST,
        )
    ],
    "messages__image": [
        msg(
            "m_DJ8Kc5Xt0wxzQHkaiBBNm1pMHP_TSsc8mfFN71SqNDmVgmkiltdptPyN1pd9DF1isozotOS_8fjaLex0L6uEQ3S",
            1764000180123,
            MessageKind.MEDIA,
            content={"attachment_types": ["image"]},
            media=(
                MediaRef(
                    url="https://scontent.xx.fbcdn.net/v/t1.15752-9/470123456_1234567890_n.jpg?_nc_cat=1&oh=00_AYB&oe=67A1B2C3"
                ),
            ),
        )
    ],
    # During Meta's sticker transition one sticker arrives as two attachments; the hub keeps one.
    "messages__sticker": [
        msg(
            "m_EK9Ld6Yu1xyaRIlbjCCOn2qNIQ_UTtd9ngGO82TrOEnWhnljmuequQzO2qe0EG2jtpapuPT_9gkbMfy1M7vFR4T",
            1764000240123,
            MessageKind.MEDIA,
            content={"attachment_types": ["sticker"]},
            media=(MediaRef(url=STICKER),),
        )
    ],
    "messages__link_share": [
        msg(
            "m_FL0Me7Zv2yzbSJmckDDPo3rOJR_VUue0ohHP93UsPFoXioMknvfrvRaP3rf1FH3kuqbqvQU_0hlcNgz2N8wGS5U",
            1764000300123,
            MessageKind.TEXT,
            "https://www.trattoria-esempio.it/menu",
            content={
                "attachment_types": ["fallback"],
                "shared": [
                    {
                        "type": "fallback",
                        "url": "https://www.trattoria-esempio.it/menu",
                        "title": "Menù — Trattoria Esempio",
                    }
                ],
            },
        )
    ],
    "messages__echo": [IgnoredEvent("message_echo")],
    "messaging_postbacks__button": [
        msg(
            "m_HN2Og9Bx4abdULoemFFRq5tQLT_XWwg2qjJR15WuRHqZkqOmpxhtxTcR5th3HJ5mwsdsxSW_2jneQi14P0yIU7W",
            1764000420123,
            MessageKind.BUTTON_REPLY,
            "Prenota un tavolo",
            content={"id": "BOOK_TABLE", "title": "Prenota un tavolo", "postback": True},
        )
    ],
    "message_deliveries__delivered": [StatusUpdate(OURS, MessageStatus.DELIVERED, at(1764000479900))],
    # Messenger read receipts carry only a watermark: everything sent to this person up to it is read.
    "message_reads__read": [StatusUpTo(PSID, MessageStatus.READ, at(1764000539900))],
    "message_reactions__react": [Reaction(OURS, PSID, "\u2764\ufe0f", at(1764000600123))],
    "message_reactions__unreact": [Reaction(OURS, PSID, "", at(1764000660123))],
    "message_edits__edit": [MessageEdit(FIRST, PSID, "Ciao! Siete aperti domenica a pranzo?", at(1764000720123))],
    "unknown__optin": [IgnoredEvent("optin")],
}


def parse(body: bytes) -> list[InboundEvent]:
    cfg = testkit.config()
    req = testkit.signed_request(body, cfg)
    ADAPTER.verify(req, cfg)
    return ADAPTER.parse(req, cfg)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((testkit.FIXTURES / f"{name}.json").read_text())
    return data


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in testkit.FIXTURES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_events(name: str) -> None:
    assert parse((testkit.FIXTURES / f"{name}.json").read_bytes()) == EXPECTED[name]


def test_batched_entries_and_items_all_arrive_in_order() -> None:
    data = fixture("messages__text")
    data["entry"].append(fixture("message_deliveries__delivered")["entry"][0])
    data["entry"][0]["messaging"].append(fixture("message_reactions__react")["entry"][0]["messaging"][0])
    events = parse(json.dumps(data).encode())
    assert [type(e).__name__ for e in events] == ["InboundMessage", "Reaction", "StatusUpdate"]


def test_delivery_without_message_ids_is_a_watermark() -> None:
    data = fixture("message_deliveries__delivered")
    del data["entry"][0]["messaging"][0]["delivery"]["mids"]
    assert parse(json.dumps(data).encode()) == [StatusUpTo(PSID, MessageStatus.DELIVERED, at(1764000479900))]


def test_a_postback_without_mid_gets_a_stable_id() -> None:
    data = fixture("messaging_postbacks__button")
    del data["entry"][0]["messaging"][0]["postback"]["mid"]
    first, again = parse(json.dumps(data).encode()), parse(json.dumps(data).encode())
    assert first == again
    assert isinstance(first[0], InboundMessage)
    assert first[0].external_message_id == f"postback:{PSID}:1764000420123:BOOK_TABLE"


def test_events_of_another_page_are_ignored() -> None:
    data = fixture("messages__text")
    data["entry"][0]["id"] = "999999999999999"
    assert parse(json.dumps(data).encode()) == [IgnoredEvent("other_account:999999999999999")]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(object="instagram"), "object"),
        (lambda d: d.pop("entry"), "entry"),
        (lambda d: d["entry"][0].pop("id"), "entry[0].id"),
        (lambda d: d["entry"][0]["messaging"][0].pop("sender"), "entry[0].messaging[0].sender"),
        (lambda d: d["entry"][0]["messaging"][0]["message"].pop("mid"), "entry[0].messaging[0].message.mid"),
        (lambda d: d["entry"][0]["messaging"][0].update(timestamp="noon"), "entry[0].messaging[0].timestamp"),
        (
            lambda d: d["entry"][0]["messaging"][0]["message"].update(attachments={"type": "image"}),
            "entry[0].messaging[0].message.attachments",
        ),
    ],
)
def test_malformed_payload_names_the_bad_field(mutate: Any, field: str) -> None:
    data = fixture("messages__text")
    mutate(data)
    with pytest.raises(ValidationFailed) as info:
        parse(json.dumps(data).encode())
    assert info.value.field == field


def test_unknown_messaging_item_is_acknowledged() -> None:
    data = fixture("messages__text")
    item = data["entry"][0]["messaging"][0]
    del item["message"]
    item["brand_new_event"] = {"x": 1}
    assert parse(json.dumps(data).encode()) == [IgnoredEvent("messaging:unknown")]


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
