"""The agent UI's ticket pages: a filtered list with the SLA at a glance, and one ticket's page.

Server-rendered from the same services as the API; the only script (``js/tickets.js``) moves a
ticket's status or adds a note through the REST API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request, Response

from crocevia.api.deps import MAX_ID, get_runtime
from crocevia.clock import as_utc
from crocevia.errors import NotFound, ValidationFailed
from crocevia.services import accounts, channels, sla, ticket_reports, tickets
from crocevia.services.ticket_texts import STATUSES
from crocevia.storage.tables import Ticket
from crocevia.web.pages import page
from crocevia.web.session import Viewer
from crocevia.web.ticket_charts import charts


def _page(request: Request, v: Viewer, template: str, *, status_code: int = 200, **context: Any) -> Response:
    return page(request, v, template, status_code=status_code, section="tickets", **context)


def sla_state(t: Ticket, now: datetime) -> str:
    """breached | at_risk | paused | ok | none: what the list's SLA column shows."""
    if t.first_response_breached_at or t.resolution_breached_at:
        return "breached"
    if t.sla_paused_at is not None:
        return "paused"
    if t.first_response_warned_at or t.resolution_warned_at:
        return "at_risk"
    due = [as_utc(d) for d in (t.first_response_due_at if not t.first_responded_at else None,
                               t.resolution_due_at) if d]
    if not due or t.status in sla.DONE:
        return "none"
    return "ok"


def _next_due(t: Ticket) -> datetime | None:
    if t.status in sla.DONE:
        return None
    due = [as_utc(d) for d in (t.first_response_due_at if not t.first_responded_at else None,
                               t.resolution_due_at) if d]
    return min(d for d in due if d is not None) if due else None


def list_page(request: Request, v: Viewer) -> Response:
    rt = get_runtime(request)
    p = request.query_params
    f = tickets.TicketFilter(status=p.get("status") or "active", priority=p.get("priority") or None,
                             assignee=p.get("assignee") or "all", sla=p.get("sla") or None, q=p.get("q") or "")
    try:
        items, _ = tickets.list_tickets(rt, v.who.actor, f, limit=100)
    except ValidationFailed:
        f = tickets.TicketFilter(status="active")
        items, _ = tickets.list_tickets(rt, v.who.actor, f, limit=100)
    now = rt.clock.now()
    rows = [{"t": t, "sla": sla_state(t, now), "due": _next_due(t)} for t in items]
    report = ticket_reports.report(rt, v.who.actor)
    teams = {team.id: team.name for team, _ in accounts.list_teams(rt, v.who.actor)}
    inboxes = {c.id: c.name for c in channels.list_channels(rt, v.who.actor)}
    return _page(request, v, "tickets.html", rows=rows, f=f, statuses=STATUSES, priorities=sla.PRIORITIES,
                 report=report, charts=charts(report, team_names=teams, channel_names=inboxes, none_label=""))


def detail_page(request: Request, v: Viewer, ticket_id: int) -> Response:
    rt = get_runtime(request)
    try:
        if not 1 <= ticket_id <= MAX_ID:
            raise NotFound("no such ticket")
        t = tickets.get_ticket(rt, v.who.actor, ticket_id)
    except NotFound:
        return _page(request, v, "not_found.html", status_code=404, missing="ticket")
    users = {u.id: u.name for u in accounts.list_users(rt, v.who.actor)}
    teams = {team.id: team.name for team, _ in accounts.list_teams(rt, v.who.actor)}
    return _page(request, v, "ticket.html", t=t, sla_state=sla_state(t, rt.clock.now()), users=users, teams=teams,
                 events=tickets.history(rt, v.who.actor, ticket_id), statuses=STATUSES, priorities=sla.PRIORITIES,
                 conversation_ids=tickets.linked_conversations(rt, v.who.actor, ticket_id))
