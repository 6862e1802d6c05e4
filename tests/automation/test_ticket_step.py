"""The bot's ``open_ticket`` step: a flow collects the problem, opens a ticket from the conversation
with a subject and priority taken from what the customer said, and tells them its number in the
language of the chat (once). A bad step is refused naming the field and the line."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from crocevia.automation.engine import on_inbound
from crocevia.automation.flow import parse_source, validate_flow
from crocevia.automation.hooks import BOT_TASK
from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import channels, flows, tickets
from crocevia.services.ingest import ingest
from crocevia.storage.tables import Channel, Message, Task, Ticket
from tests.conftest import Workspace

FLOW = """
name: assistenza
triggers: {keywords: [guasto, broken, assistenza]}
start: what
steps:
  - id: what
    type: ask
    slot: problem
    prompt: {it: "Descrivi il problema", en: "Describe the problem"}
    next: how_bad
  - id: how_bad
    type: ask
    slot: urgency
    kind: choice
    prompt: {it: "Quanto è urgente?", en: "How urgent is it?"}
    choices:
      - {id: high, title: {it: Molto, en: Very}}
      - {id: low, title: {it: Poco, en: Not much}}
    next: open
  - id: open
    type: open_ticket
    subject: "Guasto: {problem}"
    priority: "{urgency}"
    ticket_type: incident
    next: bye
  - id: bye
    type: end
    text: {it: "Per sapere a che punto è, scrivi «ticket {ticket_number}».",
           en: "To check on it, write “ticket {ticket_number}”."}
"""


def sandbox(rt: Runtime, ws: Workspace) -> Channel:
    return channels.create_channel(rt, ws.owner, kind="sandbox", name="Sandbox",
                                   credentials={"account_id": "acct-t", "api_key": "key-t-12345",
                                                "webhook_secret": "secret-t-123"},
                                   settings={"api_base": "http://127.0.0.1:9"})  # replies stay in the outbox


class Customer:
    """Writes on the channel; ``say`` runs the bot's turn as the task runner would and returns its replies."""

    def __init__(self, rt: Runtime, channel: Channel, sender: str) -> None:
        self.rt, self.channel, self.sender = rt, channel, sender
        self.conversation_id = 0

    def say(self, text: str) -> list[str]:
        stored = ingest(self.rt, self.channel, [InboundMessage(
            external_message_id=f"in-{uuid.uuid4().hex}", sender_id=self.sender, sender_phone=self.sender,
            sender_name="Mario Rossi", kind=MessageKind.TEXT, text=text)]).stored
        with self.rt.db.read() as s:
            msg = s.get(Message, stored[0])
            assert msg is not None
            self.conversation_id = msg.conversation_id
            before = s.scalar(select(Message.id).where(Message.conversation_id == msg.conversation_id)
                              .order_by(Message.id.desc()).limit(1))
            task = next(t for t in s.scalars(select(Task).where(Task.kind == BOT_TASK))
                        if t.payload["message_id"] == msg.id)
        on_inbound(self.rt, task)
        with self.rt.db.read() as s:
            return [m.text for m in s.scalars(select(Message).where(
                Message.conversation_id == self.conversation_id, Message.id > (before or 0),
                Message.direction == "out").order_by(Message.id))]


def test_the_bot_opens_a_ticket_from_what_the_customer_said_and_tells_them_the_number(
        rt: Runtime, ws: Workspace) -> None:
    flows.save_flow(rt, ws.owner, source=FLOW)
    channel = sandbox(rt, ws)
    tickets.create_ticket(rt, ws.owner, {"subject": "Un altro problema"})  # numbers go on from #1
    mario = Customer(rt, channel, "+393331234567")

    assert mario.say("Ho un guasto") == ["Descrivi il problema"]
    assert mario.say("la lavatrice perde acqua")[0].startswith("Quanto è urgente?")
    replies = mario.say("Molto")

    assert replies == ["Abbiamo aperto il ticket n. 2: «Guasto: la lavatrice perde acqua». "
                       "Ti terremo aggiornato qui.",
                       "Per sapere a che punto è, scrivi «ticket 2»."]
    with rt.db.read() as s:
        t = s.scalar(select(Ticket).where(Ticket.workspace_id == ws.id, Ticket.number == 2))
        assert t is not None
        assert (t.subject, t.priority, t.type, t.conversation_id) == (
            "Guasto: la lavatrice perde acqua", "high", "incident", mario.conversation_id)
        assert "problem: la lavatrice perde acqua" in t.description
    told = tickets.history(rt, ws.owner, t.id, kind="customer_told")
    assert [e.data["via"] for e in told] == ["bot"]  # told once, by the bot


def test_an_english_customer_is_told_in_english_and_an_unknown_priority_falls_back(
        rt: Runtime, ws: Workspace) -> None:
    flows.save_flow(rt, ws.owner, source=FLOW.replace('priority: "{urgency}"', 'priority: "{problem}"'))
    channel = sandbox(rt, ws)
    jane = Customer(rt, channel, "+447700900123")

    assert jane.say("my boiler is broken, I need help") == ["Describe the problem"]
    jane.say("The heating does not work and the house is cold")
    replies = jane.say("Very")

    assert replies[0] == ("We opened ticket no. 1: “Guasto: The heating does not work and the house is cold”. "
                          "We will keep you posted here.")
    with rt.db.read() as s:
        t = s.scalar(select(Ticket).where(Ticket.workspace_id == ws.id))
        assert t is not None and t.priority == "normal"  # a description is no priority: normal


@pytest.mark.parametrize(("step", "field", "message"), [
    ("{id: open, type: open_ticket, priority: asap}", "definition.steps.0.priority",
     "priority is low, normal, high, urgent or a {slot}"),
    ("{id: open, type: open_ticket, ticket_type: Big Problem}", "definition.steps.0.ticket_type",
     "ticket_type is a short lowercase word"),
    ("{id: open, type: open_ticket, next: nowhere}", "definition.steps.0.next", "next names no step"),
])
def test_a_bad_open_ticket_step_names_the_field_and_line(step: str, field: str, message: str) -> None:
    source = f"name: x\nstart: open\nsteps:\n  - {step}\n"
    with pytest.raises(ValidationFailed) as err:
        validate_flow(parse_source(source), source=source)
    assert err.value.field == field
    assert message in err.value.detail and "(line 4)" in err.value.detail
