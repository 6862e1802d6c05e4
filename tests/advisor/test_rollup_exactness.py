"""Every dashboard number read from the daily rollups equals the same number computed from the message
rows alone, on a generated history, before and after what changes once a day is rolled up: delivery
receipts and failures arriving late (status changes made the way the app makes them) and agent replies to
customers who had been waiting since a rolled day."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crocevia.domain.enums import MessageStatus
from crocevia.runtime import Runtime
from crocevia.services import analytics, rollups
from crocevia.services.ingest import apply_status_to
from crocevia.storage.tables import AnalyticsPendingWait, AnalyticsStatusHour, Message
from tests.advisor.seed import add_channel, add_contact, add_conversation
from tests.conftest import Workspace

START = datetime(2026, 2, 1, tzinfo=UTC)
DAYS = 20
REASONS = ("invalid recipient", "rate limited", None)


def feb(day: float, hour: float = 0) -> datetime:
    return START + timedelta(days=day - 1, hours=hour)


def generate(rt: Runtime, ws: Workspace, seed: int = 9) -> tuple[int, int, list[int]]:
    """Two channels, 6 contacts, 12 conversations, ~400 messages over 20 days at random seconds."""
    rng = random.Random(seed)
    a, b = add_channel(rt, ws.id, "Alfa"), add_channel(rt, ws.id, "Beta")
    contacts = [add_contact(rt, ws.id, f"C{i}", on=(a, b)) for i in range(6)]
    convs = [(add_conversation(rt, ws.id, ch, contacts[i % 6], START), ch)
             for i, ch in enumerate([a] * 7 + [b] * 5)]
    with rt.db.transaction() as s:
        for _ in range(400):
            conv, ch = rng.choice(convs)
            when = START + timedelta(seconds=rng.randrange(DAYS * 86400))
            if rng.random() < 0.45:
                s.add(Message(workspace_id=ws.id, conversation_id=conv, channel_id=ch, direction="in",
                              author_type="contact", text="?", status="received", created_at=when))
                continue
            status = rng.choice(("sent", "delivered", "delivered", "read", "failed"))
            s.add(Message(workspace_id=ws.id, conversation_id=conv, channel_id=ch, direction="out",
                          author_type=rng.choice(("agent", "agent", "bot")), text="!", status=status,
                          failure_reason=rng.choice(REASONS) if status == "failed" else None, created_at=when))
    return a, b, [c for c, _ in convs]


def ranges(a: int) -> list[tuple[datetime, datetime, int | None]]:
    return [(feb(1), feb(21), None), (feb(3, 7.5), feb(12, 15.25), None), (feb(2), feb(9), a),
            (feb(10, 1), feb(10, 23), None), (feb(5, 12), feb(19), None), (feb(14), feb(20, 6), a)]


def numbers(rt: Runtime, ws: Workspace, a: int) -> list[dict[str, Any]]:
    out = []
    for since, until, channel in ranges(a):
        p = analytics.period(rt, ws.owner, since=since, until=until, channel_id=channel)
        out.append({"channels": analytics.channel_performance(rt, ws.owner, p),
                    "daily": analytics.daily_volume(rt, ws.owner, p),
                    "audience": analytics.audience(rt, ws.owner, p)})
    return out


def from_messages_only(rt: Runtime, ws: Workspace, a: int) -> list[dict[str, Any]]:
    """The same numbers with no rollups at all (every figure from the message rows)."""
    rollups.reset(rt, ws.id)
    with rt.db.read() as s:
        assert rollups.rolled_until(s, ws.id) is None
    return numbers(rt, ws, a)


def late_changes(rt: Runtime, ws: Workspace, rng: random.Random, when: datetime) -> int:
    """Receipts and failures for messages of past days, through the app's own status rule."""
    changed = 0
    with rt.db.transaction() as s:
        sent = list(s.scalars(select(Message).where(Message.workspace_id == ws.id, Message.direction == "out")
                              .order_by(Message.id)))
        for msg in rng.sample(sent, 40):
            before = (msg.status, msg.failure_reason)
            status = rng.choice((MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED))
            apply_status_to(msg, status, when, rng.choice(("blocked", "invalid recipient")))
            changed += (msg.status, msg.failure_reason) != before
    return changed


def late_replies(rt: Runtime, ws: Workspace, when: datetime) -> int:
    """An agent answers every conversation that has a wait pending since a rolled day."""
    with rt.db.transaction() as s:
        waiting = s.execute(select(AnalyticsPendingWait.conversation_id, AnalyticsPendingWait.channel_id)
                            .where(AnalyticsPendingWait.workspace_id == ws.id).distinct()).all()
        for i, (conv, ch) in enumerate(sorted(waiting)):
            s.add(Message(workspace_id=ws.id, conversation_id=conv, channel_id=ch, direction="out",
                          author_type="agent", text="late", status="sent", created_at=when + timedelta(minutes=i)))
    return len(waiting)


def test_rollups_equal_the_message_rows_with_late_statuses_and_late_replies(rt: Runtime, ws: Workspace) -> None:
    a, _, _ = generate(rt, ws)
    direct = numbers(rt, ws, a)
    assert any(row["failed"] and row["conversations_answered"] < row["conversations_waiting"]
               for row in direct[0]["channels"])  # the history exercises failures and unanswered waits

    # Part rolled up (days after 02-10 read live), then all of it: the same numbers.
    rollups.roll_up(rt, ws.id, now=feb(10, 12))
    assert numbers(rt, ws, a) == direct
    rollups.roll_up(rt, ws.id, now=feb(21, 12))
    with rt.db.read() as s:
        assert rollups.rolled_until(s, ws.id) == feb(21).date()
        pending = s.scalar(select(func.count()).select_from(AnalyticsPendingWait))
    assert pending
    assert numbers(rt, ws, a) == direct

    # After the roll-up: late receipts/failures on rolled days, and replies to the waits still pending.
    rng = random.Random(4)
    assert late_changes(rt, ws, rng, feb(22)) > 10
    assert late_replies(rt, ws, feb(22, 9)) > 0  # conversations (each with one or more pending waits)
    rolled = numbers(rt, ws, a)
    assert rolled != direct  # the late changes move the figures
    # The next run settles the answered waits into the day counts: nothing moves.
    rollups.roll_up(rt, ws.id, now=feb(22, 12))
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AnalyticsPendingWait)) == 0
    assert numbers(rt, ws, a) == rolled
    live = from_messages_only(rt, ws, a)
    assert rolled == live  # and the rollups followed the late changes exactly

    # Rebuilt from scratch, then more late receipts on rolled days.
    rollups.roll_up(rt, ws.id, now=feb(22, 12))
    assert numbers(rt, ws, a) == live
    assert late_changes(rt, ws, rng, feb(23)) > 5
    after = numbers(rt, ws, a)
    assert after != live
    assert after == from_messages_only(rt, ws, a)


def test_a_status_change_on_a_rolled_day_is_counted_at_once(rt: Runtime, ws: Workspace) -> None:
    a = add_channel(rt, ws.id, "Alfa")
    conv = add_conversation(rt, ws.id, a, add_contact(rt, ws.id, "Carla", on=(a,)), feb(1))
    with rt.db.transaction() as s:
        msg = Message(workspace_id=ws.id, conversation_id=conv, channel_id=a, direction="out", author_type="agent",
                      text="hi", status="sent", created_at=feb(2, 10))
        s.add(msg)
        s.flush()
        msg_id = msg.id
    rollups.roll_up(rt, ws.id, now=feb(5))
    p = analytics.period(rt, ws.owner, since=feb(1), until=feb(5))

    def row() -> tuple[Any, ...]:
        r = analytics.channel_performance(rt, ws.owner, p)[0]
        return r["outbound"], r["delivered"], r["read"], r["failed"], r["failures_by_reason"]

    assert row() == (1, 0, 0, 0, [])
    for status, expected in ((MessageStatus.DELIVERED, (1, 1, 0, 0, [])), (MessageStatus.READ, (1, 1, 1, 0, [])),
                             (MessageStatus.FAILED, (1, 0, 0, 1, [{"reason": "blocked", "count": 1}]))):
        with rt.db.transaction() as s:
            m = s.get(Message, msg_id)
            assert m is not None
            apply_status_to(m, status, feb(6), "blocked")
        assert row() == expected
    with rt.db.read() as s:  # -1/+1 rows for delivered, read and failed, as the trigger wrote them
        assert s.scalar(select(func.count()).select_from(AnalyticsStatusHour)) == 5
    rollups.reset(rt, ws.id)
    rollups.roll_up(rt, ws.id, now=feb(7))
    assert row() == (1, 0, 0, 1, [{"reason": "blocked", "count": 1}])
    with rt.db.read() as s:  # rebuilt: one row per (channel, day, status, reason)
        assert s.scalar(select(func.count()).select_from(AnalyticsStatusHour)) == 1


def sparse_history(rt: Runtime, ws: Workspace) -> tuple[int, int]:
    """Two channels, 40 contacts who write on a few days each (so contacts come and go across a range's
    edges), 60 conversations, ~300 messages at random seconds over 20 days, some bot-answered."""
    rng = random.Random(23)
    a, b = add_channel(rt, ws.id, "Alfa"), add_channel(rt, ws.id, "Beta")
    contacts = [add_contact(rt, ws.id, f"S{i}", on=(a, b)) for i in range(40)]
    convs = [(add_conversation(rt, ws.id, ch, contacts[i % 40], START), ch)
             for i, ch in enumerate([a, b] * 30)]
    with rt.db.transaction() as s:
        for _ in range(150):
            conv, ch = rng.choice(convs)
            when = START + timedelta(seconds=rng.randrange(DAYS * 86400))
            s.add(Message(workspace_id=ws.id, conversation_id=conv, channel_id=ch, direction="in",
                          author_type="contact", text="?", status="received", created_at=when))
            if rng.random() < 0.8:  # an answer minutes to hours later, from a bot or an agent
                s.add(Message(workspace_id=ws.id, conversation_id=conv, channel_id=ch, direction="out",
                              author_type=rng.choice(("agent", "bot")), text="!", status=rng.choice(("read", "failed")),
                              failure_reason="blocked", created_at=when + timedelta(minutes=rng.randrange(5, 600))))
    return a, b


def random_ranges(n: int) -> list[tuple[datetime, datetime]]:
    """Ranges whose edges fall anywhere (minutes, whole hours, midnights), from a few minutes to 20 days."""
    rng = random.Random(5)
    out = []
    for _ in range(n):
        lo, hi = sorted(rng.sample(range(0, 21 * 24 * 60), 2))
        lo, hi = (x - x % rng.choice((1, 60, 24 * 60)) for x in (lo, hi))
        if lo < hi:
            out.append((START + timedelta(minutes=lo), START + timedelta(minutes=hi)))
    return out


def test_ranges_with_edges_anywhere_read_from_hours_and_contact_days_equal_the_message_rows(
        rt: Runtime, ws: Workspace) -> None:
    sparse_history(rt, ws)
    spans = random_ranges(40)

    def figures() -> list[tuple[Any, ...]]:
        out = []
        for since, until in spans:
            p = analytics.period(rt, ws.owner, since=since, until=until)
            out.append((analytics.channel_performance(rt, ws.owner, p), analytics.audience(rt, ws.owner, p),
                        analytics.daily_volume(rt, ws.owner, p)))
        return out

    direct = figures()
    assert any(aud["active_contacts"] and aud["returning_contacts"] and aud["new_contacts"]
               for _, audience, _ in direct for aud in audience)  # the ranges see new and returning contacts
    rollups.roll_up(rt, ws.id, now=feb(12, 3))  # half rolled up: ranges across the watermark
    assert figures() == direct
    rollups.roll_up(rt, ws.id, now=feb(22))
    assert figures() == direct


def test_a_range_cut_in_two_counts_each_customer_wait_and_bot_conversation_once(rt: Runtime, ws: Workspace) -> None:
    # Waits and bot conversations are per conversation and UTC day, counted where the day's first customer
    # (bot) message falls: cutting a range anywhere, even inside a day, splits them without counting twice.
    a, b = sparse_history(rt, ws)
    rollups.roll_up(rt, ws.id, now=feb(15))
    keys = ("inbound", "outbound", "failed", "conversations_waiting", "conversations_answered", "bot_conversations",
            "bot_contained")

    def totals(since: datetime, until: datetime) -> dict[int, tuple[int, ...]]:
        p = analytics.period(rt, ws.owner, since=since, until=until)
        return {r["channel_id"]: tuple(r[k] for k in keys) for r in analytics.channel_performance(rt, ws.owner, p)}

    for cut in (feb(6, 13.5), feb(9, 7), feb(14, 20.25), feb(17, 11.75)):  # rolled hours, partial hours, live days
        whole, left, right = totals(feb(1), feb(21)), totals(feb(1), cut), totals(cut, feb(21))
        for ch in (a, b):
            assert whole[ch] == tuple(x + y for x, y in zip(left[ch], right[ch], strict=True))
        assert whole[a][3] > left[a][3] > 0
