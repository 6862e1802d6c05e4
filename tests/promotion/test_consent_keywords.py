"""Consent keywords sent as a whole message, on any channel: opt-out and opt-in, with proof."""

from __future__ import annotations

import pytest
from tests.conftest import Workspace
from tests.promotion.test_promotion_services import channel, person

from crocevia.domain.enums import ConsentStatus
from crocevia.runtime import Runtime
from crocevia.services import contacts, promotion_hooks


def reply(rt: Runtime, ws: Workspace, channel_id: int, contact_id: int, text: str) -> None:
    with rt.db.transaction() as s:
        promotion_hooks.on_inbound_in(s, workspace_id=ws.id, channel_id=channel_id, contact_id=contact_id,
                                      conversation_id=0, message_id=42, text=text, content={}, now=rt.clock.now())


def status(rt: Runtime, ws: Workspace, contact_id: int) -> str | None:
    current, _ = contacts.consents(rt, ws.owner, contact_id)
    return current[0].status if current else None


@pytest.mark.parametrize("word", ["START", "Iscrivimi!", "riattiva", "UNSTOP"])
def test_an_opt_in_word_opts_back_in_with_the_message_as_proof(rt: Runtime, ws: Workspace, word: str) -> None:
    ch = channel(rt, ws)
    who = person(rt, ws, ch, 1, consent=None)
    reply(rt, ws, ch.id, who, "STOP")
    assert status(rt, ws, who) == ConsentStatus.OPTED_OUT.value
    reply(rt, ws, ch.id, who, word)
    assert status(rt, ws, who) == ConsentStatus.OPTED_IN.value
    _, history = contacts.consents(rt, ws.owner, who)
    assert any(h.status == "opted_in" and h.source == f"reply:{word}" and h.evidence == "message 42"
               for h in history)


@pytest.mark.parametrize("text", ["YES", "Sì", "start the engine please", "ok"])
def test_casual_replies_are_not_consent(rt: Runtime, ws: Workspace, text: str) -> None:
    ch = channel(rt, ws)
    who = person(rt, ws, ch, 1, consent=ConsentStatus.OPTED_OUT)
    reply(rt, ws, ch.id, who, text)
    assert status(rt, ws, who) == ConsentStatus.OPTED_OUT.value
