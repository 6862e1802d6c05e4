"""Bookable resources (tables, rooms, seats), availability, booking and cancelling.

No overbooking under concurrency: each slot has a counter row, and a booking is one conditional
``UPDATE booking_slots SET booked = booked + n WHERE booked + n <= capacity`` (n = 1 for a table or
room, the party size for seats). On PostgreSQL
the row lock makes concurrent bookers queue and re-check the condition; on SQLite writers are
serialised by ``BEGIN IMMEDIATE``. Either way the last seat goes to exactly one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crocevia.errors import Conflict, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.booking_notices import schedule_in as schedule_notices_in
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import Booking, BookingResource, BookingSlot

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # UTC
    label: str  # local "HH:MM"
    free: int


def check_hours(hours: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for day, ranges in hours.items():
        if day not in DAYS:
            raise ValidationFailed(f"unknown day {day!r}: use {', '.join(DAYS)}", field=f"hours.{day}")
        if not isinstance(ranges, list):
            raise ValidationFailed("a list of \"HH:MM-HH:MM\" ranges", field=f"hours.{day}")
        for i, r in enumerate(ranges):
            if not isinstance(r, str) or not _RANGE.match(r) or r[:5] >= r[6:]:
                raise ValidationFailed(f"{r!r} is not a range like \"19:00-23:00\"", field=f"hours.{day}.{i}")
        out[day] = list(ranges)
    return out


UNITS = ("booking", "person")


def create_resource(rt: Runtime, actor: Actor, *, name: str, capacity: int, slot_minutes: int,
                    hours: dict[str, Any], closed_dates: list[date], timezone: str,
                    capacity_unit: str = "booking", reminder_minutes: int = 120) -> BookingResource:
    actor.require_admin()
    if capacity_unit not in UNITS:
        raise ValidationFailed(f"one of {', '.join(UNITS)}", field="capacity_unit")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {timezone!r}", field="timezone") from exc
    checked = check_hours(hours)
    with rt.db.transaction() as s:
        if s.scalar(select(BookingResource.id).where(BookingResource.workspace_id == actor.workspace_id,
                                                     BookingResource.name == name)):
            raise Conflict(f"a resource named {name!r} exists", field="name")
        res = BookingResource(workspace_id=actor.workspace_id, name=name, capacity=capacity,
                              slot_minutes=slot_minutes, hours=checked,
                              closed_dates=[d.isoformat() for d in closed_dates], timezone=timezone,
                              capacity_unit=capacity_unit, reminder_minutes=reminder_minutes)
        s.add(res)
        s.flush()
        return res


def get_resource_in(s: Session, actor: Actor, resource_id: int) -> BookingResource:
    return get_in_workspace(s, BookingResource, resource_id, actor, "resource not found")


def resource_named_in(s: Session, workspace_id: int, name: str) -> BookingResource | None:
    return s.scalar(select(BookingResource).where(BookingResource.workspace_id == workspace_id,
                                                  BookingResource.name == name))


def list_resources(rt: Runtime, actor: Actor) -> list[BookingResource]:
    with rt.db.read() as s:
        return list(s.scalars(select(BookingResource).where(BookingResource.workspace_id == actor.workspace_id)
                              .order_by(BookingResource.id)))


def slot_starts(res: BookingResource, day: date) -> list[datetime]:
    """The slot start times of a day (UTC), from the opening hours in the resource's time zone."""
    if day.isoformat() in (res.closed_dates or []):
        return []
    tz = ZoneInfo(res.timezone)
    starts = []
    for r in (res.hours or {}).get(DAYS[day.weekday()], []):
        open_h, open_m, close_h, close_m = (int(x) for x in re.findall(r"\d\d", r))
        at = datetime(day.year, day.month, day.day, open_h, open_m, tzinfo=tz)
        end = datetime(day.year, day.month, day.day, 0, 0, tzinfo=tz) + timedelta(hours=close_h, minutes=close_m)
        while at + timedelta(minutes=res.slot_minutes) <= end:
            starts.append(at.astimezone(UTC))
            at += timedelta(minutes=res.slot_minutes)
    return starts


def availability_in(s: Session, res: BookingResource, day: date, now: datetime) -> list[Slot]:
    starts = [st for st in slot_starts(res, day) if st > now]
    if not starts:
        return []
    taken = {at: n for at, n in s.execute(select(BookingSlot.starts_at, BookingSlot.booked).where(
        BookingSlot.resource_id == res.id, BookingSlot.starts_at.in_(starts)))}
    tz = ZoneInfo(res.timezone)
    return [Slot(st, st.astimezone(tz).strftime("%H:%M"), max(0, res.capacity - taken.get(st, 0))) for st in starts]


def availability(rt: Runtime, actor: Actor, resource_id: int, day: date) -> list[Slot]:
    with rt.db.read() as s:
        return availability_in(s, get_resource_in(s, actor, resource_id), day, rt.clock.now())


def units_for(res: BookingResource, party_size: int) -> int:
    """How many units of capacity a booking takes: one table, or one seat per person."""
    return max(1, party_size) if res.capacity_unit == "person" else 1


def _take_in(s: Session, rt: Runtime, res: BookingResource, starts_at: datetime, units: int) -> datetime:
    """Take ``units`` of a slot with one conditional UPDATE, or raise SlotFull; returns the UTC start."""
    starts_at = starts_at.astimezone(UTC)
    if starts_at <= rt.clock.now() or starts_at not in slot_starts(
            res, starts_at.astimezone(ZoneInfo(res.timezone)).date()):
        raise ValidationFailed("not a bookable slot of this resource", field="starts_at")
    if units > res.capacity:
        raise ValidationFailed(f"a party of {units} is more than the {res.capacity} places", field="party_size")
    ins = pg_insert(BookingSlot) if rt.db.is_postgres else sqlite_insert(BookingSlot)
    s.execute(ins.values(workspace_id=res.workspace_id, resource_id=res.id, starts_at=starts_at, booked=0)
              .on_conflict_do_nothing(index_elements=["resource_id", "starts_at"]))
    slot_id = s.scalar(update(BookingSlot).where(
        BookingSlot.resource_id == res.id, BookingSlot.starts_at == starts_at,
        BookingSlot.booked + units <= res.capacity).values(booked=BookingSlot.booked + units)
        .returning(BookingSlot.id))
    if slot_id is None:
        raise SlotFull("that slot is fully booked", field="starts_at")
    return starts_at


def _give_back_in(s: Session, res_id: int, starts_at: datetime, units: int) -> None:
    s.execute(update(BookingSlot).where(BookingSlot.resource_id == res_id, BookingSlot.starts_at == starts_at,
                                        BookingSlot.booked >= units).values(booked=BookingSlot.booked - units))


def book_in(s: Session, rt: Runtime, res: BookingResource, starts_at: datetime, *, party_size: int = 1,
            name: str = "", contact_id: int | None = None, conversation_id: int | None = None) -> Booking:
    """Take the slot's units (one, or one per person), or raise Conflict(code slot_full) when too few are left.
    A booking made in a conversation also gets its .ics invitation and a reminder (durable tasks)."""
    starts_at = _take_in(s, rt, res, starts_at, units_for(res, party_size))
    booking = Booking(workspace_id=res.workspace_id, resource_id=res.id, starts_at=starts_at, party_size=party_size,
                      name=name, contact_id=contact_id, conversation_id=conversation_id, status="confirmed",
                      created_at=rt.clock.now())
    s.add(booking)
    s.flush()
    schedule_notices_in(s, rt, res, booking, invite=True)
    return booking


def reschedule_in(s: Session, rt: Runtime, booking: Booking, starts_at: datetime) -> Booking:
    """Move a confirmed booking: the new slot is taken first, so a full slot leaves the old one untouched."""
    if booking.status != "confirmed":
        raise Conflict("only a confirmed booking can be moved", field="status")
    res = s.get(BookingResource, booking.resource_id)
    assert res is not None  # the foreign key cascades
    units = units_for(res, booking.party_size)
    new_start = _take_in(s, rt, res, starts_at, units)
    if new_start == booking.starts_at:
        _give_back_in(s, res.id, new_start, units)  # moved onto itself: nothing changes
        return booking
    _give_back_in(s, res.id, booking.starts_at, units)
    booking.starts_at = new_start
    s.flush()
    schedule_notices_in(s, rt, res, booking, invite=True)
    return booking


def reschedule(rt: Runtime, actor: Actor, booking_id: int, starts_at: datetime) -> Booking:
    actor.require_write()
    with rt.db.transaction() as s:
        return reschedule_in(s, rt, get_booking_in(s, actor, booking_id), starts_at)


class SlotFull(Conflict):
    code = "slot_full"
    title = "Fully booked"


def book(rt: Runtime, actor: Actor, resource_id: int, starts_at: datetime, *, party_size: int,
         name: str) -> Booking:
    actor.require_write()
    with rt.db.transaction() as s:
        return book_in(s, rt, get_resource_in(s, actor, resource_id), starts_at, party_size=party_size, name=name)


def cancel_in(s: Session, rt: Runtime, booking: Booking) -> bool:
    """Cancel and give the unit back; False when it was already cancelled."""
    if booking.status != "confirmed":
        return False
    booking.status, booking.cancelled_at = "cancelled", rt.clock.now()
    res = s.get(BookingResource, booking.resource_id)
    _give_back_in(s, booking.resource_id, booking.starts_at, units_for(res, booking.party_size) if res else 1)
    return True


def get_booking_in(s: Session, actor: Actor, booking_id: int) -> Booking:
    return get_in_workspace(s, Booking, booking_id, actor, "booking not found")


def cancel(rt: Runtime, actor: Actor, booking_id: int) -> Booking:
    actor.require_write()
    with rt.db.transaction() as s:
        b = get_booking_in(s, actor, booking_id)
        cancel_in(s, rt, b)
        return b


def upcoming_for_contact_in(s: Session, workspace_id: int, contact_id: int, now: datetime) -> Booking | None:
    return s.scalar(select(Booking).where(Booking.workspace_id == workspace_id, Booking.contact_id == contact_id,
                                          Booking.status == "confirmed", Booking.starts_at > now)
                    .order_by(Booking.starts_at).limit(1))


def list_bookings(rt: Runtime, actor: Actor, *, resource_id: int | None = None,
                  contact_id: int | None = None) -> list[Booking]:
    with rt.db.read() as s:
        q = select(Booking).where(Booking.workspace_id == actor.workspace_id)
        if resource_id is not None:
            q = q.where(Booking.resource_id == resource_id)
        if contact_id is not None:  # the inbox's contact panel (index ix_bookings_contact)
            q = q.where(Booking.contact_id == contact_id)
        return list(s.scalars(q.order_by(Booking.starts_at, Booking.id).limit(500)))
