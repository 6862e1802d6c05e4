"""Numbers per channel for the dashboards and the API: message volume, delivery, first response and
resolution times, bot containment, and the workspace's own active audience (DAU/MAU, new vs returning,
reachable). Everything is a SQL aggregate that runs the same on SQLite and PostgreSQL.

Days are UTC days. Only channels the actor may see are counted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, literal, or_, select, text, union
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from crocevia.domain.enums import ConsentStatus
from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import rollups
from crocevia.services.actor import Actor
from crocevia.services.channels import get_channel, list_channels
from crocevia.storage.tables import (
    AnalyticsChannelDay,
    AnalyticsContactDay,
    AnalyticsPendingWait,
    AnalyticsRollupState,
    AnalyticsStatusDay,
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


def _day(s: Session, col: Any) -> ColumnElement[Any]:
    return rollups.utc_day(s, col)


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
    """A time range cut into whole UTC days read from the daily rollups and the rest read live."""

    rolled: tuple[date, date] | None  # [first day, end day) from the rollups
    live: tuple[tuple[datetime, datetime], ...]  # [from, to) intervals from the messages


def _utc_day(dt: datetime) -> date:
    """The UTC day of a moment; a bare datetime (an API parameter without offset) is taken as UTC."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).date()


def _split(s: Session, workspace_id: int, since: datetime, until: datetime) -> _Split:
    done = rollups.rolled_until(s, workspace_id)
    if done is None:
        return _Split(None, ((since, until),))
    since, until = (dt if dt.tzinfo else dt.replace(tzinfo=UTC) for dt in (since, until))
    first = _utc_day(since)
    if rollups.day_start(first) < since:
        first += timedelta(days=1)
    end = min(_utc_day(until), done)
    if first >= end:
        return _Split(None, ((since, until),))
    edges = ((since, rollups.day_start(first)), (rollups.day_start(end), until))
    return _Split((first, end), tuple(iv for iv in edges if iv[0] < iv[1]))


def _live(split: _Split, ids: tuple[int, ...]) -> Any:
    if not split.live:
        return false()
    return and_(Message.channel_id.in_(ids or (-1,)),
                or_(*(and_(Message.created_at >= lo, Message.created_at < hi) for lo, hi in split.live)))


def _active_pairs(s: Session, workspace_id: int, ids: tuple[int, ...], since: datetime, until: datetime) -> Any:
    """(channel_id, contact_id) of contacts who wrote in [since, until): rolled days plus the live rest."""
    split = _split(s, workspace_id, since, until)
    live = (select(Message.channel_id.label("channel_id"), Conversation.contact_id.label("contact_id"))
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.workspace_id == workspace_id, Message.direction == "in", _live(split, ids)))
    if split.rolled is None:
        return live.group_by(Message.channel_id, Conversation.contact_id).subquery()
    rolled = (select(AnalyticsContactDay.channel_id.label("channel_id"),
                     AnalyticsContactDay.contact_id.label("contact_id"))
              .where(AnalyticsContactDay.workspace_id == workspace_id, AnalyticsContactDay.channel_id.in_(ids or (-1,)),
                     AnalyticsContactDay.day >= split.rolled[0], AnalyticsContactDay.day < split.rolled[1]))
    return union(rolled, live).subquery()  # UNION: distinct pairs


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def channel_performance(rt: Runtime, actor: Actor, p: Period) -> list[dict[str, Any]]:
    """One row per channel: volume in/out, delivery/read/failure rates, first response, resolution, bots.

    Whole UTC days come from the daily rollups, the rest (partial days at the edges, days not rolled up
    yet) from the messages; both count the same things (see rollups.py):
    - statuses of the messages sent in the range, as they are now;
    - customer waits: per conversation and UTC day, its first customer message in the range, and the
      first agent reply at or after it (at any time; bots are measured by containment instead);
    - bot containment: per conversation and UTC day with a bot message, whether no agent wrote that day.
    """
    with _read(rt) as s:
        ids = p.channel_ids or (-1,)
        channels = {c.id: c for c in s.scalars(select(Channel).where(Channel.id.in_(ids)))}
        split = _split(s, actor.workspace_id, p.since, p.until)
        sums: dict[int, dict[str, float]] = {}
        statuses: dict[tuple[int, str, str | None], int] = {}
        _live_performance(s, actor.workspace_id, split, p.channel_ids, sums, statuses)
        if split.rolled is not None:
            _rolled_performance(s, actor.workspace_id, split.rolled, ids, sums, statuses)
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


def _live_performance(s: Session, workspace_id: int, split: _Split, ids: tuple[int, ...],
                      sums: dict[int, dict[str, float]], statuses: dict[tuple[int, str, str | None], int]) -> None:
    if not split.live:
        return
    where = and_(Message.workspace_id == workspace_id, _live(split, ids))
    w = rollups.waits_by_conversation_day(s, where)
    with_bot = w.c.bot > 0
    for r in s.execute(select(w.c.channel_id, func.sum(w.c.n_in).label("n_in"), func.sum(w.c.n_out).label("n_out"),
                              func.count(w.c.first_in).label("waiting"), func.count(w.c.first_out).label("answered"),
                              func.sum(rollups.seconds_between(s, w.c.first_out, w.c.first_in)).label("seconds"),
                              func.sum(case((with_bot, 1), else_=0)).label("bot"),
                              func.sum(case((and_(with_bot, w.c.agent == 0), 1), else_=0)).label("contained"))
                       .group_by(w.c.channel_id)):
        _add(sums, r.channel_id, inbound=r.n_in, outbound=r.n_out, waiting=r.waiting, answered=r.answered,
             response_seconds=r.seconds, bot_conversations=r.bot, bot_contained=r.contained)
    reason = case((Message.status == "failed", func.coalesce(Message.failure_reason, "")))
    for cid, status, why, n in s.execute(
            select(Message.channel_id, Message.status, reason, func.count())
            .where(where, Message.direction == "out", Message.status.in_(rollups.COUNTED_STATUSES))
            .group_by(Message.channel_id, Message.status, reason)):
        statuses[(cid, status, why)] = statuses.get((cid, status, why), 0) + int(n)


def _rolled_performance(s: Session, workspace_id: int, days: tuple[date, date], ids: tuple[int, ...],
                        sums: dict[int, dict[str, float]], statuses: dict[tuple[int, str, str | None], int]) -> None:
    cd, sd, pw = AnalyticsChannelDay, AnalyticsStatusDay, AnalyticsPendingWait
    for r in s.execute(select(cd.channel_id, func.sum(cd.inbound).label("n_in"), func.sum(cd.outbound).label("n_out"),
                              func.sum(cd.waiting).label("waiting"), func.sum(cd.answered).label("answered"),
                              func.sum(cd.response_seconds).label("seconds"),
                              func.sum(cd.bot_conversations).label("bot"),
                              func.sum(cd.bot_contained).label("contained"))
                       .where(cd.workspace_id == workspace_id, cd.channel_id.in_(ids), cd.day >= days[0],
                              cd.day < days[1])
                       .group_by(cd.channel_id)):
        _add(sums, r.channel_id, inbound=r.n_in, outbound=r.n_out, waiting=r.waiting, answered=r.answered,
             response_seconds=r.seconds, bot_conversations=r.bot, bot_contained=r.contained)
    # The rollup's counts plus the trigger's -1/+1 rows for later status changes.
    for cid, status, why, n in s.execute(
            select(sd.channel_id, sd.status, sd.reason, func.sum(sd.n))
            .where(sd.workspace_id == workspace_id, sd.channel_id.in_(ids), sd.day >= days[0], sd.day < days[1])
            .group_by(sd.channel_id, sd.status, sd.reason)):
        statuses[(cid, status, why)] = statuses.get((cid, status, why), 0) + int(n)
    # Waits still pending at the last rollup run: their first agent reply, if one came since. Replies
    # before the last run (less GRACE) were settled by it, so only the recent messages are joined.
    checked = s.scalar(select(AnalyticsRollupState.waits_checked_at)
                       .where(AnalyticsRollupState.workspace_id == workspace_id))
    reply = aliased(Message)
    on = [reply.conversation_id == pw.conversation_id, reply.workspace_id == workspace_id,
          reply.direction == "out", reply.author_type == "agent", reply.created_at >= pw.first_in]
    if checked is not None:
        on.append(reply.created_at >= checked - rollups.GRACE)
    first = (select(pw.channel_id, pw.first_in, func.min(reply.created_at).label("first_out"))
             .join(reply, and_(*on))
             .where(pw.workspace_id == workspace_id, pw.channel_id.in_(ids), pw.day >= days[0], pw.day < days[1])
             .group_by(pw.id, pw.channel_id, pw.first_in).subquery())
    waited = rollups.seconds_between(s, first.c.first_out, first.c.first_in)
    for r in s.execute(select(first.c.channel_id, func.count().label("n"), func.sum(waited).label("seconds"))
                       .group_by(first.c.channel_id)):
        _add(sums, r.channel_id, answered=r.n, response_seconds=r.seconds)


def daily_volume(rt: Runtime, actor: Actor, p: Period) -> list[dict[str, Any]]:
    """Per UTC day and channel: messages in and out, and distinct contacts who wrote (DAU)."""
    with _read(rt) as s:
        split = _split(s, actor.workspace_id, p.since, p.until)
        day = _day(s, Message.created_at).label("day")
        q = (select(day, Message.channel_id,
                    func.sum(case((Message.direction == "in", 1), else_=0)).label("inbound"),
                    func.sum(case((Message.direction == "out", 1), else_=0)).label("outbound"),
                    func.count(func.distinct(case((Message.direction == "in", Conversation.contact_id),
                                                  else_=literal(None)))).label("active"))
             .join(Conversation, Conversation.id == Message.conversation_id)
             .where(Message.workspace_id == actor.workspace_id, _live(split, p.channel_ids))
             .group_by(day, Message.channel_id))
        rows = [{"day": str(r.day)[:10], "channel_id": r.channel_id, "inbound": int(r.inbound),
                 "outbound": int(r.outbound), "active_contacts": int(r.active)} for r in s.execute(q)]
        if split.rolled is not None:
            ids, (first, end) = p.channel_ids or (-1,), split.rolled
            active = (select(AnalyticsContactDay.channel_id, AnalyticsContactDay.day, func.count().label("n"))
                      .where(AnalyticsContactDay.workspace_id == actor.workspace_id,
                             AnalyticsContactDay.channel_id.in_(ids), AnalyticsContactDay.day >= first,
                             AnalyticsContactDay.day < end)
                      .group_by(AnalyticsContactDay.channel_id, AnalyticsContactDay.day).subquery())
            cd = AnalyticsChannelDay
            rows += [{"day": str(r.day)[:10], "channel_id": r.channel_id, "inbound": int(r.inbound),
                      "outbound": int(r.outbound), "active_contacts": int(r.n or 0)} for r in s.execute(
                select(cd.day, cd.channel_id, cd.inbound, cd.outbound, active.c.n)
                .outerjoin(active, and_(active.c.channel_id == cd.channel_id, active.c.day == cd.day))
                .where(cd.workspace_id == actor.workspace_id, cd.channel_id.in_(ids), cd.day >= first,
                       cd.day < end))]
        return sorted(rows, key=lambda r: (r["day"], r["channel_id"]))


def audience(rt: Runtime, actor: Actor, p: Period) -> list[dict[str, Any]]:
    """Per channel: contacts who wrote in the range (new = first message ever on that channel falls in the
    range, else returning), monthly actives (30 days up to 'until'), known and consented contacts."""
    with _read(rt) as s:
        ids = p.channel_ids or (-1,)
        # Who wrote in the range, per channel; "returning" = the same contact wrote on that channel
        # before the range. Both read whole days from the rollups and only the rest from the messages;
        # the EXISTS walks only those contacts' rows (by index), so the cost follows the range.
        pairs = _active_pairs(s, actor.workspace_id, p.channel_ids, p.since, p.until)
        done = rollups.rolled_until(s, actor.workspace_id)
        earlier_conv = aliased(Conversation)
        earlier_msg = aliased(Message)
        live_before = (select(literal(1)).select_from(earlier_conv)
                       .join(earlier_msg, earlier_msg.conversation_id == earlier_conv.id)
                       .where(earlier_conv.channel_id == pairs.c.channel_id,
                              earlier_conv.contact_id == pairs.c.contact_id,
                              earlier_msg.direction == "in", earlier_msg.created_at < p.since))
        before: Any = live_before.exists()
        if done is not None:
            # Days before min(the range's first day, the watermark) are rolled; the rest is read live.
            cut = min(_utc_day(p.since), done)
            rolled_before = (select(literal(1)).select_from(AnalyticsContactDay)
                             .where(AnalyticsContactDay.channel_id == pairs.c.channel_id,
                                    AnalyticsContactDay.contact_id == pairs.c.contact_id,
                                    AnalyticsContactDay.day < cut).exists())
            before = or_(rolled_before,
                         live_before.where(earlier_msg.created_at >= rollups.day_start(cut)).exists())
        active = {r.channel_id: r for r in s.execute(
            select(pairs.c.channel_id, func.count().label("active"),
                   func.sum(case((before, 0), else_=1)).label("new"))
            .group_by(pairs.c.channel_id))}
        monthly = _active_pairs(s, actor.workspace_id, p.channel_ids, p.until - MAU_WINDOW, p.until)
        mau = {int(c): int(n) for c, n in s.execute(
            select(monthly.c.channel_id, func.count()).group_by(monthly.c.channel_id))}
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
        a = active.get(cid)
        n_active, n_new = (int(a.active), int(a.new)) if a else (0, 0)
        rows.append({"channel_id": cid, "channel_name": c.name, "kind": c.kind, "active_contacts": n_active,
                     "new_contacts": n_new, "returning_contacts": n_active - n_new,
                     "monthly_active_contacts": int(mau.get(cid, 0)), "known_contacts": int(known.get(cid, 0)),
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

