"""Numbers per channel for the dashboards and the API: message volume, delivery, first response and
resolution times, bot containment, and the workspace's own active audience (DAU/MAU, new vs returning,
reachable). Everything is a SQL aggregate that runs the same on SQLite and PostgreSQL, read from the
rollups (services/rollups.py) where they exist and from the messages for the rest.

Days are UTC days. Only channels the actor may see are counted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from crocevia.domain.enums import ConsentStatus
from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import analytics_sql as sql
from crocevia.services import audience_counts, rollups
from crocevia.services.actor import Actor
from crocevia.services.channels import get_channel, list_channels
from crocevia.storage.tables import (
    AnalyticsChannelHour,
    AnalyticsPendingWait,
    AnalyticsRollupState,
    AnalyticsStatusHour,
    Booking,
    Channel,
    ContactConsent,
    ContactIdentity,
    Conversation,
    ConversationResolution,
    Message,
    Order,
    SurveyResponse,
)

MAX_SPAN = timedelta(days=366)
DEFAULT_SPAN = timedelta(days=30)
MAU_WINDOW = timedelta(days=30)
DELIVERED = ("delivered", "read")


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    channel_ids: tuple[int, ...]  # the channels counted (visible to the actor, after the filter)


def period(rt: Runtime, actor: Actor, *, since: datetime | None, until: datetime | None,
           channel_id: int | None = None) -> Period:
    """Validate a date range (default: the last 30 days) and the channels it covers."""
    if until is None:
        # The end of today (UTC): the default range is the same all day long, and includes today.
        today = rt.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        until = today + timedelta(days=1)
    since = since or until - DEFAULT_SPAN
    if since >= until:
        raise ValidationFailed("'since' must be before 'until'", field="since")
    if until - since > MAX_SPAN:
        raise ValidationFailed(f"a range may span at most {MAX_SPAN.days} days", field="since")
    if channel_id is not None:
        ids: tuple[int, ...] = (get_channel(rt, actor, channel_id).id,)
    else:
        ids = tuple(c.id for c in list_channels(rt, actor))
    return Period(since, until, ids)


@contextmanager
def _read(rt: Runtime) -> Iterator[Session]:
    with rt.db.read() as s:
        # Rollups, their watermark and the live rest from one snapshot (rollups.py explains why).
        rollups.repeatable_read(s)
        if rt.db.is_postgres:
            # These aggregates look expensive to the planner (correlated subqueries) but run in tens of
            # milliseconds; PostgreSQL's JIT would spend ~0.7 s compiling them first. Local to this read.
            s.execute(text("SET LOCAL jit = off"))
        yield s


@dataclass(frozen=True)
class _Split:
    """A time range cut into whole UTC hours read from the hourly rollups and the rest read live."""

    hours: tuple[datetime, datetime] | None  # [from, to), both whole hours, from the rollups
    live: tuple[tuple[datetime, datetime], ...]  # [from, to) intervals from the messages


def _utc(dt: datetime) -> datetime:
    """A bare datetime (an API parameter without offset) is taken as UTC."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _split(s: Session, workspace_id: int, since: datetime, until: datetime) -> _Split:
    """Whole hours of rolled days from the rollups; a partial hour at each edge and the days after the
    watermark from the messages."""
    since, until = _utc(since), _utc(until)
    done = rollups.rolled_until(s, workspace_id)
    end = min(until, rollups.day_start(done)) if done is not None else since
    first = since.replace(minute=0, second=0, microsecond=0)
    if first < since:
        first += timedelta(hours=1)
    last = end.replace(minute=0, second=0, microsecond=0)
    if first >= last:
        return _Split(None, ((since, until),))
    edges = ((since, first), (last, until))
    return _Split((first, last), tuple(iv for iv in edges if iv[0] < iv[1]))


def _in_hours(t: type[AnalyticsChannelHour] | type[AnalyticsStatusHour], lo: datetime, hi: datetime) -> Any:
    """Rows of the hours [lo, hi) (both whole UTC hours)."""
    first, last = lo.date(), hi.date()
    return and_(t.day >= first, t.day <= last, or_(t.day > first, t.hour >= lo.hour),
                or_(t.day < last, t.hour < hi.hour))


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def channel_performance(rt: Runtime, actor: Actor, p: Period) -> list[dict[str, Any]]:
    """One row per channel: volume in/out, delivery/read/failure rates, first response, resolution, bots.

    Whole UTC hours of rolled days come from the hourly rollups, the rest (a partial hour at each edge,
    days not rolled up yet) from the messages, by the same selects (analytics_sql.py):
    - statuses of the messages sent in the range, as they are now;
    - customer waits: per conversation and UTC day, the day's first customer message if it is in the
      range, and the first agent reply at or after it (at any time; bots are measured by containment);
    - bot containment: per conversation and UTC day whose first bot message is in the range, whether no
      agent wrote in it that whole day.
    Each wait and bot conversation lands in one hour, so a range cut in two counts it once.
    """
    with _read(rt) as s:
        ids = p.channel_ids or (-1,)
        channels = {c.id: c for c in s.scalars(select(Channel).where(Channel.id.in_(ids)))}
        split = _split(s, actor.workspace_id, p.since, p.until)
        sums: dict[int, dict[str, float]] = {}
        statuses: dict[tuple[int, str, str | None], int] = {}
        for lo, hi in split.live:
            _live_performance(s, actor.workspace_id, lo, hi, p.channel_ids, sums, statuses)
        if split.hours is not None:
            _rolled_performance(s, actor.workspace_id, split.hours, ids, sums, statuses)
        resolution = {r.channel_id: r for r in s.execute(
            select(ConversationResolution.channel_id, func.count().label("n"),
                   func.avg(ConversationResolution.seconds).label("avg"))
            .where(ConversationResolution.workspace_id == actor.workspace_id,
                   ConversationResolution.channel_id.in_(ids),
                   ConversationResolution.resolved_at >= p.since, ConversationResolution.resolved_at < p.until)
            .group_by(ConversationResolution.channel_id))}

    rows = []
    for cid in p.channel_ids:
        c = channels.get(cid)
        if c is None:
            continue
        v = sums.get(cid, {})
        n_in, out = int(v.get("inbound", 0)), int(v.get("outbound", 0))
        delivered = sum(n for (ch, st, _), n in statuses.items() if ch == cid and st in DELIVERED)
        read = sum(n for (ch, st, _), n in statuses.items() if ch == cid and st == "read")
        by_reason: dict[str, int] = {}
        for (ch, st, r), n in statuses.items():
            if ch == cid and st == "failed" and n:
                by_reason[r or "unknown"] = by_reason.get(r or "unknown", 0) + n
        failed = sum(by_reason.values())
        reasons = [{"reason": r, "count": n} for r, n in sorted(by_reason.items(), key=lambda x: (-x[1], x[0]))]
        waiting, answered = int(v.get("waiting", 0)), int(v.get("answered", 0))
        with_bot, contained = int(v.get("bot_conversations", 0)), int(v.get("bot_contained", 0))
        rs = resolution.get(cid)
        rows.append({
            "channel_id": cid, "channel_name": c.name, "kind": c.kind,
            "inbound": n_in, "outbound": out, "delivered": delivered, "read": read, "failed": failed,
            "delivery_rate_pct": _pct(delivered, out) if out else None,
            "read_rate_pct": _pct(read, out) if out else None,
            "failure_rate_pct": _pct(failed, out) if out else None,
            "failures_by_reason": reasons,
            "conversations_waiting": waiting, "conversations_answered": answered,
            "first_response_avg_seconds": round(v["response_seconds"] / answered, 1) if answered else None,
            "resolved": int(rs.n) if rs else 0,
            "resolution_avg_seconds": round(float(rs.avg), 1) if rs and rs.avg is not None else None,
            "bot_conversations": with_bot, "bot_contained": contained,
            "bot_containment_pct": _pct(contained, with_bot) if with_bot else None,
        })
    return rows


def _add(sums: dict[int, dict[str, float]], channel_id: int, **values: Any) -> None:
    into = sums.setdefault(channel_id, {})
    for k, v in values.items():
        into[k] = into.get(k, 0) + float(v or 0)


def _live_performance(s: Session, workspace_id: int, lo: datetime, hi: datetime, ids: tuple[int, ...],
                      sums: dict[int, dict[str, float]], statuses: dict[tuple[int, str, str | None], int]) -> None:
    # The very selects the rollup stores per hour (analytics_sql), summed here.
    for r in s.execute(sql.hourly_totals(s, workspace_id, lo, hi, ids)):
        _add(sums, r.channel_id, **{name: r._mapping[name] for name in sql.TOTALS})
    for r in s.execute(sql.hourly_statuses(s, workspace_id, lo, hi, ids)):
        statuses[(r.channel_id, r.status, r.reason)] = statuses.get((r.channel_id, r.status, r.reason), 0) + int(r.n)


def _rolled_performance(s: Session, workspace_id: int, hours: tuple[datetime, datetime], ids: tuple[int, ...],
                        sums: dict[int, dict[str, float]], statuses: dict[tuple[int, str, str | None], int]) -> None:
    ch, sh, pw = AnalyticsChannelHour, AnalyticsStatusHour, AnalyticsPendingWait
    for r in s.execute(select(ch.channel_id, *(func.sum(getattr(ch, name)).label(name) for name in sql.TOTALS))
                       .where(ch.workspace_id == workspace_id, ch.channel_id.in_(ids), _in_hours(ch, *hours))
                       .group_by(ch.channel_id)):
        _add(sums, r.channel_id, **{name: r._mapping[name] for name in sql.TOTALS})
    # The rollup's counts plus the trigger's -1/+1 rows for later status changes.
    for cid, status, why, n in s.execute(
            select(sh.channel_id, sh.status, sh.reason, func.sum(sh.n))
            .where(sh.workspace_id == workspace_id, sh.channel_id.in_(ids), _in_hours(sh, *hours))
            .group_by(sh.channel_id, sh.status, sh.reason)):
        statuses[(cid, status, why)] = statuses.get((cid, status, why), 0) + int(n)
    # Waits still pending at the last rollup run: their first agent reply, if one came since. Replies
    # before the last run (less GRACE) were settled by it, so only the recent messages are joined.
    checked = s.scalar(select(AnalyticsRollupState.waits_checked_at)
                       .where(AnalyticsRollupState.workspace_id == workspace_id))
    reply = aliased(Message)
    on = [reply.conversation_id == pw.conversation_id, reply.workspace_id == workspace_id,
          reply.direction == "out", reply.author_type == "agent", reply.created_at >= pw.first_in]
    where = [pw.workspace_id == workspace_id, pw.channel_id.in_(ids), pw.day >= hours[0].date(),
             pw.day <= hours[1].date(), pw.first_in >= hours[0], pw.first_in < hours[1]]
    if checked is not None:
        on.append(reply.created_at >= checked - rollups.GRACE)
        # Only the conversations with such a recent reply: PostgreSQL then looks their pending waits up by
        # conversation instead of hashing every pending wait of the range (10M: 22 -> 3 ms).
        recent = aliased(Message)
        where.append(pw.conversation_id.in_(
            select(recent.conversation_id).where(recent.workspace_id == workspace_id, recent.direction == "out",
                                                 recent.author_type == "agent",
                                                 recent.created_at >= checked - rollups.GRACE)))
    first = (select(pw.channel_id, pw.first_in, func.min(reply.created_at).label("first_out"))
             .join(reply, and_(*on)).where(*where)
             .group_by(pw.id, pw.channel_id, pw.first_in).subquery())
    waited = sql.seconds_between(s, first.c.first_out, first.c.first_in)
    for r in s.execute(select(first.c.channel_id, func.count().label("n"), func.sum(waited).label("seconds"))
                       .group_by(first.c.channel_id)):
        _add(sums, r.channel_id, answered=r.n, response_seconds=r.seconds)


def daily_volume(rt: Runtime, actor: Actor, p: Period) -> list[dict[str, Any]]:
    """Per UTC day and channel: messages in and out, and distinct contacts who wrote (DAU)."""
    ids = p.channel_ids or (-1,)
    with _read(rt) as s:
        split = _split(s, actor.workspace_id, p.since, p.until)
        volume: dict[tuple[str, int], list[int]] = {}

        def add(rows: Any) -> None:
            for day, channel_id, n_in, n_out in rows:
                v = volume.setdefault((str(day)[:10], int(channel_id)), [0, 0])
                v[0] += int(n_in)
                v[1] += int(n_out)

        for lo, hi in split.live:
            hourly = sql.hourly_volume(s, actor.workspace_id, lo, hi, ids).subquery()
            add(s.execute(select(hourly.c.day, hourly.c.channel_id, func.sum(hourly.c.inbound),
                                 func.sum(hourly.c.outbound)).group_by(hourly.c.day, hourly.c.channel_id)))
        if split.hours is not None:
            ch = AnalyticsChannelHour
            add(s.execute(select(ch.day, ch.channel_id, func.sum(ch.inbound), func.sum(ch.outbound))
                          .where(ch.workspace_id == actor.workspace_id, ch.channel_id.in_(ids),
                                 _in_hours(ch, *split.hours))
                          .group_by(ch.day, ch.channel_id)))
        active = audience_counts.active_per_day(s, actor.workspace_id, ids, _utc(p.since), _utc(p.until),
                                                rollups.rolled_until(s, actor.workspace_id))
    return [{"day": day, "channel_id": cid, "inbound": n_in, "outbound": n_out,
             "active_contacts": active.get((day, cid), 0)}
            for (day, cid), (n_in, n_out) in sorted(volume.items())]


def audience(rt: Runtime, actor: Actor, p: Period) -> list[dict[str, Any]]:
    """Per channel: contacts who wrote in the range (new = first message ever on that channel falls in the
    range, else returning), monthly actives (30 days up to 'until'), known and consented contacts."""
    with _read(rt) as s:
        ids = p.channel_ids or (-1,)
        # Who wrote in the range and in the 30 days up to 'until' (services/audience_counts.py).
        done = rollups.rolled_until(s, actor.workspace_id)
        since, until = _utc(p.since), _utc(p.until)
        active = audience_counts.active_contacts(s, actor.workspace_id, ids, since, until, done)
        mau = audience_counts.active_contacts(s, actor.workspace_id, ids, until - MAU_WINDOW, until, done)
        known = dict(s.execute(
            select(ContactIdentity.channel_id, func.count(func.distinct(ContactIdentity.contact_id)))
            .where(ContactIdentity.workspace_id == actor.workspace_id, ContactIdentity.channel_id.in_(ids))
            .group_by(ContactIdentity.channel_id)).all())
        consent = {(r.channel_id, r.status): r.n for r in s.execute(
            select(ContactConsent.channel_id, ContactConsent.status, func.count().label("n"))
            .where(ContactConsent.workspace_id == actor.workspace_id, ContactConsent.channel_id.in_(ids))
            .group_by(ContactConsent.channel_id, ContactConsent.status))}
        channels = {c.id: c for c in s.scalars(select(Channel).where(Channel.id.in_(ids)))}
    rows = []
    for cid in p.channel_ids:
        c = channels.get(cid)
        if c is None:
            continue
        n_active, n_new = active.get(cid, (0, 0))
        rows.append({"channel_id": cid, "channel_name": c.name, "kind": c.kind, "active_contacts": n_active,
                     "new_contacts": n_new, "returning_contacts": n_active - n_new,
                     "monthly_active_contacts": mau.get(cid, [0])[0], "known_contacts": int(known.get(cid, 0)),
                     "opted_in": int(consent.get((cid, ConsentStatus.OPTED_IN.value), 0)),
                     "opted_out": int(consent.get((cid, ConsentStatus.OPTED_OUT.value), 0))})
    return rows


def outcomes(rt: Runtime, actor: Actor, p: Period) -> list[dict[str, Any]]:
    """Per channel: CSAT (share of 4-5 answers) and NPS (% promoters 9-10 minus % detractors 0-6) answered
    in the range, bookings made in chat (not cancelled) and revenue of orders paid in the range."""
    ids = p.channel_ids or (-1,)
    with _read(rt) as s:
        surveys = {(r.channel_id, r.kind): r for r in s.execute(
            select(SurveyResponse.channel_id, SurveyResponse.kind, func.count().label("n"),
                   func.sum(case((SurveyResponse.score >= 9, 1), else_=0)).label("high9"),
                   func.sum(case((SurveyResponse.score >= 4, 1), else_=0)).label("high4"),
                   func.sum(case((SurveyResponse.score <= 6, 1), else_=0)).label("low6"))
            .where(SurveyResponse.workspace_id == actor.workspace_id, SurveyResponse.channel_id.in_(ids),
                   SurveyResponse.score.is_not(None), SurveyResponse.answered_at >= p.since,
                   SurveyResponse.answered_at < p.until)
            .group_by(SurveyResponse.channel_id, SurveyResponse.kind))}
        bookings = dict(s.execute(
            select(Conversation.channel_id, func.count()).select_from(Booking)
            .join(Conversation, Conversation.id == Booking.conversation_id)
            .where(Booking.workspace_id == actor.workspace_id, Conversation.channel_id.in_(ids),
                   Booking.status != "cancelled", Booking.created_at >= p.since, Booking.created_at < p.until)
            .group_by(Conversation.channel_id)).all())
        revenue: dict[int, list[dict[str, Any]]] = {}
        for r in s.execute(
                select(Conversation.channel_id, Order.currency, func.count().label("n"),
                       func.sum(Order.total_minor).label("total")).select_from(Order)
                .join(Conversation, Conversation.id == Order.conversation_id)
                .where(Order.workspace_id == actor.workspace_id, Conversation.channel_id.in_(ids),
                       Order.status == "paid", Order.paid_at >= p.since, Order.paid_at < p.until)
                .group_by(Conversation.channel_id, Order.currency).order_by(Order.currency)):
            revenue.setdefault(r.channel_id, []).append({"currency": r.currency, "orders": int(r.n),
                                                         "total_minor": int(r.total)})
        channels = {c.id: c for c in s.scalars(select(Channel).where(Channel.id.in_(ids)))}
    rows = []
    for cid in p.channel_ids:
        c = channels.get(cid)
        if c is None:
            continue
        csat, nps = surveys.get((cid, "csat")), surveys.get((cid, "nps"))
        nps_score = None
        if nps is not None and nps.n:
            nps_score = round(100.0 * (int(nps.high9) - int(nps.low6)) / int(nps.n), 1)
        rows.append({"channel_id": cid, "channel_name": c.name, "kind": c.kind,
                     "csat_answers": int(csat.n) if csat else 0,
                     "csat_pct": _pct(int(csat.high4), int(csat.n)) if csat else None,
                     "nps_answers": int(nps.n) if nps else 0, "nps": nps_score,
                     "bookings": int(bookings.get(cid, 0)),
                     "paid_orders": sum(x["orders"] for x in revenue.get(cid, [])),
                     "revenue": revenue.get(cid, [])})
    return rows


def dashboard(rt: Runtime, actor: Actor, p: Period) -> dict[str, Any]:
    rollups.ensure_scheduled(rt, actor.workspace_id)  # a workspace whose numbers are looked at gets rollups
    return {"since": p.since.isoformat(), "until": p.until.isoformat(), "channel_ids": list(p.channel_ids),
            "channels": channel_performance(rt, actor, p), "audience": audience(rt, actor, p),
            "outcomes": outcomes(rt, actor, p), "daily": daily_volume(rt, actor, p)}


CSV_TABLES = ("channels", "audience", "outcomes", "daily")


def dashboard_csv(rt: Runtime, actor: Actor, p: Period, table: str) -> Iterator[str]:
    if table not in CSV_TABLES:
        raise ValidationFailed(f"table must be one of {', '.join(CSV_TABLES)}", field="table")
    rows = {"channels": channel_performance, "audience": audience, "outcomes": outcomes,
            "daily": daily_volume}[table](rt, actor, p)
    buf = io.StringIO()
    if not rows:
        yield ""
        return
    columns = [k for k in rows[0] if k != "failures_by_reason"]
    for r in rows:
        if "revenue" in r:  # one cell: "EUR 35.00; USD 3.00"
            r["revenue"] = "; ".join(f"{x['currency']} {x['total_minor'] / 100:.2f}" for x in r["revenue"])
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        # Channel names are typed by admins but could start with '=': keep spreadsheets from running them.
        writer.writerow({k: (f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v)
                         for k, v in r.items()})
    yield buf.getvalue()


# -- resolution bookkeeping ---------------------------------------------------------------------------
def record_resolution(s: Session, conv: Conversation, now: datetime) -> None:
    """Called when a conversation becomes resolved: its open spell began at the first customer message
    after the previous resolution (or at its creation)."""
    previous = s.scalar(select(func.max(ConversationResolution.resolved_at))
                        .where(ConversationResolution.conversation_id == conv.id))
    q = select(func.min(Message.created_at)).where(Message.conversation_id == conv.id, Message.direction == "in")
    if previous is not None:
        q = q.where(Message.created_at > previous)
    opened = s.scalar(q) or previous or conv.created_at
    if opened.tzinfo is None:  # a bare aggregate skips the column type on SQLite
        opened = opened.replace(tzinfo=now.tzinfo)
    seconds = max(0, int((now - opened).total_seconds()))
    s.add(ConversationResolution(workspace_id=conv.workspace_id, conversation_id=conv.id,
                                 channel_id=conv.channel_id, opened_at=opened, resolved_at=now, seconds=seconds))

