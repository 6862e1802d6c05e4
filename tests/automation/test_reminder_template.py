"""A booking reminder due after the WhatsApp 24-hour window closed goes out as the approved template."""

from __future__ import annotations

import importlib
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crocevia.automation.samples import RESTAURANT_HOURS
from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.runtime import Runtime
from crocevia.services import bookings, channels
from crocevia.services.booking_notices import REMIND_TASK, send_reminder
from crocevia.services.ingest import ingest
from crocevia.storage.tables import Conversation, Message, Task
from tests.conftest import Workspace


def test_a_reminder_after_the_window_closed_is_sent_as_the_booking_reminder_template(rt: Runtime,
                                                                                    ws: Workspace) -> None:
    kit = importlib.import_module("crocevia.channels.whatsapp.testkit")
    channel = channels.create_channel(rt, ws.owner, kind="whatsapp", name="WhatsApp",
                                      credentials=dict(kit.config().credentials),
                                      settings={"api_base": "http://127.0.0.1:9"})
    stored = ingest(rt, channel, [InboundMessage(external_message_id=f"wamid.{uuid.uuid4().hex}",
                                                 sender_id="393331234567", sender_phone="+393331234567",
                                                 kind=MessageKind.TEXT, text="vorrei prenotare")]).stored
    res = bookings.create_resource(rt, ws.owner, name="Tavoli", capacity=5, slot_minutes=60, hours=RESTAURANT_HOURS,
                                   closed_dates=[], timezone="Europe/Rome", reminder_minutes=120)
    slot = bookings.availability(rt, ws.owner, res.id, (rt.clock.now() + timedelta(days=3)).date())[1]
    with rt.db.transaction() as s:
        conv_id = s.scalar(select(Message.conversation_id).where(Message.id == stored[0]))
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        resource = s.get(bookings.BookingResource, res.id)
        assert resource is not None
        bookings.book_in(s, rt, resource, slot.starts_at, party_size=2, contact_id=conv.contact_id,
                         conversation_id=conv.id)
        # The customer last wrote two days ago: WhatsApp accepts only an approved template now.
        conv.last_inbound_at = rt.clock.now() - timedelta(days=2)
    with rt.db.read() as s:
        remind = s.scalar(select(Task).where(Task.kind == REMIND_TASK, Task.workspace_id == ws.id))
    assert remind is not None
    send_reminder(rt, remind)
    send_reminder(rt, remind)  # a re-run sends nothing more

    with rt.db.read() as s:
        out = list(s.scalars(select(Message).where(Message.conversation_id == conv_id, Message.direction == "out")))
    assert len(out) == 1
    assert out[0].kind == MessageKind.TEMPLATE.value
    template = (out[0].content or {})["template"]
    when = slot.starts_at.astimezone(ZoneInfo("Europe/Rome"))
    assert template == {"name": "booking_reminder", "language": "it",
                        "parameters": ["Tavoli, 2 persone", when.strftime("%d/%m/%Y %H:%M")]}
