"""Who wrote in a time range, per channel, counted exactly from the rollups (services/rollups.py explains
the tables) plus the messages of the days not rolled up yet: distinct active contacts, new ones (first
message ever on that channel in the range) and distinct contacts per UTC day.

A range [lo, hi) inside the rolled days is read as: the left edge day L (when lo falls inside a day) from
its contact rows with a message at or after lo (``last_at``), the whole days [a, b) from the per-day
counts by previous day, the right edge day R (when hi falls inside a day) from its contact rows with a
message before hi (``first_at``). A contact is counted on the first of those it appears in: in [a, b)
only on its first day there (previous day before a); on L only if its next day is not in [a, b); on R
only if it wrote neither in [a, b) nor on L at or after lo. A range within one day (not the whole day)
cannot be told from first/last messages and is read from the messages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from crocevia.services import analytics_sql as sql
from crocevia.storage.tables import AnalyticsActiveDay, AnalyticsContactDay, Conversation, Message

Counts = dict[int, list[int]]  # channel_id -> [active, new]


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def spans(since: datetime, until: datetime, done: date | None) -> tuple[tuple[datetime, datetime] | None,
                                                                         tuple[datetime, datetime] | None]:
    """(the span read from the contact rollups, the rest read from the messages) of [since, until)."""
    end = min(until, _midnight(done)) if done is not None else since
    if end <= since:
        return None, (since, until)
    day = since.astimezone(UTC).date()
    within_a_day = end <= _midnight(day + timedelta(days=1))
    if within_a_day and not (since == _midnight(day) and end == _midnight(day + timedelta(days=1))):
        return None, (since, until)
    return (since, end), ((end, until) if until > end else None)


def _edges(lo: datetime, hi: datetime) -> tuple[date | None, date, date, date | None]:
    """(L, a, b, R): the partial left day (or None), whole days [a, b), the partial right day (or None)."""
    left = lo.astimezone(UTC).date()
    right = hi.astimezone(UTC).date()
    partial_left = lo > _midnight(left)
    return (left if partial_left else None, left + timedelta(days=1) if partial_left else left, right,
            right if hi > _midnight(right) else None)


def _add(out: Counts, rows: Any) -> None:
    for channel_id, active, new in rows:
        into = out.setdefault(int(channel_id), [0, 0])
        into[0] += int(active or 0)
        into[1] += int(new or 0)


def _rolled(s: Session, workspace_id: int, ids: tuple[int, ...], lo: datetime, hi: datetime, out: Counts) -> None:
    ad, cd = AnalyticsActiveDay, AnalyticsContactDay
    left, a, b, right = _edges(lo, hi)
    if a < b:
        _add(out, s.execute(
            select(ad.channel_id, func.sum(ad.contacts), func.sum(case((ad.prev_day.is_(None), ad.contacts), else_=0)))
            .where(ad.workspace_id == workspace_id, ad.channel_id.in_(ids), ad.day >= a, ad.day < b,
                   or_(ad.prev_day.is_(None), ad.prev_day < a))
            .group_by(ad.channel_id)))
    if left is not None:
        _add(out, s.execute(
            select(cd.channel_id, func.sum(case((or_(cd.next_day.is_(None), cd.next_day >= b), 1), else_=0)),
                   func.sum(case((and_(cd.prev_day.is_(None), cd.first_at >= lo), 1), else_=0)))
            .where(cd.workspace_id == workspace_id, cd.channel_id.in_(ids), cd.day == left, cd.last_at >= lo)
            .group_by(cd.channel_id)))
    if right is not None:
        q = select(cd.channel_id, func.count(), func.sum(case((cd.prev_day.is_(None), 1), else_=0)))
        if left is None:
            unseen: Any = or_(cd.prev_day.is_(None), cd.prev_day < a)
        else:
            on_left = aliased(AnalyticsContactDay)
            q = q.outerjoin(on_left, and_(on_left.workspace_id == workspace_id, on_left.day == left,
                                          on_left.channel_id == cd.channel_id, on_left.contact_id == cd.contact_id))
            unseen = or_(cd.prev_day.is_(None), cd.prev_day < left,
                         and_(cd.prev_day == left, on_left.last_at < lo))
        _add(out, s.execute(q.where(cd.workspace_id == workspace_id, cd.channel_id.in_(ids), cd.day == right,
                                    cd.first_at < hi, unseen).group_by(cd.channel_id)))


def _live_pairs(workspace_id: int, ids: tuple[int, ...], lo: datetime, hi: datetime) -> Any:
    return (select(Message.channel_id.label("channel_id"), Conversation.contact_id.label("contact_id"))
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(sql.in_interval(workspace_id, lo, hi, ids), Message.direction == "in")
            .group_by(Message.channel_id, Conversation.contact_id).subquery())


def _contact_day(workspace_id: int, pairs: Any, *where: Any) -> Any:
    cd = aliased(AnalyticsContactDay)
    return exists(select(literal(1)).where(cd.channel_id == pairs.c.channel_id, cd.contact_id == pairs.c.contact_id,
                                           cd.workspace_id == workspace_id, *(w(cd) for w in where)))


def _live_after(s: Session, workspace_id: int, ids: tuple[int, ...], rest: tuple[datetime, datetime],
                lo: datetime, out: Counts) -> None:
    """Contacts who wrote in ``rest`` (from the watermark on) and not in the rolled part [lo, rest[0])."""
    pairs = _live_pairs(workspace_id, ids, *rest)
    done = rest[0].astimezone(UTC).date()
    left, a, _, _ = _edges(lo, rest[0])
    seen = _contact_day(workspace_id, pairs, lambda cd: cd.day >= a, lambda cd: cd.day < done)
    if left is not None:
        seen = or_(seen, _contact_day(workspace_id, pairs, lambda cd: cd.day == left, lambda cd: cd.last_at >= lo))
    ever = _contact_day(workspace_id, pairs, lambda cd: cd.day < done)
    _add(out, s.execute(select(pairs.c.channel_id, func.sum(case((seen, 0), else_=1)),
                               func.sum(case((ever, 0), else_=1))).group_by(pairs.c.channel_id)))


def _all_live(s: Session, workspace_id: int, ids: tuple[int, ...], since: datetime, until: datetime,
              done: date | None, out: Counts) -> None:
    """Every contact from the messages; "before the range" from the rollups where they exist."""
    pairs = _live_pairs(workspace_id, ids, since, until)
    earlier_conv, earlier_msg = aliased(Conversation), aliased(Message)
    live_before = (select(literal(1)).select_from(earlier_conv)
                   .join(earlier_msg, earlier_msg.conversation_id == earlier_conv.id)
                   .where(earlier_conv.channel_id == pairs.c.channel_id, earlier_conv.contact_id == pairs.c.contact_id,
                          earlier_msg.direction == "in", earlier_msg.created_at < since))
    before: Any = live_before.exists()
    if done is not None:
        # Days before min(the range's first day, the watermark) are rolled; the rest is read live.
        cut = min(since.astimezone(UTC).date(), done)
        before = or_(_contact_day(workspace_id, pairs, lambda cd: cd.day < cut),
                     live_before.where(earlier_msg.created_at >= _midnight(cut)).exists())
    _add(out, s.execute(select(pairs.c.channel_id, func.count(), func.sum(case((before, 0), else_=1)))
                        .group_by(pairs.c.channel_id)))


def active_contacts(s: Session, workspace_id: int, ids: tuple[int, ...], since: datetime, until: datetime,
                    done: date | None) -> Counts:
    """Per channel: [contacts who wrote in [since, until), of them new on that channel]."""
    out: Counts = {}
    rolled, rest = spans(since, until, done)
    if rolled is None:
        _all_live(s, workspace_id, ids, since, until, done, out)
        return out
    _rolled(s, workspace_id, ids, *rolled, out)
    if rest is not None:
        _live_after(s, workspace_id, ids, rest, rolled[0], out)
    return out


def active_per_day(s: Session, workspace_id: int, ids: tuple[int, ...], since: datetime, until: datetime,
                   done: date | None) -> dict[tuple[str, int], int]:
    """Distinct contacts who wrote per (UTC day, channel) within [since, until)."""
    out: dict[tuple[str, int], int] = {}
    rolled, rest = spans(since, until, done)
    if rolled is not None:
        ad, cd = AnalyticsActiveDay, AnalyticsContactDay
        left, a, b, right = _edges(*rolled)
        rows = list(s.execute(select(ad.day, ad.channel_id, func.sum(ad.contacts))
                              .where(ad.workspace_id == workspace_id, ad.channel_id.in_(ids), ad.day >= a,
                                     ad.day < b).group_by(ad.day, ad.channel_id)))
        for edge_day, edge in ((left, cd.last_at >= rolled[0]), (right, cd.first_at < rolled[1])):
            if edge_day is not None:
                rows += s.execute(select(cd.day, cd.channel_id, func.count())
                                  .where(cd.workspace_id == workspace_id, cd.channel_id.in_(ids), cd.day == edge_day,
                                         edge)
                                  .group_by(cd.day, cd.channel_id))
        for day, channel_id, n in rows:
            out[(str(day)[:10], int(channel_id))] = int(n)
    if rest is not None:
        utc_day = sql.utc_day(s, Message.created_at)
        for d, channel_id, n in s.execute(
                select(utc_day, Message.channel_id, func.count(func.distinct(Conversation.contact_id)))
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(sql.in_interval(workspace_id, *rest, ids), Message.direction == "in")
                .group_by(utc_day, Message.channel_id)):
            out[(str(d)[:10], int(channel_id))] = int(n)
    return out
