"""Every Instagram fixture parses into exactly the events a person would expect to see."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MediaRef,
    Reaction,
    StatusUpdate,
    WebhookRequest,
)
from crocevia.channels.instagram import testkit
from crocevia.channels.instagram.adapter import InstagramAdapter
from crocevia.channels.meta.testkit_common import challenge_request, structural_mutations
from crocevia.domain.enums import MessageKind, MessageStatus
from crocevia.errors import SignatureInvalid, ValidationFailed

ADAPTER = InstagramAdapter()
CFG = testkit.config()
IGSID = "2055366968346312"
MID = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMTIzNDU2Nzg5OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODEzODU2MjQ1Mjc"
OURS = MID + "0NTAwMw=="
CDN = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def msg(suffix: str, ms: int, kind: MessageKind, text: str = "", **kw: Any) -> InboundMessage:
    return InboundMessage(
        external_message_id=MID + suffix, sender_id=IGSID, kind=kind, text=text, timestamp=at(ms), **kw
    )


EXPECTED: dict[str, list[InboundEvent]] = {
    "messages__text": [msg("0NDk5OA==", 1764000000570, MessageKind.TEXT, "Olá! Vocês entregam em Lisboa?")],
    "messages__image": [
        msg(
            "0NDk5OQ==",
            1764000060570,
            MessageKind.MEDIA,
            content={"attachment_types": ["image"]},
            media=(MediaRef(url=CDN + "18043212345678901&signature=AbCdEf"),),
        )
    ],
    "messages__story_reply": [
        msg(
            "0NTAwMA==",
            1764000120570,
            MessageKind.TEXT,
            "Que lindo! Ainda tem esse modelo?",
            content={"story": {"id": "18012345678901234", "url": CDN + "18012345678901234&signature=GhIjKl"}},
        )
    ],
    "messages__share": [
        msg(
            "0NTAwMQ==",
            1764000180570,
            MessageKind.MEDIA,
            content={
                "attachment_types": ["share"],
                "shared": [{"type": "share", "url": CDN + "17999999999999999&signature=MnOpQr"}],
            },
            media=(MediaRef(url=CDN + "17999999999999999&signature=MnOpQr"),),
        )
    ],
    "messages__quick_reply": [
        msg(
            "0NTAwMg==",
            1764000240570,
            MessageKind.BUTTON_REPLY,
            "Tamanho M",
            content={"id": "SIZE_M", "title": "Tamanho M"},
        )
    ],
    "messages__echo": [IgnoredEvent("message_echo")],
    "messages__deleted": [IgnoredEvent("message_deleted")],
    "messages__unsupported": [msg("0NTAwNA==", 1764000420570, MessageKind.UNSUPPORTED)],
    "messaging_postbacks__icebreaker": [
        msg(
            "0NTAwNQ==",
            1764000480570,
            MessageKind.BUTTON_REPLY,
            "Quais são os prazos de entrega?",
            content={"id": "FAQ_DELIVERY", "title": "Quais são os prazos de entrega?", "postback": True},
        )
    ],
    "messaging_seen__read": [StatusUpdate(OURS, MessageStatus.READ, at(1764000540570))],
    "message_reactions__react": [Reaction(OURS, IGSID, "\u2764\ufe0f", at(1764000600570))],
    "message_reactions__unreact": [Reaction(OURS, IGSID, "", at(1764000660570))],
    "comments__comment": [IgnoredEvent("changes:comments")],
    "standby__message": [IgnoredEvent("standby")],
}


def parse(body: bytes) -> list[InboundEvent]:
    req = testkit.signed_request(body, CFG)
    ADAPTER.verify(req, CFG)
    return ADAPTER.parse(req, CFG)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((testkit.FIXTURES / f"{name}.json").read_text())
    return data


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in testkit.FIXTURES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_events(name: str) -> None:
    assert parse((testkit.FIXTURES / f"{name}.json").read_bytes()) == EXPECTED[name]


def test_a_reaction_without_emoji_uses_the_named_one() -> None:
    data = fixture("message_reactions__react")
    del data["entry"][0]["messaging"][0]["reaction"]["emoji"]
    [reaction] = parse(json.dumps(data).encode())
    assert isinstance(reaction, Reaction)
    assert reaction.emoji == "\u2764\ufe0f"


def test_a_messenger_payload_is_not_an_instagram_one() -> None:
    data = fixture("messages__text")
    data["object"] = "page"
    with pytest.raises(ValidationFailed) as info:
        parse(json.dumps(data).encode())
    assert info.value.field == "object"


def test_handshake_and_signature() -> None:
    ok = ADAPTER.handshake(challenge_request(CFG, "ig-verify-token-123", "987"), CFG)
    bad = ADAPTER.handshake(challenge_request(CFG, "fb-verify-token-123", "987"), CFG)
    assert ok is not None and (ok.status, ok.body) == (200, b"987")
    assert bad is not None and bad.status == 403
    body = (testkit.FIXTURES / "messages__text.json").read_bytes()
    req = testkit.signed_request(body, CFG)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(dataclasses.replace(req, body=body.replace(b"Lisboa", b"Lisbon")), CFG)
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(WebhookRequest("POST", CFG.webhook_url, {}, {}, body), CFG)


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
