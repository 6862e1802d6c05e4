"""SLA policies and the clock they run on.

A ticket gets the most specific active policy for its priority and type. Its first-response and
resolution targets become due moments counted in the policy's business hours; while the ticket is
pending (waiting on the customer) the clock stands still, and on resuming every due moment moves
by the business time spent waiting. ``check_ticket`` / ``check_due`` turn due moments into warning
and breach events; they run from durable tasks scheduled at the next moment, and tests call them
directly with a FakeClock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crocevia.clock import as_utc
from crocevia.domain.enums import AuthorType, Direction
from crocevia.errors import NotFound, ValidationFailed
from crocevia.jobs.tasks import enqueue_in as enqueue_task
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.scoped import get_in_workspace
from crocevia.services.sla_calendar import BusinessCalendar
from crocevia.services.ticket_common import record
from crocevia.storage.tables import Message, SlaPolicy, Team, Ticket, TicketConversation

PRIORITIES = ("low", "normal", "high", "urgent")
DONE = ("solved", "closed")
TASK_KIND = "ticket.sla"
_FIELDS = ("name", "priority", "ticket_type", "first_response_minutes", "resolution_minutes", "warn_minutes",
           "timezone", "business_hours", "holidays", "escalate_team_id", "is_active")


def policy_dict(p: SlaPolicy) -> dict[str, Any]:
    return {f: getattr(p, f) for f in ("id", *_FIELDS)}


def calendar_of(p: SlaPolicy) -> BusinessCalendar:
    return BusinessCalendar.parse(p.timezone, p.business_hours, p.holidays)


def _clean(s: Session, actor: Actor, fields: dict[str, Any], current: SlaPolicy | None) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if k in _FIELDS}
    if "name" in out and not str(out["name"] or "").strip():
        raise ValidationFailed("a policy needs a name", field="name")
    if out.get("priority") is not None and out["priority"] not in PRIORITIES:
        raise ValidationFailed(f"priority is one of {', '.join(PRIORITIES)}", field="priority")
    for key in ("first_response_minutes", "resolution_minutes", "warn_minutes"):
        if out.get(key) is not None and not (0 <= int(out[key]) <= 525_600):
            raise ValidationFailed("minutes must be between 0 and 525600 (a year)", field=key)
    if out.get("escalate_team_id") is not None:
        team = s.get(Team, out["escalate_team_id"])
        if team is None or team.workspace_id != actor.workspace_id:
            raise NotFound("team not found", field="escalate_team_id")
    # Validate the calendar as it will be after the change.
    BusinessCalendar.parse(out.get("timezone", current.timezone if current else "Europe/Rome"),
                           out.get("business_hours", current.business_hours if current else {}),
                           out.get("holidays", current.holidays if current else []))
    return out


def get_policy_in(s: Session, actor: Actor, policy_id: int) -> SlaPolicy:
    return get_in_workspace(s, SlaPolicy, policy_id, actor, "SLA policy not found")


def create_policy(rt: Runtime, actor: Actor, fields: dict[str, Any]) -> SlaPolicy:
    actor.require_admin()
    with rt.db.transaction() as s:
        values = _clean(s, actor, fields, None)
        if "name" not in values:
            raise ValidationFailed("a policy needs a name", field="name")
        p = SlaPolicy(workspace_id=actor.workspace_id, created_at=rt.clock.now(), **values)
        s.add(p)
        s.flush()
        return p


def update_policy(rt: Runtime, actor: Actor, policy_id: int, fields: dict[str, Any]) -> SlaPolicy:
    actor.require_admin()
    with rt.db.transaction() as s:
        p = get_policy_in(s, actor, policy_id)
        for k, v in _clean(s, actor, fields, p).items():
            setattr(p, k, v)
        return p


def delete_policy(rt: Runtime, actor: Actor, policy_id: int) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        s.delete(get_policy_in(s, actor, policy_id))


def list_policies(rt: Runtime, actor: Actor) -> list[SlaPolicy]:
    with rt.db.read() as s:
        return list(s.scalars(select(SlaPolicy).where(SlaPolicy.workspace_id == actor.workspace_id)
                              .order_by(SlaPolicy.id)))


def choose_policy(s: Session, t: Ticket) -> SlaPolicy | None:
    """The most specific active policy: priority and type both matching beats one, beats none."""
    best: tuple[int, int, SlaPolicy] | None = None
    for p in s.scalars(select(SlaPolicy).where(SlaPolicy.workspace_id == t.workspace_id,
                                               SlaPolicy.is_active.is_(True))):
        if p.priority not in (None, t.priority) or p.ticket_type not in (None, t.type):
            continue
        score = (p.priority is not None) + (p.ticket_type is not None)
        if best is None or (score, -p.id) > (best[0], best[1]):
            best = (score, -p.id, p)
    return best[2] if best else None


def apply_in(s: Session, t: Ticket, now: datetime) -> None:
    """(Re)compute the ticket's due moments from its creation, e.g. when created or re-prioritised."""
    p = choose_policy(s, t)
    t.sla_policy_id = p.id if p else None
    t.first_response_due_at = t.first_response_warn_at = t.resolution_due_at = t.resolution_warn_at = None
    if p is not None:
        cal = calendar_of(p)
        start = as_utc(t.created_at) or now
        warn = 60 * p.warn_minutes
        if p.first_response_minutes is not None:
            target = 60 * p.first_response_minutes
            t.first_response_due_at = cal.add(start, target)
            t.first_response_warn_at = cal.add(start, max(0, target - warn)) if warn else None
        if p.resolution_minutes is not None:
            target = 60 * p.resolution_minutes
            t.resolution_due_at = cal.add(start, target)
            t.resolution_warn_at = cal.add(start, max(0, target - warn)) if warn else None
        if t.sla_paused_at is not None:
            # Re-applied while pending: the time already waited does not count either.
            _shift(t, cal, cal.between(as_utc(t.sla_paused_at) or now, now))
    schedule_in(s, t)


def pause_in(s: Session, t: Ticket, now: datetime) -> None:
    if t.sla_paused_at is None:
        t.sla_paused_at = now
    schedule_in(s, t)


def resume_in(s: Session, t: Ticket, now: datetime) -> None:
    paused = as_utc(t.sla_paused_at)
    t.sla_paused_at = None
    if paused is not None and t.sla_policy_id is not None:
        p = s.get(SlaPolicy, t.sla_policy_id)
        if p is not None:
            cal = calendar_of(p)
            _shift(t, cal, cal.between(paused, now))
    schedule_in(s, t)


def _shift(t: Ticket, cal: BusinessCalendar, seconds: float) -> None:
    if seconds <= 0:
        return
    for name in ("first_response_due_at", "first_response_warn_at", "resolution_due_at", "resolution_warn_at"):
        value = as_utc(getattr(t, name))
        if value is not None:
            setattr(t, name, cal.add(value, seconds))


def _next_moment(t: Ticket) -> datetime | None:
    if t.sla_paused_at is not None or t.status in DONE:
        return None
    moments: list[datetime | None] = []
    if t.first_responded_at is None:
        if t.first_response_warned_at is None and t.first_response_breached_at is None:
            moments.append(t.first_response_warn_at)
        if t.first_response_breached_at is None:
            moments.append(t.first_response_due_at)
    if t.resolution_warned_at is None and t.resolution_breached_at is None:
        moments.append(t.resolution_warn_at)
    if t.resolution_breached_at is None:
        moments.append(t.resolution_due_at)
    due = [m for m in (as_utc(x) for x in moments) if m is not None]
    return min(due) if due else None


def schedule_in(s: Session, t: Ticket) -> None:
    """Remember the next SLA moment and put a durable task at it (a stale task finds nothing to do)."""
    nxt = _next_moment(t)
    if nxt != as_utc(t.sla_next_check_at):
        t.sla_next_check_at = nxt
        if nxt is not None:
            s.flush()
            enqueue_task(s, workspace_id=t.workspace_id, kind=TASK_KIND, payload={"ticket_id": t.id}, run_after=nxt)


def refresh_first_response_in(s: Session, t: Ticket) -> None:
    """The first reply an agent wrote in any linked conversation since the ticket opened."""
    if t.first_responded_at is not None:
        return
    linked = select(TicketConversation.conversation_id).where(TicketConversation.ticket_id == t.id)
    first = s.scalar(select(func.min(Message.created_at)).where(
        Message.conversation_id.in_(linked), Message.direction == Direction.OUT.value,
        Message.author_type == AuthorType.AGENT.value, Message.created_at >= t.created_at))
    t.first_responded_at = as_utc(first)


def check_ticket(rt: Runtime, ticket_id: int, now: datetime | None = None) -> list[str]:
    """Record whatever warning or breach is due for one ticket; what was recorded."""
    now = now or rt.clock.now()
    done: list[str] = []
    with rt.db.transaction() as s:
        q = select(Ticket).where(Ticket.id == ticket_id)
        if rt.db.is_postgres:
            q = q.with_for_update()  # two runners must not both record the same breach
        t = s.scalar(q)
        if t is None:
            return done
        refresh_first_response_in(s, t)
        if t.sla_paused_at is None and t.status not in DONE:
            if t.first_responded_at is None:
                done += _step(s, rt, t, "first_response", now)
            done += _step(s, rt, t, "resolution", now)
        schedule_in(s, t)
    return done


def _step(s: Session, rt: Runtime, t: Ticket, target: str, now: datetime) -> list[str]:
    due, warn_at = as_utc(getattr(t, f"{target}_due_at")), as_utc(getattr(t, f"{target}_warn_at"))
    if due is None or getattr(t, f"{target}_breached_at") is not None:
        return []
    data = {"target": target, "due_at": due.isoformat()}
    if now >= due:
        setattr(t, f"{target}_breached_at", now)
        t.updated_at = now
        record(s, t, "sla_breach", now=now, data=data, event_type="ticket.sla_breached", rt=rt)
        _escalate(s, rt, t, now)
        return [f"{target}.breached"]
    if warn_at is not None and now >= warn_at and getattr(t, f"{target}_warned_at") is None:
        setattr(t, f"{target}_warned_at", now)
        record(s, t, "sla_warning", now=now, data={**data, "minutes_left": int((due - now).total_seconds() // 60)},
               event_type="ticket.sla_warning", rt=rt)
        return [f"{target}.warning"]
    return []


def _escalate(s: Session, rt: Runtime, t: Ticket, now: datetime) -> None:
    p = s.get(SlaPolicy, t.sla_policy_id) if t.sla_policy_id else None
    if p is None or p.escalate_team_id is None or p.escalate_team_id == t.team_id:
        return
    before, t.team_id = t.team_id, p.escalate_team_id
    record(s, t, "escalated", now=now, data={"team_id": t.team_id, "from_team_id": before},
           event_type="ticket.updated", rt=rt)


def check_due(rt: Runtime, now: datetime | None = None, *, limit: int = 500) -> list[tuple[int, str]]:
    """Every ticket whose next SLA moment has come: (ticket number, what was recorded)."""
    now = now or rt.clock.now()
    with rt.db.read() as s:
        rows = list(s.execute(select(Ticket.id, Ticket.number).where(Ticket.sla_next_check_at <= now)
                              .order_by(Ticket.sla_next_check_at).limit(limit)))
    out: list[tuple[int, str]] = []
    for ticket_id, number in rows:
        out += [(number, what) for what in check_ticket(rt, ticket_id, now)]
    return out
