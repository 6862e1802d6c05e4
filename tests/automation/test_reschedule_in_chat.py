"""Moving a booking in chat: the customer asks, picks a day and one of its free times, and the booking moves
(the old time is free again, a new invitation is sent); a time taken meanwhile leaves the booking as it was."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crocevia.automation.samples import RESTAURANT_HOURS
from crocevia.runtime import Runtime
from crocevia.services import bookings, flows
from crocevia.services.booking_notices import INVITE_TASK
from crocevia.storage.tables import Booking, BookingResource, Task
from tests.automation.inchat import InChat, webchat
from tests.automation.test_flow_triggers import GREETING
from tests.conftest import Workspace

ROME = ZoneInfo("Europe/Rome")


def _booked(rt: Runtime, ws: Workspace, chat: InChat, *, days: int = 1, at: int = 19) -> tuple[int, datetime]:
    """Tavoli (one table, 19:00 and 20:00) and the customer's booking on it."""
    res = bookings.create_resource(rt, ws.owner, name="Tavoli", capacity=1, slot_minutes=60, hours=RESTAURANT_HOURS,
                                   closed_dates=[], timezone="Europe/Rome")
    conv = chat.conversation()
    day = rt.clock.now().astimezone(ROME).date() + timedelta(days=days)
    starts = datetime.combine(day, time(at, 0), ROME)
    with rt.db.transaction() as s:
        r = s.get(BookingResource, res.id)
        assert r is not None
        booking = bookings.book_in(s, rt, r, starts, party_size=2, contact_id=conv.contact_id,
                                   conversation_id=conv.id)
        return booking.id, starts


def _state(rt: Runtime, booking_id: int) -> tuple[str, datetime]:
    with rt.db.read() as s:
        b = s.get(Booking, booking_id)
        assert b is not None
        return b.status, b.starts_at.astimezone(ROME)


def test_the_customer_moves_the_booking_to_another_day_and_time(rt: Runtime, ws: Workspace) -> None:
    flows.save_flow(rt, ws.owner, source=GREETING)
    chat = InChat(rt, webchat(rt, ws.owner), "giulia")
    chat.say("ciao")
    booking_id, starts = _booked(rt, ws, chat)
    with rt.db.read() as s:
        invites_before = len(list(s.scalars(select(Task.id).where(Task.kind == INVITE_TASK))))

    asked = chat.say("Posso spostare la prenotazione?")
    assert [r["text"] for r in asked] == [
        f"La tua prenotazione è per il {starts:%d/%m} 19:00. Per quale giorno la sposto? (es. domani, sabato, 24/12)"]
    assert chat.say("boh")[0]["text"] == "Per quale giorno? (es. domani, sabato, 24/12)"
    offer = chat.say("dopodomani")[0]
    assert offer["text"] == "Ecco gli orari liberi, scegline uno:"
    assert [b["title"] for b in offer["buttons"]] == ["19:00", "20:00"]
    done = chat.press(offer["buttons"][1]["id"], "20:00")
    later = starts + timedelta(days=1, hours=1)
    assert [r["text"] for r in done] == [f"Fatto: la prenotazione è spostata al {later:%d/%m} 20:00."]
    assert _state(rt, booking_id) == ("confirmed", later)
    with rt.db.read() as s:
        res = s.scalar(select(BookingResource))
        assert res is not None
        # The old time is free again; a new invitation goes out.
        assert [sl.free for sl in bookings.availability_in(s, res, starts.date(), rt.clock.now())] == [1, 1]
        assert len(list(s.scalars(select(Task.id).where(Task.kind == INVITE_TASK)))) == invites_before + 1
    # Afterwards the bot is back to normal.
    assert chat.say("ciao")[0]["text"] == "Ciao! Come posso aiutarti?"


def test_the_day_in_the_request_skips_a_question_and_a_time_taken_meanwhile_keeps_the_booking(
        rt: Runtime, ws: Workspace) -> None:
    flows.save_flow(rt, ws.owner, source=GREETING)
    chat = InChat(rt, webchat(rt, ws.owner), "tom")
    chat.say("hello")
    booking_id, starts = _booked(rt, ws, chat, days=1, at=20)
    offer = chat.say("Can I move my booking to tomorrow?")[0]
    assert offer["text"] == "These times are free, pick one:"
    assert [b["title"] for b in offer["buttons"]] == ["19:00"]  # its own 20:00 is not offered
    # Someone on the phone takes 19:00 first.
    bookings.book(rt, ws.owner, _resource_id(rt), datetime.fromisoformat(offer["buttons"][0]["id"]), party_size=2,
                  name="Telefono")
    refused = chat.press(offer["buttons"][0]["id"], "19:00")
    assert [r["text"] for r in refused] == [
        "Sorry, that time was just taken. Which day? (e.g. tomorrow, saturday, 24/12)"]
    assert _state(rt, booking_id) == ("confirmed", starts)
    assert chat.say("tomorrow")[0]["text"] == "Sorry, nothing is free that day. Another day?"


def test_without_a_booking_there_is_nothing_to_move(rt: Runtime, ws: Workspace) -> None:
    flows.save_flow(rt, ws.owner, source=GREETING)
    chat = InChat(rt, webchat(rt, ws.owner), "anna")
    assert [r["text"] for r in chat.say("vorrei spostare la prenotazione")] == ["Non trovo prenotazioni da spostare."]
    assert chat.say("ciao")[0]["text"] == "Ciao! Come posso aiutarti?"


def _resource_id(rt: Runtime) -> int:
    with rt.db.read() as s:
        rid = s.scalar(select(BookingResource.id))
        assert rid is not None
        return rid
