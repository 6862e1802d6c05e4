"""Daily rollups for the dashboards: message volume per (channel, UTC day) and who wrote per
(channel, contact, UTC day), so a 30-day range reads ~30 rows per channel instead of every message.

Only complete days are rolled up, by a durable periodic task (``analytics.rollup``), never on the
ingest path. A day counts as complete once ``GRACE`` has passed after its end: messages get their
``created_at`` when their transaction starts, and no ingest transaction lasts that long. Each day is
rebuilt from the messages (delete + insert, in one transaction with the watermark), so running twice
gives the same rows. The dashboard adds a live query for whatever is not rolled up yet (the days after
the watermark and the partial days at the edges of a range), so its numbers are always exact.

What is rolled up never changes after the fact: a message's direction, channel, day and conversation.
Delivery statuses do change (a read receipt can arrive weeks later), so they stay live queries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from crocevia.jobs.tasks import enqueue_in, task_handler
from crocevia.runtime import Runtime
from crocevia.storage.tables import (
    AnalyticsChannelDay,
    AnalyticsContactDay,
    AnalyticsRollupState,
    Conversation,
    Message,
    Task,
)

TASK_KIND = "analytics.rollup"
GRACE = timedelta(minutes=10)
EVERY = timedelta(hours=1)
DAYS_PER_TRANSACTION = 7
DAYS_PER_RUN = 31


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def complete_before(now: datetime) -> date:
    """Days strictly before the returned one are complete (their end is at least GRACE ago)."""
    return (now - GRACE).astimezone(UTC).date()


def rolled_until(s: Session, workspace_id: int) -> date | None:
    """Every UTC day before this one is rolled up (None: nothing is)."""
    return s.scalar(select(AnalyticsRollupState.rolled_until)
                    .where(AnalyticsRollupState.workspace_id == workspace_id))


def _roll_day(s: Session, workspace_id: int, d: date) -> None:
    lo, hi = day_start(d), day_start(d + timedelta(days=1))
    in_day = and_(Message.workspace_id == workspace_id, Message.created_at >= lo, Message.created_at < hi)
    s.execute(delete(AnalyticsChannelDay).where(AnalyticsChannelDay.workspace_id == workspace_id,
                                                AnalyticsChannelDay.day == d))
    s.execute(delete(AnalyticsContactDay).where(AnalyticsContactDay.workspace_id == workspace_id,
                                                AnalyticsContactDay.day == d))
    s.execute(insert(AnalyticsChannelDay).from_select(
        ["workspace_id", "channel_id", "day", "inbound", "outbound"],
        select(literal(workspace_id), Message.channel_id, literal(d),
               func.sum(case((Message.direction == "in", 1), else_=0)),
               func.sum(case((Message.direction == "out", 1), else_=0)))
        .where(in_day).group_by(Message.channel_id)))
    s.execute(insert(AnalyticsContactDay).from_select(
        ["workspace_id", "channel_id", "contact_id", "day"],
        select(literal(workspace_id), Message.channel_id, Conversation.contact_id, literal(d))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(in_day, Message.direction == "in").group_by(Message.channel_id, Conversation.contact_id)))


def roll_up(rt: Runtime, workspace_id: int, *, now: datetime | None = None, max_days: int | None = None) -> int:
    """Bring the workspace's rollups up to the last complete day (or ``max_days`` further); returns how
    many days were (re)built."""
    target = complete_before(now or rt.clock.now())
    built = 0
    while True:
        with rt.db.transaction() as s:
            # Locked: two runners on one workspace take turns instead of rebuilding the same days.
            state = s.get(AnalyticsRollupState, workspace_id, with_for_update=True)
            if state is None:
                first = s.scalar(select(func.min(Message.created_at)).where(Message.workspace_id == workspace_id))
                if first is not None and first.tzinfo is None:  # a bare aggregate skips the column type on SQLite
                    first = first.replace(tzinfo=UTC)
                start = first.astimezone(UTC).date() if first is not None else target
                state = AnalyticsRollupState(workspace_id=workspace_id, rolled_until=min(start, target))
                s.add(state)
            start = state.rolled_until
            step = DAYS_PER_TRANSACTION if max_days is None else max(0, min(DAYS_PER_TRANSACTION, max_days - built))
            end = min(start + timedelta(days=step), target)
            d = start
            while d < end:
                _roll_day(s, workspace_id, d)
                d += timedelta(days=1)
            built += (end - start).days if end > start else 0
            if end > start:
                state.rolled_until, state.updated_at = end, rt.clock.now()
            if end >= target or (max_days is not None and built >= max_days):
                return built


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
