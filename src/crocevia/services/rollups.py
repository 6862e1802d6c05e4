"""Daily rollups for the dashboards: message volume per (channel, UTC day) and who wrote per
(channel, contact, UTC day), so a 30-day range reads ~30 rows per channel instead of every message.

Only complete days are rolled up, by a durable periodic task (``analytics.rollup``), never on the
ingest path. A day counts as complete once ``GRACE`` has passed after its end: messages get their
``created_at`` when their transaction starts, and no ingest transaction lasts that long. Each day is
rebuilt from the messages (delete + insert, in one transaction with the watermark), so running twice
gives the same rows. The dashboard adds a live query for whatever is not rolled up yet (the days after
the watermark and the partial days at the edges of a range), so its numbers are always exact.

What is rolled up per day: messages in/out per channel, who wrote (contact days), customer waits and
agent replies per (conversation, day), bot containment per (conversation, day), and outbound statuses.
Two of them can change after their day is rolled up, and both stay exact:

- Delivery statuses (a read receipt weeks later): ``analytics_status_days`` holds summed counts, and a
  database trigger (migration 0014) appends -1/+1 rows on every status change of an outbound message,
  whatever code path made it. Rebuilding a day deletes the rows it sees and counts the messages under
  the same snapshot, so a change committed meanwhile is either in the count or in a surviving row.
- A reply to a wait of a rolled day that had none yet: the wait is kept in ``analytics_pending_waits``;
  each run moves the ones answered since into the day's counts, and the dashboard looks up replies
  created after the last run (the same GRACE assumption as above) for the ones still pending.

On PostgreSQL a rollup transaction runs at REPEATABLE READ (one snapshot for all its statements) and the
dashboard reads at REPEATABLE READ too; SQLite has one writer and snapshot reads anyway.

Not followed after the fact: messages deleted (retention, erasure) after their day was rolled up stay
counted until the rollups are rebuilt (``reset``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from crocevia.jobs.tasks import enqueue_in, task_handler
from crocevia.runtime import Runtime
from crocevia.storage.tables import (
    AnalyticsChannelDay,
    AnalyticsContactDay,
    AnalyticsPendingWait,
    AnalyticsRollupState,
    AnalyticsStatusDay,
    Conversation,
    Message,
    Task,
)

TASK_KIND = "analytics.rollup"
GRACE = timedelta(minutes=10)
EVERY = timedelta(hours=1)
DAYS_PER_TRANSACTION = 7
DAYS_PER_RUN = 31
COUNTED_STATUSES = ("delivered", "read", "failed")  # must match the trigger of migration 0014
SERIALIZATION_RETRIES = 3


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def complete_before(now: datetime) -> date:
    """Days strictly before the returned one are complete (their end is at least GRACE ago)."""
    return (now - GRACE).astimezone(UTC).date()


def rolled_until(s: Session, workspace_id: int) -> date | None:
    """Every UTC day before this one is rolled up (None: nothing is)."""
    return s.scalar(select(AnalyticsRollupState.rolled_until)
                    .where(AnalyticsRollupState.workspace_id == workspace_id))


def seconds_between(s: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """later - earlier in seconds; the one engine difference of the analytics SQL."""
    if s.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def utc_day(s: Session, col: Any) -> ColumnElement[Any]:
    """The UTC date of a timestamp column, whatever the session's time zone."""
    if s.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", col))
    return func.date(col)


def repeatable_read(s: Session) -> None:
    """One snapshot for the whole transaction on PostgreSQL (must be its first statement)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def waits_by_conversation_day(s: Session, where: Any) -> Any:
    """Per (conversation, channel, UTC day) of the messages matching ``where``: messages in and out, the
    first customer message (a customer wait), bot and agent messages, and the first agent reply at or
    after that wait (at any later time). The dashboard's live part and the rollup share this query."""
    day = utc_day(s, Message.created_at)
    per_conv = (select(Message.conversation_id.label("conversation_id"), Message.channel_id.label("channel_id"),
                       day.label("day"),
                       func.sum(case((Message.direction == "in", 1), else_=0)).label("n_in"),
                       func.sum(case((Message.direction == "out", 1), else_=0)).label("n_out"),
                       func.min(case((Message.direction == "in", Message.created_at))).label("first_in"),
                       func.sum(case((Message.author_type == "bot", 1), else_=0)).label("bot"),
                       func.sum(case((Message.author_type == "agent", 1), else_=0)).label("agent"))
                .where(where).group_by(Message.conversation_id, Message.channel_id, day).subquery())
    reply = aliased(Message)
    first_out = (select(func.min(reply.created_at))
                 .where(reply.conversation_id == per_conv.c.conversation_id, reply.direction == "out",
                        reply.author_type == "agent", reply.created_at >= per_conv.c.first_in)
                 .scalar_subquery())
    # OFFSET 0 keeps PostgreSQL from inlining this, which would run the reply lookup twice per row.
    return (select(per_conv, case((per_conv.c.first_in.is_not(None), first_out)).label("first_out"))
            .offset(0).subquery())


def _roll_day(s: Session, workspace_id: int, d: date) -> None:
    lo, hi = day_start(d), day_start(d + timedelta(days=1))
    in_day = and_(Message.workspace_id == workspace_id, Message.created_at >= lo, Message.created_at < hi)
    for table in (AnalyticsChannelDay, AnalyticsContactDay, AnalyticsStatusDay, AnalyticsPendingWait):
        s.execute(delete(table).where(table.workspace_id == workspace_id, table.day == d))
    w = waits_by_conversation_day(s, in_day)
    with_bot = w.c.bot > 0
    s.execute(insert(AnalyticsChannelDay).from_select(
        ["workspace_id", "channel_id", "day", "inbound", "outbound", "waiting", "answered", "response_seconds",
         "bot_conversations", "bot_contained"],
        select(literal(workspace_id), w.c.channel_id, literal(d), func.sum(w.c.n_in), func.sum(w.c.n_out),
               func.count(w.c.first_in), func.count(w.c.first_out),
               func.coalesce(func.sum(seconds_between(s, w.c.first_out, w.c.first_in)), 0.0),
               func.sum(case((with_bot, 1), else_=0)),
               func.sum(case((and_(with_bot, w.c.agent == 0), 1), else_=0)))
        .group_by(w.c.channel_id)))
    # The same snapshot decides answered (above) and pending (here): see the module docstring.
    s.execute(insert(AnalyticsPendingWait).from_select(
        ["workspace_id", "channel_id", "conversation_id", "day", "first_in"],
        select(literal(workspace_id), w.c.channel_id, w.c.conversation_id, literal(d), w.c.first_in)
        .where(w.c.first_in.is_not(None), w.c.first_out.is_(None))))
    s.execute(insert(AnalyticsContactDay).from_select(
        ["workspace_id", "channel_id", "contact_id", "day"],
        select(literal(workspace_id), Message.channel_id, Conversation.contact_id, literal(d))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(in_day, Message.direction == "in").group_by(Message.channel_id, Conversation.contact_id)))
    reason = case((Message.status == "failed", func.coalesce(Message.failure_reason, "")))
    s.execute(insert(AnalyticsStatusDay).from_select(
        ["workspace_id", "channel_id", "day", "status", "reason", "n"],
        select(literal(workspace_id), Message.channel_id, literal(d), Message.status, reason, func.count())
        .where(in_day, Message.direction == "out", Message.status.in_(COUNTED_STATUSES))
        .group_by(Message.channel_id, Message.status, reason)))


def _resolve_waits(s: Session, workspace_id: int) -> None:
    """Move pending waits that have an agent reply by now into their day's counts."""
    p, reply = AnalyticsPendingWait, aliased(Message)
    first_out = (select(func.min(reply.created_at))
                 .where(reply.conversation_id == p.conversation_id, reply.direction == "out",
                        reply.author_type == "agent", reply.created_at >= p.first_in)
                 .scalar_subquery()).label("first_out")
    pairs = select(p.id, p.channel_id, p.day, p.first_in, first_out).where(p.workspace_id == workspace_id).subquery()
    answered = s.execute(select(pairs.c.id, pairs.c.channel_id, pairs.c.day,
                                seconds_between(s, pairs.c.first_out, pairs.c.first_in).label("seconds"))
                         .where(pairs.c.first_out.is_not(None))).all()
    if not answered:
        return
    totals: dict[tuple[int, date], list[float]] = {}
    for row in answered:
        t = totals.setdefault((row.channel_id, row.day), [0, 0.0])
        t[0] += 1
        t[1] += float(row.seconds)
    cd = AnalyticsChannelDay
    for (channel_id, d), (n, seconds) in totals.items():
        s.execute(update(cd).where(cd.workspace_id == workspace_id, cd.channel_id == channel_id, cd.day == d)
                  .values(answered=cd.answered + int(n), response_seconds=cd.response_seconds + seconds))
    ids = [row.id for row in answered]
    for i in range(0, len(ids), 1000):
        s.execute(delete(p).where(p.id.in_(ids[i:i + 1000])))


@contextmanager
def _rollup_transaction(rt: Runtime) -> Iterator[Session]:
    with rt.db.transaction() as s:
        repeatable_read(s)
        yield s


def _is_serialization_failure(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "40001"


def roll_up(rt: Runtime, workspace_id: int, *, now: datetime | None = None, max_days: int | None = None) -> int:
    """Bring the workspace's rollups up to the last complete day (or ``max_days`` further) and settle
    the pending waits answered since; returns how many days were (re)built."""
    now = now or rt.clock.now()
    target = complete_before(now)
    built = 0
    retries = SERIALIZATION_RETRIES
    while True:
        try:
            step_built, finished = _roll_slice(rt, workspace_id, now, target, built, max_days)
        except OperationalError as exc:
            # Two runners on one workspace: the second one's snapshot predates the first's commit.
            if not _is_serialization_failure(exc) or retries == 0:
                raise
            retries -= 1
            continue
        built += step_built
        if finished:
            return built


def _roll_slice(rt: Runtime, workspace_id: int, now: datetime, target: date, built: int,
                max_days: int | None) -> tuple[int, bool]:
    with _rollup_transaction(rt) as s:
        # Locked: two runners on one workspace take turns instead of rebuilding the same days.
        state = s.get(AnalyticsRollupState, workspace_id, with_for_update=True)
        if state is None:
            first = s.scalar(select(func.min(Message.created_at)).where(Message.workspace_id == workspace_id))
            if first is not None and first.tzinfo is None:  # a bare aggregate skips the column type on SQLite
                first = first.replace(tzinfo=UTC)
            start = first.astimezone(UTC).date() if first is not None else target
            state = AnalyticsRollupState(workspace_id=workspace_id, rolled_until=min(start, target))
            s.add(state)
            s.flush()
        start = state.rolled_until
        step = DAYS_PER_TRANSACTION if max_days is None else max(0, min(DAYS_PER_TRANSACTION, max_days - built))
        end = min(start + timedelta(days=step), target)
        d = start
        while d < end:
            _roll_day(s, workspace_id, d)
            d += timedelta(days=1)
        n = (end - start).days if end > start else 0
        if end > start:
            state.rolled_until, state.updated_at = end, rt.clock.now()
        finished = end >= target or (max_days is not None and built + n >= max_days)
        if finished:
            _resolve_waits(s, workspace_id)
            state.waits_checked_at = now
        return n, finished


def reset(rt: Runtime, workspace_id: int) -> None:
    """Forget the workspace's rollups: the dashboard reads live until the task has rebuilt them."""
    with rt.db.transaction() as s:
        for table in (AnalyticsChannelDay, AnalyticsContactDay, AnalyticsStatusDay, AnalyticsPendingWait,
                      AnalyticsRollupState):
            s.execute(delete(table).where(table.workspace_id == workspace_id))


def ensure_scheduled(rt: Runtime, workspace_id: int) -> None:
    """Make sure the workspace has a pending rollup task (the task re-enqueues itself)."""
    with rt.db.transaction() as s:
        pending = s.scalar(select(Task.id).where(Task.workspace_id == workspace_id, Task.kind == TASK_KIND,
                                                 Task.status.in_(("pending", "running"))).limit(1))
        if pending is None:
            enqueue_in(s, workspace_id=workspace_id, kind=TASK_KIND, payload={})


@task_handler(TASK_KIND)
def run_rollup(rt: Runtime, task: Task) -> None:
    # A bounded slice per run, well inside the task lease; a backlog continues at once.
    built = roll_up(rt, task.workspace_id, max_days=DAYS_PER_RUN)
    with rt.db.transaction() as s:
        # The next run: durable, so a restart does not lose the schedule.
        enqueue_in(s, workspace_id=task.workspace_id, kind=TASK_KIND, payload={},
                   run_after=rt.clock.now() + (timedelta(0) if built >= DAYS_PER_RUN else EVERY))
