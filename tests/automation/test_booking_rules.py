"""Seats counted per person, moving a booking, and what the customer receives about it in chat: the
.ics invitation and the reminder (durable tasks through the normal send path)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from crocevia.automation.samples import RESTAURANT_HOURS
from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import bookings
from crocevia.services.booking_notices import REMIND_TASK, send_reminder
from crocevia.storage.tables import Message, Task
from tests.automation.test_bot_e2e import Chat, setup_restaurant
from tests.conftest import Hub, new_workspace
from tests.core.test_pipeline import wait_for


def _free(rt: Runtime, actor: Any, rid: int, day: Any) -> list[tuple[str, int]]:
    return [(sl.label, sl.free) for sl in bookings.availability(rt, actor, rid, day)]


def test_a_room_counted_per_person_takes_the_whole_party_and_gives_it_back(rt: Runtime) -> None:
    w = new_workspace(rt)
    sala = bookings.create_resource(rt, w.owner, name="Sala", capacity=10, slot_minutes=60, hours=RESTAURANT_HOURS,
                                    closed_dates=[], timezone="Europe/Rome", capacity_unit="person")
    day = (rt.clock.now() + timedelta(days=2)).date()
    seven = bookings.availability(rt, w.owner, sala.id, day)[0].starts_at
    six = bookings.book(rt, w.owner, sala.id, seven, party_size=6, name="Rossi")
    assert _free(rt, w.owner, sala.id, day) == [("19:00", 4), ("20:00", 10)]
    with pytest.raises(bookings.SlotFull):
        bookings.book(rt, w.owner, sala.id, seven, party_size=5, name="Verdi")
    with pytest.raises(ValidationFailed) as too_big:
        bookings.book(rt, w.owner, sala.id, seven, party_size=11, name="Gita")
    assert too_big.value.field == "party_size"
    bookings.book(rt, w.owner, sala.id, seven, party_size=4, name="Bianchi")
    assert _free(rt, w.owner, sala.id, day)[0] == ("19:00", 0)
    bookings.cancel(rt, w.owner, six.id)
    assert _free(rt, w.owner, sala.id, day)[0] == ("19:00", 6)


def test_moving_a_booking_frees_the_old_slot_and_a_full_slot_leaves_it_where_it_was(rt: Runtime) -> None:
    w = new_workspace(rt)
    tavoli = bookings.create_resource(rt, w.owner, name="Tavoli", capacity=1, slot_minutes=60, hours=RESTAURANT_HOURS,
                                      closed_dates=[], timezone="Europe/Rome")
    day = (rt.clock.now() + timedelta(days=2)).date()
    seven, eight = (sl.starts_at for sl in bookings.availability(rt, w.owner, tavoli.id, day))
    mine = bookings.book(rt, w.owner, tavoli.id, seven, party_size=4, name="Rossi")
    moved = bookings.reschedule(rt, w.owner, mine.id, eight)
    assert moved.starts_at == eight
    assert _free(rt, w.owner, tavoli.id, day) == [("19:00", 1), ("20:00", 0)]
    other = bookings.book(rt, w.owner, tavoli.id, seven, party_size=2, name="Verdi")
    with pytest.raises(bookings.SlotFull):
        bookings.reschedule(rt, w.owner, other.id, eight)
    assert [(b.name, b.starts_at) for b in bookings.list_bookings(rt, w.owner)] == [("Verdi", seven), ("Rossi", eight)]
    assert _free(rt, w.owner, tavoli.id, day) == [("19:00", 0), ("20:00", 0)]


def _media_replies(chat: Chat) -> list[dict[str, Any]]:
    return [r for r in chat._replies() if r.get("media")]


def test_a_booking_made_in_chat_sends_the_ics_invitation_and_later_a_reminder(
        hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    channel, api = setup_restaurant(hub, emu, emulator)
    mario = Chat(hub, channel, emu, "+393331234567")
    mario.say("prenota")
    mario.press("book", "Prenota un tavolo")
    mario.say("domani")
    offer = mario.say("4")[0]
    eight = offer["buttons"][1]["id"]
    assert "Prenotato!" in mario.press(eight, "20:00")[0]["text"]

    invite = wait_for(lambda: _media_replies(mario), timeout=30, what="the .ics invitation")[0]
    assert "invito per il calendario" in invite["text"] and invite["media"]["mime_type"] == "text/calendar"
    ics = httpx.get(invite["media"]["url"], timeout=10)
    assert ics.status_code == 200
    start = datetime.fromisoformat(eight)
    assert "BEGIN:VEVENT" in ics.text and f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}" in ics.text

    # The reminder waits for two hours before the slot; run it now, as the task runner would then.
    with hub.rt.db.read() as s:
        remind = s.scalar(select(Task).where(Task.kind == REMIND_TASK, Task.workspace_id == channel.workspace_id))
    assert remind is not None and remind.run_after == start - timedelta(minutes=120)
    before = len(mario._replies())
    send_reminder(hub.rt, remind)
    send_reminder(hub.rt, remind)  # a re-run sends nothing more
    wait_for(lambda: len(mario._replies()) > before, timeout=20, what="the reminder")
    reminders = [r for r in mario._replies() if r["text"].startswith("Promemoria")]
    assert len(reminders) == 1 and "4 persone" in reminders[0]["text"]

    # Moved to 19:00 through the API: a new invitation, and the old reminder no longer applies.
    booking = api.get("/api/v1/bookings").json()[0]
    seven = offer["buttons"][0]["id"]
    moved = api.post(f"/api/v1/bookings/{booking['id']}/reschedule", json={"starts_at": seven})
    assert moved.status_code == 200 and datetime.fromisoformat(moved.json()["starts_at"]) == datetime.fromisoformat(
        seven)
    wait_for(lambda: len(_media_replies(mario)) == 2, timeout=30, what="the new invitation")
    send_reminder(hub.rt, remind)  # written for 20:00: the booking is at 19:00 now
    with hub.rt.db.read() as s:
        texts = list(s.scalars(select(Message.text).where(Message.channel_id == channel.id,
                                                          Message.direction == "out")))
    assert len([x for x in texts if x.startswith("Promemoria")]) == 1
    past = api.post(f"/api/v1/bookings/{booking['id']}/reschedule", json={"starts_at": "2020-01-01T19:00:00+00:00"})
    assert past.status_code == 400 and "starts_at" in past.text, past.text
