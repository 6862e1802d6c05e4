"""A small, hand-checkable history in a real database, for the dashboard and advisor tests.

Workspace with two channels, A ("Alfa shop", sandbox) and B ("Beta bot", sandbox), three contacts.
Range under test: 2026-01-10 00:00 to 2026-01-20 00:00 UTC. Every expected number in the tests is
derived from the timeline below by hand.

  conv1 (A, c1)  01-11 10:00 in · 10:02 agent out (read) · 10:05 in · 10:10 agent out (delivered)
                 resolved 11:00 (spell 10:00→11:00 = 3600 s) · reopened · 01-15 09:00 in · resolved 09:30 (1800 s)
  conv2 (A, c2)  01-05 08:00 in (before the range: c2 is a returning contact)
                 01-12 09:00 in · 09:10 agent out (failed: "invalid recipient")
  conv3 (B, c3)  01-13 08:00 in · 08:00:30 bot out (delivered)                (contained by the bot)
  conv4 (B, c1)  01-14 12:00 in · 12:01 bot out (sent) · 12:30 agent out (sent) (not contained)
  conv1          01-25 10:00 in (after the range: never counted)

Outcomes: CSAT on A: conv1 5 (01-11), conv2 2 (01-12), conv2 4 (01-25, after the range) → 1 of 2 is 4-5 = 50%.
NPS on B: conv3 9, conv4 6 → 50% promoters − 50% detractors = 0. Orders: conv1 paid €25.00 (01-11) and
€10.00 (01-16); conv2 pending €99.00 (not revenue); conv4 paid $3.00 (01-14), conv4 paid €7.00 but on 01-25.
Bookings: conv3 confirmed (01-13); conv4 cancelled (not counted).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from crocevia.clock import FakeClock
from crocevia.runtime import Runtime
from crocevia.services import conversations
from crocevia.storage.tables import (
    Booking,
    BookingResource,
    Channel,
    Contact,
    ContactConsent,
    ContactIdentity,
    Conversation,
    Message,
    Order,
    SurveyResponse,
)
from tests.conftest import Workspace

SINCE = datetime(2026, 1, 10, tzinfo=UTC)
UNTIL = datetime(2026, 1, 20, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


@dataclass
class History:
    a: int
    b: int
    c1: int
    c2: int
    c3: int
    conv1: int


def add_channel(rt: Runtime, ws_id: int, name: str, kind: str = "sandbox") -> int:
    with rt.db.transaction() as s:
        ch = Channel(workspace_id=ws_id, public_id=uuid.uuid4().hex, kind=kind, name=name,
                     credentials_encrypted=b"", settings={})
        s.add(ch)
        s.flush()
        return ch.id


def add_contact(rt: Runtime, ws_id: int, name: str, *, country: str | None = None, birth_year: int | None = None,
                tags: list[str] | None = None, on: tuple[int, ...] = ()) -> int:
    with rt.db.transaction() as s:
        c = Contact(workspace_id=ws_id, name=name, country=country, birth_year=birth_year, tags=tags or [])
        s.add(c)
        s.flush()
        for ch in on:
            s.add(ContactIdentity(workspace_id=ws_id, contact_id=c.id, channel_id=ch, external_id=f"{name}-{ch}"))
        return c.id


def add_conversation(rt: Runtime, ws_id: int, channel_id: int, contact_id: int, created: datetime) -> int:
    with rt.db.transaction() as s:
        conv = Conversation(workspace_id=ws_id, channel_id=channel_id, contact_id=contact_id, created_at=created,
                            last_activity_at=created)
        s.add(conv)
        s.flush()
        return conv.id


def add_message(rt: Runtime, ws_id: int, conv_id: int, channel_id: int, when: datetime, direction: str,
                author: str = "contact", status: str = "received", reason: str | None = None) -> None:
    with rt.db.transaction() as s:
        s.add(Message(workspace_id=ws_id, conversation_id=conv_id, channel_id=channel_id, direction=direction,
                      author_type=author, text=f"{direction} {when:%d %H:%M}", status=status, failure_reason=reason,
                      created_at=when))


def seed_history(rt: Runtime, w: Workspace) -> History:
    ws = w.id
    a, b = add_channel(rt, ws, "Alfa shop"), add_channel(rt, ws, "Beta bot")
    c1 = add_contact(rt, ws, "Carla", on=(a, b))
    c2 = add_contact(rt, ws, "Dario", on=(a,))
    c3 = add_contact(rt, ws, "Elena", on=(b,))
    with rt.db.transaction() as s:
        s.add(ContactConsent(workspace_id=ws, contact_id=c1, channel_id=a, status="opted_in", source="test"))
        s.add(ContactConsent(workspace_id=ws, contact_id=c2, channel_id=a, status="opted_out", source="test"))

    conv1 = add_conversation(rt, ws, a, c1, at(11, 10))
    add_message(rt, ws, conv1, a, at(11, 10), "in")
    add_message(rt, ws, conv1, a, at(11, 10, 2), "out", "agent", "read")
    add_message(rt, ws, conv1, a, at(11, 10, 5), "in")
    add_message(rt, ws, conv1, a, at(11, 10, 10), "out", "agent", "delivered")

    conv2 = add_conversation(rt, ws, a, c2, at(5, 8))
    add_message(rt, ws, conv2, a, at(5, 8), "in")
    add_message(rt, ws, conv2, a, at(12, 9), "in")
    add_message(rt, ws, conv2, a, at(12, 9, 10), "out", "agent", "failed", "invalid recipient")

    conv3 = add_conversation(rt, ws, b, c3, at(13, 8))
    add_message(rt, ws, conv3, b, at(13, 8), "in")
    add_message(rt, ws, conv3, b, at(13, 8, 0, 30), "out", "bot", "delivered")

    conv4 = add_conversation(rt, ws, b, c1, at(14, 12))
    add_message(rt, ws, conv4, b, at(14, 12), "in")
    add_message(rt, ws, conv4, b, at(14, 12, 1), "out", "bot", "sent")
    add_message(rt, ws, conv4, b, at(14, 12, 30), "out", "agent", "sent")

    # Resolutions go through the real service, at controlled times.
    clock = FakeClock(at(11, 11))
    previous_clock, rt.clock = rt.clock, clock
    try:
        conversations.set_status(rt, w.owner, conv1, status="resolved")
        clock.set(at(15, 8))
        conversations.set_status(rt, w.owner, conv1, status="open")
        add_message(rt, ws, conv1, a, at(15, 9), "in")
        clock.set(at(15, 9, 30))
        conversations.set_status(rt, w.owner, conv1, status="resolved")
    finally:
        rt.clock = previous_clock
    add_message(rt, ws, conv1, a, at(25, 10), "in")
    add_outcomes(rt, ws, conv1=conv1, conv2=conv2, conv3=conv3, conv4=conv4, a=a, b=b, c1=c1, c2=c2, c3=c3)
    return History(a=a, b=b, c1=c1, c2=c2, c3=c3, conv1=conv1)


def add_outcomes(rt: Runtime, ws: int, *, conv1: int, conv2: int, conv3: int, conv4: int, a: int, b: int, c1: int,
                 c2: int, c3: int) -> None:
    with rt.db.transaction() as s:
        for conv, ch, contact, kind, score, when in (
                (conv1, a, c1, "csat", 5, at(11, 11, 5)), (conv2, a, c2, "csat", 2, at(12, 10)),
                (conv2, a, c2, "csat", 4, at(25, 10)), (conv3, b, c3, "nps", 9, at(13, 9)),
                (conv4, b, c1, "nps", 6, at(14, 13))):
            s.add(SurveyResponse(workspace_id=ws, kind=kind, conversation_id=conv, contact_id=contact, channel_id=ch,
                                 status="answered", score=score, asked_at=when, answered_at=when))
        for conv, status, currency, total, paid in (
                (conv1, "paid", "EUR", 2500, at(11, 10, 30)), (conv1, "paid", "EUR", 1000, at(16, 9)),
                (conv2, "pending", "EUR", 9900, None), (conv4, "paid", "USD", 300, at(14, 12, 40)),
                (conv4, "paid", "EUR", 700, at(25, 9))):
            s.add(Order(workspace_id=ws, conversation_id=conv, status=status, currency=currency, total_minor=total,
                        items=[], created_at=paid or at(12, 9), paid_at=paid))
        res = BookingResource(workspace_id=ws, name="Tavolo", capacity=4)
        s.add(res)
        s.flush()
        s.add(Booking(workspace_id=ws, resource_id=res.id, conversation_id=conv3, starts_at=at(20, 20),
                      status="confirmed", created_at=at(13, 8, 5)))
        s.add(Booking(workspace_id=ws, resource_id=res.id, conversation_id=conv4, starts_at=at(21, 20),
                      status="cancelled", created_at=at(14, 12, 5)))
