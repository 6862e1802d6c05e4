"""The per-hour aggregates of the dashboards, written once: the rollup task stores them for complete days
(services/rollups.py) and the dashboard computes the same selects over what is not rolled up yet or
over a partial hour at a range's edge (services/analytics.py), so the two cannot drift.

What is counted, per channel, UTC day and hour (every figure adds up over hours):
- messages in and out, by the hour they were created; outbound statuses the same way;
- customer waits: per (conversation, UTC day) with a customer message, the wait starts at the day's
  first customer message and belongs to that message's hour; answered = an agent reply at or after it
  (at any later time), with the seconds to it;
- bot containment: per (conversation, UTC day) with a bot message, counted in the hour of the day's first
  bot message; contained = no agent message in that conversation that whole UTC day.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, exists, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from crocevia.storage.tables import Message

COUNTED_STATUSES = ("delivered", "read", "failed")  # must match the trigger of migrations 0014/0018
TOTALS = ("inbound", "outbound", "waiting", "answered", "response_seconds", "bot_conversations", "bot_contained")


def is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def seconds_between(s: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """later - earlier in seconds; one of the two engine differences of the analytics SQL."""
    if is_postgres(s):
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def utc_day(s: Session, col: Any) -> ColumnElement[Any]:
    """The UTC date of a timestamp column, whatever the session's time zone."""
    if is_postgres(s):
        return func.date(func.timezone("UTC", col))
    return func.date(col)


def utc_hour(s: Session, col: Any) -> ColumnElement[Any]:
    """The UTC hour (0-23) of a timestamp column (SQLite stores naive UTC text)."""
    if is_postgres(s):
        return cast(func.extract("hour", func.timezone("UTC", col)), Integer)
    return cast(func.strftime("%H", col), Integer)


def midnight_before(dt: datetime) -> datetime:
    return datetime.combine(dt.astimezone(UTC).date(), time(), UTC)


def in_interval(workspace_id: int, lo: datetime, hi: datetime, channel_ids: tuple[int, ...] | None) -> Any:
    where = and_(Message.workspace_id == workspace_id, Message.created_at >= lo, Message.created_at < hi)
    return where if channel_ids is None else and_(where, Message.channel_id.in_(channel_ids or (-1,)))


def hourly_volume(s: Session, workspace_id: int, lo: datetime, hi: datetime,
                  channel_ids: tuple[int, ...] | None = None) -> Select[Any]:
    """(channel_id, day, hour, inbound, outbound) of the messages created in [lo, hi)."""
    day, hour = utc_day(s, Message.created_at), utc_hour(s, Message.created_at)
    return (select(Message.channel_id.label("channel_id"), day.label("day"), hour.label("hour"),
                   func.sum(case((Message.direction == "in", 1), else_=0)).label("inbound"),
                   func.sum(case((Message.direction == "out", 1), else_=0)).label("outbound"))
            .where(in_interval(workspace_id, lo, hi, channel_ids)).group_by(Message.channel_id, day, hour))


def conversation_days(s: Session, workspace_id: int, lo: datetime, hi: datetime,
                      channel_ids: tuple[int, ...] | None = None) -> Any:
    """Per (conversation, channel, UTC day) with messages in [lo, hi): ``wait_at`` = the day's first
    customer message if it lies in [lo, hi), ``first_out`` = the first agent reply at or after it (any
    time), ``bot_at`` = the day's first bot message if it lies in [lo, hi), ``contained`` = 1 when no agent
    wrote in the conversation that whole day. Only [lo, hi)'s own messages are grouped; the messages of
    the same days outside it are looked up (by conversation) only when lo or hi falls inside a day."""
    m = Message
    per_conv = (select(m.conversation_id.label("conversation_id"), m.channel_id.label("channel_id"),
                       func.min(case((m.direction == "in", m.created_at))).label("first_in"),
                       func.min(case((m.author_type == "bot", m.created_at))).label("first_bot"),
                       func.sum(case((m.author_type == "agent", 1), else_=0)).label("agents"))
                .where(in_interval(workspace_id, lo, hi, channel_ids))
                .group_by(m.conversation_id, m.channel_id, utc_day(s, m.created_at)).subquery())
    other = aliased(Message)

    def earlier_that_day(*match: Any) -> Any:
        """A message of the same conversation on lo's day before lo (only rows of lo's day ask)."""
        return exists(select(literal(1)).where(other.conversation_id == per_conv.c.conversation_id, *match,
                                               other.created_at >= midnight_before(lo), other.created_at < lo))

    wait_at: Any = per_conv.c.first_in
    bot_at: Any = per_conv.c.first_bot
    no_agent: Any = per_conv.c.agents == 0
    lo_day_end = midnight_before(lo) + timedelta(days=1)
    if lo > midnight_before(lo):
        wait_at = case((and_(per_conv.c.first_in < lo_day_end, earlier_that_day(other.direction == "in")), None),
                       else_=per_conv.c.first_in)
        bot_at = case((and_(per_conv.c.first_bot < lo_day_end, earlier_that_day(other.author_type == "bot")), None),
                      else_=per_conv.c.first_bot)
        agent_before = earlier_that_day(other.author_type == "agent")
        no_agent = and_(no_agent, ~and_(per_conv.c.first_bot < lo_day_end, agent_before))
    if hi > midnight_before(hi):
        later_agent = exists(select(literal(1)).where(
            other.conversation_id == per_conv.c.conversation_id, other.author_type == "agent",
            other.created_at >= hi, other.created_at < midnight_before(hi) + timedelta(days=1)))
        no_agent = and_(no_agent, ~and_(per_conv.c.first_bot >= midnight_before(hi), later_agent))
    # OFFSET 0: the looks at the rest of the day run once per row, not once per use of each column.
    flagged = (select(per_conv.c.conversation_id, per_conv.c.channel_id, wait_at.label("wait_at"),
                      bot_at.label("bot_at"), case((no_agent, 1), else_=0).label("contained"))
               .offset(0).subquery())
    reply = aliased(Message)
    first_out = (select(func.min(reply.created_at))
                 .where(reply.conversation_id == flagged.c.conversation_id, reply.direction == "out",
                        reply.author_type == "agent", reply.created_at >= flagged.c.wait_at)
                 .scalar_subquery())
    # A CTE, computed once although hourly_totals reads it twice (waits, bots); OFFSET 0 keeps PostgreSQL
    # from inlining it, which would run the reply lookup once per use of first_out.
    return (select(flagged, case((flagged.c.wait_at.is_not(None), first_out)).label("first_out"))
            .offset(0).cte())


def hourly_totals(s: Session, workspace_id: int, lo: datetime, hi: datetime,
                  channel_ids: tuple[int, ...] | None = None) -> Select[Any]:
    """(channel_id, day, hour, *TOTALS) over [lo, hi): what ``analytics_channel_hours`` holds per hour."""
    vol = hourly_volume(s, workspace_id, lo, hi, channel_ids).subquery()
    w = conversation_days(s, workspace_id, lo, hi, channel_ids)

    def row(channel: Any, day: Any, hour: Any, **values: Any) -> list[Any]:
        """The union's columns, named, with 0 for the figures a part does not count."""
        return [channel.label("channel_id"), day.label("day"), hour.label("hour"),
                *(values.get(name, literal(0.0 if name == "response_seconds" else 0)).label(name)
                  for name in TOTALS)]

    volume = select(*row(vol.c.channel_id, vol.c.day, vol.c.hour, inbound=vol.c.inbound, outbound=vol.c.outbound))
    wait_day, wait_hour = utc_day(s, w.c.wait_at), utc_hour(s, w.c.wait_at)
    waits = (select(*row(w.c.channel_id, wait_day, wait_hour, waiting=func.count(), answered=func.count(w.c.first_out),
                         response_seconds=func.coalesce(func.sum(seconds_between(s, w.c.first_out, w.c.wait_at)),
                                                        0.0)))
             .where(w.c.wait_at.is_not(None)).group_by(w.c.channel_id, wait_day, wait_hour))
    bot_day, bot_hour = utc_day(s, w.c.bot_at), utc_hour(s, w.c.bot_at)
    bots = (select(*row(w.c.channel_id, bot_day, bot_hour, bot_conversations=func.count(),
                        bot_contained=func.sum(w.c.contained)))
            .where(w.c.bot_at.is_not(None)).group_by(w.c.channel_id, bot_day, bot_hour))
    u = union_all(volume, waits, bots).subquery()
    return (select(u.c.channel_id, u.c.day, u.c.hour, *(func.sum(u.c[name]).label(name) for name in TOTALS))
            .group_by(u.c.channel_id, u.c.day, u.c.hour))


def hourly_statuses(s: Session, workspace_id: int, lo: datetime, hi: datetime,
                    channel_ids: tuple[int, ...] | None = None) -> Select[Any]:
    """(channel_id, day, hour, status, reason, n): outbound messages created in [lo, hi) per counted
    status (the reason only for failures, '' when unknown)."""
    reason = case((Message.status == "failed", func.coalesce(Message.failure_reason, "")))
    day, hour = utc_day(s, Message.created_at), utc_hour(s, Message.created_at)
    return (select(Message.channel_id.label("channel_id"), day.label("day"), hour.label("hour"),
                   Message.status.label("status"), reason.label("reason"), func.count().label("n"))
            .where(in_interval(workspace_id, lo, hi, channel_ids), Message.direction == "out",
                   Message.status.in_(COUNTED_STATUSES))
            .group_by(Message.channel_id, day, hour, Message.status, reason))
