"""Ticket reports: backlog by status, SLA compliance, first-response and resolution times, by team
and by channel. Computed over the tickets an actor may see, opened since a given moment."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import select

from crocevia.clock import as_utc
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.ticket_texts import STATUSES
from crocevia.services.tickets import visible
from crocevia.storage.tables import Conversation, Ticket


class _Bucket:
    def __init__(self) -> None:
        self.total = 0
        self.active = 0
        self.first_met = self.first_breached = self.res_met = self.res_breached = 0
        self.first_minutes: list[float] = []
        self.res_minutes: list[float] = []

    def add(self, t: Ticket, now: datetime) -> None:
        self.total += 1
        self.active += t.status not in ("solved", "closed")
        created = as_utc(t.created_at) or now
        responded, solved = as_utc(t.first_responded_at), as_utc(t.solved_at)
        if responded:
            self.first_minutes.append((responded - created).total_seconds() / 60)
        if solved:
            self.res_minutes.append((solved - created).total_seconds() / 60)
        if t.first_response_breached_at:
            self.first_breached += 1
        elif t.first_response_due_at and responded:
            self.first_met += 1
        if t.resolution_breached_at:
            self.res_breached += 1
        elif t.resolution_due_at and solved:
            self.res_met += 1

    def view(self) -> dict[str, Any]:
        def rate(met: int, breached: int) -> float | None:
            return round(100 * met / (met + breached), 1) if met + breached else None

        def mid(values: list[float]) -> float | None:
            return round(median(values), 1) if values else None

        return {
            "tickets": self.total, "active": self.active,
            "sla_first_response": {"met": self.first_met, "breached": self.first_breached,
                                   "compliance_pct": rate(self.first_met, self.first_breached)},
            "sla_resolution": {"met": self.res_met, "breached": self.res_breached,
                               "compliance_pct": rate(self.res_met, self.res_breached)},
            "median_first_response_minutes": mid(self.first_minutes),
            "median_resolution_minutes": mid(self.res_minutes),
        }


def report(rt: Runtime, actor: Actor, *, since: datetime | None = None) -> dict[str, Any]:
    now = rt.clock.now()
    stmt = visible(actor)
    if since is not None:
        stmt = stmt.where(Ticket.created_at >= since)
    with rt.db.read() as s:
        rows = list(s.scalars(stmt))
        conv_ids = {t.conversation_id for t in rows if t.conversation_id}
        channel_of: dict[int, int] = {
            cid: ch for cid, ch in s.execute(select(Conversation.id, Conversation.channel_id)
                                             .where(Conversation.id.in_(sorted(conv_ids) or [-1])))}
    overall = _Bucket()
    by_team: defaultdict[int | None, _Bucket] = defaultdict(_Bucket)
    by_channel: defaultdict[int | None, _Bucket] = defaultdict(_Bucket)
    backlog = dict.fromkeys(STATUSES, 0)
    for t in rows:
        overall.add(t, now)
        backlog[t.status] = backlog.get(t.status, 0) + 1
        by_team[t.team_id].add(t, now)
        by_channel[channel_of.get(t.conversation_id or 0)].add(t, now)
    return {
        "since": since.isoformat() if since else None,
        "backlog": backlog,
        **overall.view(),
        "by_team": [{"team_id": k, **b.view()} for k, b in sorted(by_team.items(), key=lambda kv: kv[0] or 0)],
        "by_channel": [{"channel_id": k, **b.view()}
                       for k, b in sorted(by_channel.items(), key=lambda kv: kv[0] or 0)],
    }
