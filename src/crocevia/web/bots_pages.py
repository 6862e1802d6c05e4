"""/ui/bots (admins): the bot flows (YAML to edit, enable/disable, a new one), today's bookings per resource
and the orders with their status. Read on the server; saving and switching go through the REST API, so the
page gets the API's validation and its errors (with the line)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from fastapi import APIRouter, Request, Response

from crocevia.api.deps import get_runtime
from crocevia.services import bookings, catalog, flows
from crocevia.web.pages import admin_viewer, page

router = APIRouter(include_in_schema=False)


@router.get("/ui/bots")
def bots_page(request: Request) -> Response:
    v = admin_viewer(request, "bots")
    if isinstance(v, Response):
        return v
    rt = get_runtime(request)
    actor = v.who.actor
    now = rt.clock.now()
    flow_rows = [{"id": f.id, "name": f.name, "version": f.version, "is_active": f.is_active,
                  "yaml": yaml.safe_dump(f.definition, allow_unicode=True, sort_keys=False)}
                 for f in flows.list_flows(rt, actor)]
    resources = bookings.list_resources(rt, actor)
    today: dict[int, list[dict[str, Any]]] = defaultdict(list)
    zones = {r.id: ZoneInfo(r.timezone) for r in resources}  # "today" is each resource's own day
    days = {rid: now.astimezone(tz).date() for rid, tz in zones.items()}
    for b in bookings.list_bookings(rt, actor):
        tz = zones.get(b.resource_id)
        if tz is None:
            continue
        local = b.starts_at.astimezone(tz)
        if local.date() == days[b.resource_id]:
            today[b.resource_id].append({"time": local.strftime("%H:%M"), "name": b.name, "party": b.party_size,
                                         "status": b.status})
    per_resource: list[dict[str, Any]] = [{"name": r.name, "bookings": sorted(today[r.id], key=_by_time)}
                                          for r in resources]
    orders = [{"id": o.id, "status": o.status, "total": catalog.format_money(o.total_minor, o.currency),
               "lines": ", ".join(f"{i.get('quantity', 1)}× {i.get('name', '')}" for i in o.items or []),
               "created": o.created_at} for o in catalog.list_orders(rt, actor)[:200]]
    return page(request, v, "bots.html", section="bots", flows=flow_rows, resources=per_resource, orders=orders,
                new_flow_yaml=NEW_FLOW)


# What the "new flow" editor starts from: the smallest flow that answers, to be changed.
NEW_FLOW = """\
name: nuovo-flusso
triggers:
  keywords: [ciao, hello]
start: hello
steps:
  - id: hello
    type: send
    text: {it: "Ciao! Come posso aiutarti?", en: "Hi! How can I help?"}
"""


def _by_time(row: dict[str, Any]) -> str:
    return str(row["time"])
