"""Moving a booking in chat: "posso spostare la prenotazione?" → which day → the free times → moved.

Works in any workspace with bookings, whatever its flows: like "annulla", it is understood outside and
inside a flow. The conversation's bot session remembers where it is (``step`` "@move:day" or
"@move:time", the booking in the slots), so it survives restarts like a flow. The move goes through
``bookings.reschedule_in``: the new slot is taken first (a full one leaves the old booking as it was)
and a new ``.ics`` invitation follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from crocevia.automation import understand as nlu
from crocevia.errors import CroceviaError
from crocevia.services import bookings
from crocevia.storage.tables import Booking, BookingResource

if TYPE_CHECKING:
    from crocevia.automation.engine import Turn

PREFIX = "@move:"
DAY, TIME = PREFIX + "day", PREFIX + "time"

TEXTS: dict[str, dict[str, str]] = {
    "nothing": {"it": "Non trovo prenotazioni da spostare.", "en": "I can't find a booking to move."},
    "which_day": {"it": "La tua prenotazione è per il {when}. Per quale giorno la sposto? (es. domani, sabato, 24/12)",
                  "en": "Your booking is for {when}. Which day should I move it to? (e.g. tomorrow, saturday, 24/12)"},
    "day_again": {"it": "Per quale giorno? (es. domani, sabato, 24/12)",
                  "en": "Which day? (e.g. tomorrow, saturday, 24/12)"},
    "times": {"it": "Ecco gli orari liberi, scegline uno:", "en": "These times are free, pick one:"},
    "none_free": {"it": "Mi dispiace, non ci sono posti liberi quel giorno. Un altro giorno?",
                  "en": "Sorry, nothing is free that day. Another day?"},
    "taken": {"it": "Mi dispiace, quell'orario è appena stato preso.", "en": "Sorry, that time was just taken."},
    "retry": {"it": "Scusa, non ho capito.", "en": "Sorry, I didn't get that."},
    "moved": {"it": "Fatto: la prenotazione è spostata al {when}.", "en": "Done: your booking is moved to {when}."},
}


def wants_to_move(text: str) -> bool:
    return nlu.matches_keyword(text, nlu.RESCHEDULE_WORDS)


def is_moving(turn: Turn) -> bool:
    return turn.sess.state == "running" and turn.sess.step.startswith(PREFIX)


def start(turn: Turn, text: str) -> None:
    """The customer asked to move their booking: the next one they have, if any."""
    booking = bookings.upcoming_for_contact_in(turn.s, turn.conv.workspace_id, turn.conv.contact_id,
                                               turn.rt.clock.now())
    turn.slots = {}
    if booking is None:
        turn.say(turn.t(TEXTS["nothing"]))
        _done(turn)
        return
    res = turn.s.get(BookingResource, booking.resource_id)
    turn.slots["_move"] = booking.id
    turn.slots["when"] = turn.when(booking.starts_at, res)
    # "spostala a sabato": the day is in the request already.
    day = nlu.parse_date(text, turn.today())
    if day is not None and _offer(turn, booking, res, day):
        return
    turn.say(turn.t(TEXTS["which_day"]))
    _wait(turn, DAY)


def answer(turn: Turn, text: str, button_id: str) -> None:
    """The customer's answer to "which day?" or "which time?"."""
    booking = turn.s.get(Booking, int(turn.slots.get("_move") or 0))
    if booking is None or booking.status != "confirmed":
        turn.say(turn.t(TEXTS["nothing"]))
        _done(turn)
        return
    res = turn.s.get(BookingResource, booking.resource_id)
    if turn.sess.step == TIME:
        offered = [(str(a), str(b)) for a, b in turn.slots.get("_offered", [])]
        picked = nlu.pick_option(text, button_id, offered)
        if picked is not None:
            _move(turn, booking, res, datetime.fromisoformat(picked))
            return
    day = nlu.parse_date(text, turn.today())
    if day is not None and _offer(turn, booking, res, day):
        return
    if turn.sess.step == TIME and day is None:
        # Neither a time offered nor a day: the same times again.
        turn.say(turn.t(TEXTS["retry"]) + " " + turn.t(TEXTS["times"]),
                 [(a, b) for a, b in turn.slots.get("_offered", [])])
        return
    turn.say(turn.t(TEXTS["none_free"] if day is not None else TEXTS["day_again"]))
    _wait(turn, DAY)


def _offer(turn: Turn, booking: Booking, res: Any, day: Any) -> bool:
    """Offer the day's free times (other than the booking's own); False when none is free."""
    if res is None:
        return False
    need = bookings.units_for(res, booking.party_size)
    free = [sl for sl in bookings.availability_in(turn.s, res, day, turn.rt.clock.now())
            if sl.free >= need and sl.starts_at != booking.starts_at]
    if not free:
        return False
    turn.slots["_offered"] = [[sl.starts_at.isoformat(), sl.label] for sl in free]
    turn.say(turn.t(TEXTS["times"]), [(sl.starts_at.isoformat(), sl.label) for sl in free])
    _wait(turn, TIME)
    return True


def _move(turn: Turn, booking: Booking, res: Any, at: datetime) -> None:
    try:
        # A savepoint: a slot taken meanwhile must not undo the rest of the turn (the apology is sent).
        with turn.s.begin_nested():
            bookings.reschedule_in(turn.s, turn.rt, booking, at)
    except CroceviaError as exc:
        if exc.field != "starts_at":
            raise
        turn.say(turn.t(TEXTS["taken"]) + " " + turn.t(TEXTS["day_again"]))
        _wait(turn, DAY)
        return
    turn.slots = {"booking_id": booking.id, "when": turn.when(booking.starts_at, res)}
    turn.say(turn.t(TEXTS["moved"]))
    _done(turn)


def _wait(turn: Turn, step: str) -> None:
    turn.sess.state, turn.sess.step, turn.sess.flow_id = "running", step, None


def _done(turn: Turn) -> None:
    turn.sess.state, turn.sess.step = "idle", ""
    turn.slots.pop("_move", None)
    turn.slots.pop("_offered", None)
