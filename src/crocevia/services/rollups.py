"""Rollups for the dashboards, built for complete UTC days by a durable periodic task
(``analytics.rollup``), never on the ingest path:

- ``analytics_channel_hours`` / ``analytics_status_hours``: every figure of ``channel_performance`` per
  (channel, UTC day, hour), from the same selects the dashboard runs live (services/analytics_sql.py).
  Hours add up, so a range whose edges fall inside a day reads whole hours from here and at most a
  partial hour at each edge from the messages.
- ``analytics_contact_days``: one row per contact who wrote on a channel that day, with the first and last
  such message and the contact's previous and next day with one (exact "who wrote in [t, midnight)" and
  "in [midnight, t)" for the days at a range's edges), and ``analytics_active_days``: per (channel, day,
  previous day) how many of that day's contacts had last written on that previous day. Distinct contacts
  over whole days [a, b) = the days' rows whose previous day is before a (or none): each contact counts
  on its first day in the range only, so a 30-day range reads ~30 rows per channel and previous day
  instead of one per contact and day; "new" contacts are the rows with no previous day.

A day counts as complete once ``GRACE`` has passed after its end: messages get their ``created_at`` when
their transaction starts, and no ingest transaction lasts that long. Days are rolled in order (a day's
previous days are read from the rollups), each rebuilt from the messages (delete + insert, in one
transaction with the watermark), so running twice gives the same rows. The dashboard adds a live query
for whatever is not rolled up yet, so its numbers are always exact.

Two figures can change after their day is rolled up, and both stay exact:

- Delivery statuses (a read receipt weeks later): ``analytics_status_hours`` holds summed counts, and a
  database trigger (migrations 0014/0018) appends -1/+1 rows on every status change of an outbound
  message, whatever code path made it. Rebuilding a day deletes the rows it sees and counts the messages
  under the same snapshot, so a change committed meanwhile is either in the count or in a surviving row.
- A reply to a wait of a rolled day that had none yet: the wait is kept in ``analytics_pending_waits``;
  each run moves the ones answered since into the hour's counts, and the dashboard looks up replies
  created after the last run (the same GRACE assumption as above) for the ones still pending.

On PostgreSQL a rollup transaction runs at REPEATABLE READ (one snapshot for all its statements) and the
dashboard reads at REPEATABLE READ too; SQLite has one writer and snapshot reads anyway.

Not followed after the fact: messages deleted (retention, erasure) or imported with an old date after
their day was rolled up, until the rollups are rebuilt (``reset``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, delete, func, insert, literal, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from crocevia.jobs.tasks import enqueue_in, task_handler
from crocevia.runtime import Runtime
from crocevia.services import analytics_sql as sql
from crocevia.storage.tables import (
    AnalyticsActiveDay,
    AnalyticsChannelHour,
    AnalyticsContactDay,
    AnalyticsPendingWait,
    AnalyticsRollupState,
    AnalyticsStatusHour,
    Conversation,
    Message,
    Task,
)

TASK_KIND = "analytics.rollup"
GRACE = timedelta(minutes=10)
EVERY = timedelta(hours=1)
DAYS_PER_TRANSACTION = 7
# One transaction per task run: a day of a 10M-messages-a-year workspace takes ~3-8 s to roll on a
# loaded 2-core box, so 7 days stay well inside the task lease (120 s); a backlog continues at once.
DAYS_PER_RUN = 7
SERIALIZATION_RETRIES = 3
ROLLUP_TABLES = (AnalyticsChannelHour, AnalyticsStatusHour, AnalyticsContactDay, AnalyticsActiveDay,
                 AnalyticsPendingWait)


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def complete_before(now: datetime) -> date:
    """Days strictly before the returned one are complete (their end is at least GRACE ago)."""
    return (now - GRACE).astimezone(UTC).date()


def rolled_until(s: Session, workspace_id: int) -> date | None:
    """Every UTC day before this one is rolled up (None: nothing is)."""
    return s.scalar(select(AnalyticsRollupState.rolled_until)
                    .where(AnalyticsRollupState.workspace_id == workspace_id))


def repeatable_read(s: Session) -> None:
    """One snapshot for the whole transaction on PostgreSQL (must be its first statement)."""
    if sql.is_postgres(s):
        s.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def _roll_day(s: Session, workspace_id: int, d: date) -> None:
    lo, hi = day_start(d), day_start(d + timedelta(days=1))
    for table in ROLLUP_TABLES:
        s.execute(delete(table).where(table.workspace_id == workspace_id, table.day == d))
    totals = sql.hourly_totals(s, workspace_id, lo, hi).subquery()
    s.execute(insert(AnalyticsChannelHour).from_select(
        ["workspace_id", "channel_id", "day", "hour", *sql.TOTALS],
        select(literal(workspace_id), totals.c.channel_id, literal(d), totals.c.hour,
               *(totals.c[name] for name in sql.TOTALS))))
    # The same snapshot decides answered (above) and pending (here): see the module docstring.
    w = sql.conversation_days(s, workspace_id, lo, hi)
    s.execute(insert(AnalyticsPendingWait).from_select(
        ["workspace_id", "channel_id", "conversation_id", "day", "first_in"],
        select(literal(workspace_id), w.c.channel_id, w.c.conversation_id, literal(d), w.c.wait_at)
        .where(w.c.wait_at.is_not(None), w.c.first_out.is_(None))))
    statuses = sql.hourly_statuses(s, workspace_id, lo, hi).subquery()
    s.execute(insert(AnalyticsStatusHour).from_select(
        ["workspace_id", "channel_id", "day", "hour", "status", "reason", "n"],
        select(literal(workspace_id), statuses.c.channel_id, literal(d), statuses.c.hour, statuses.c.status,
               statuses.c.reason, statuses.c.n)))
    _roll_contacts(s, workspace_id, d, lo, hi)


def _roll_contacts(s: Session, workspace_id: int, d: date, lo: datetime, hi: datetime) -> None:
    """Who wrote on each channel that day (first/last message, previous day), the previous days' next
    day, and the day's counts per previous day. Needs every earlier day rolled (days go in order)."""
    cd, earlier = AnalyticsContactDay, aliased(AnalyticsContactDay)
    wrote = (select(Message.channel_id.label("channel_id"), Conversation.contact_id.label("contact_id"),
                    func.min(Message.created_at).label("first_at"), func.max(Message.created_at).label("last_at"))
             .join(Conversation, Conversation.id == Message.conversation_id)
             .where(sql.in_interval(workspace_id, lo, hi, None), Message.direction == "in")
             .group_by(Message.channel_id, Conversation.contact_id).subquery())
    prev_day = (select(func.max(earlier.day))
                .where(earlier.channel_id == wrote.c.channel_id, earlier.contact_id == wrote.c.contact_id,
                       earlier.day < d).scalar_subquery())
    s.execute(insert(cd).from_select(
        ["workspace_id", "channel_id", "contact_id", "day", "first_at", "last_at", "prev_day"],
        select(literal(workspace_id), wrote.c.channel_id, wrote.c.contact_id, literal(d), wrote.c.first_at,
               wrote.c.last_at, prev_day)))
    today = aliased(AnalyticsContactDay)
    s.execute(update(cd).where(cd.id.in_(
        select(earlier.id).join(today, and_(today.channel_id == earlier.channel_id,
                                            today.contact_id == earlier.contact_id, today.day == d,
                                            today.workspace_id == workspace_id))
        .where(earlier.workspace_id == workspace_id, earlier.day == today.prev_day))).values(next_day=d))
    s.execute(insert(AnalyticsActiveDay).from_select(
        ["workspace_id", "channel_id", "day", "prev_day", "contacts"],
        select(literal(workspace_id), cd.channel_id, literal(d), cd.prev_day, func.count())
        .where(cd.workspace_id == workspace_id, cd.day == d).group_by(cd.channel_id, cd.prev_day)))


def _resolve_waits(s: Session, workspace_id: int) -> None:
    """Move pending waits that have an agent reply by now into their hour's counts."""
    p, reply = AnalyticsPendingWait, aliased(Message)
    first_out = (select(func.min(reply.created_at))
                 .where(reply.conversation_id == p.conversation_id, reply.direction == "out",
                        reply.author_type == "agent", reply.created_at >= p.first_in)
                 .scalar_subquery()).label("first_out")
    pairs = select(p.id, p.channel_id, p.day, p.first_in, first_out).where(p.workspace_id == workspace_id).subquery()
    answered = s.execute(select(pairs.c.id, pairs.c.channel_id, pairs.c.day, pairs.c.first_in,
                                sql.seconds_between(s, pairs.c.first_out, pairs.c.first_in).label("seconds"))
                         .where(pairs.c.first_out.is_not(None))).all()
    if not answered:
        return
    totals: dict[tuple[int, date, int], list[float]] = {}
    for row in answered:
        first_in: datetime = row.first_in
        hour = (first_in if first_in.tzinfo else first_in.replace(tzinfo=UTC)).astimezone(UTC).hour
        t = totals.setdefault((row.channel_id, row.day, hour), [0, 0.0])
        t[0] += 1
        t[1] += float(row.seconds)
    ch = AnalyticsChannelHour
    for (channel_id, d, hour), (n, seconds) in totals.items():
        s.execute(update(ch).where(ch.workspace_id == workspace_id, ch.channel_id == channel_id, ch.day == d,
                                   ch.hour == hour)
                  .values(answered=ch.answered + int(n), response_seconds=ch.response_seconds + seconds))
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
        for table in (*ROLLUP_TABLES, AnalyticsRollupState):
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
