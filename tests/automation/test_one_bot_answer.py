"""Two bots listen to customers (the flow engine and the ticket bot of issue 8): one message never gets
two bot answers. Mid-flow the flow owns the message; otherwise the ticket bot takes what it answers."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from crocevia.services import tickets
from crocevia.storage.tables import Conversation, Message, Ticket
from tests.automation.test_bot_e2e import Chat, setup_restaurant
from tests.conftest import Hub
from tests.core.test_pipeline import wait_for


def _bot_answers(hub: Hub, channel_id: int) -> list[str]:
    with hub.rt.db.read() as s:
        return list(s.scalars(select(Message.text).where(Message.channel_id == channel_id, Message.direction == "out",
                                                         Message.author_type == "bot").order_by(Message.id)))


def _settled(hub: Hub, channel_id: int) -> list[str]:
    """The bot answers once no task is left for them (both bots answer from durable tasks)."""
    from crocevia.storage.tables import Task

    def idle() -> bool:
        with hub.rt.db.read() as s:
            return s.scalar(select(Task.id).where(Task.workspace_id == hub_ws(hub, channel_id),
                                                  Task.kind.in_(("bot.inbound", "ticket.inbound", "booking.invite")),
                                                  Task.status.in_(("pending", "running"))).limit(1)) is None
    wait_for(idle, timeout=30, what="the bots' tasks to finish")
    return _bot_answers(hub, channel_id)


def hub_ws(hub: Hub, channel_id: int) -> int:
    from crocevia.storage.tables import Channel

    with hub.rt.db.read() as s:
        ch = s.get(Channel, channel_id)
        assert ch is not None
        return ch.workspace_id


def test_mid_flow_a_digit_is_the_flows_answer_and_otherwise_a_ticket_question_gets_only_the_ticket_bot(
        hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    channel, _ = setup_restaurant(hub, emu, emulator)
    mario = Chat(hub, channel, emu, "+393331234567")
    mario.say("ciao")
    with hub.rt.db.read() as s:
        conv = s.scalar(select(Conversation).where(Conversation.channel_id == channel.id))
        assert conv is not None
    # Mario has a solved ticket whose satisfaction survey waits for a 1-5 score.
    owner = _owner_actor(hub, channel.workspace_id)
    t = tickets.create_ticket(hub.rt, owner, {"conversation_id": conv.id, "subject": "Consegna"},
                              notify_customer=False)
    with hub.rt.db.transaction() as s:
        row = s.get(Ticket, t.id)
        assert row is not None
        row.csat_requested_at = hub.rt.clock.now()

    mario.press("book", "Prenota un tavolo")
    assert "Per quante persone?" in mario.say("domani")[0]["text"]
    # "3" answers the flow's question, not the survey.
    offer = mario.say("3")[0]
    assert "orari liberi" in offer["text"]
    answers = _settled(hub, channel.id)
    assert not any("grazie" in a.lower() and "3" in a for a in answers[-2:]), answers
    with hub.rt.db.read() as s:
        assert s.scalar(select(Ticket.csat_score).where(Ticket.id == t.id)) is None
    mario.press(offer["buttons"][0]["id"], offer["buttons"][0]["title"])

    # Out of the flow, a ticket question gets the ticket bot's answer and no bot menu.
    before = len(_settled(hub, channel.id))
    mario.say("a che punto è il mio ticket?")
    answers = _settled(hub, channel.id)[before:]
    assert len(answers) == 1 and "Cosa desideri" not in answers[0], answers
    # And the score, out of the flow, is the survey's.
    before = len(answers) + before
    mario.say("5")
    answers = _settled(hub, channel.id)[before:]
    assert len(answers) == 1 and "Cosa desideri" not in answers[0], answers
    with hub.rt.db.read() as s:
        assert s.scalar(select(Ticket.csat_score).where(Ticket.id == t.id)) == 5


def _owner_actor(hub: Hub, workspace_id: int) -> Any:
    from crocevia.domain.enums import Role
    from crocevia.services.actor import Actor
    from crocevia.storage.tables import User

    with hub.rt.db.read() as s:
        uid = s.scalar(select(User.id).where(User.workspace_id == workspace_id, User.role == "owner").limit(1))
    assert uid is not None
    return Actor(workspace_id=workspace_id, user_id=uid, role=Role.OWNER)
