"""Pages for the numbers: the dashboards (/ui/analytics) and the channel advisor (/ui/advisor).

Both are plain GET forms rendered on the server with SVG charts, so they work without JS and a URL
can be bookmarked or shared with its filters. They read through the same services as the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from crocevia.advisor.scoring import GOALS, make_audience
from crocevia.api.deps import get_runtime
from crocevia.errors import CroceviaError, ValidationFailed
from crocevia.services import advisor, analytics, channels
from crocevia.web.charts import Bar, columns, hbar
from crocevia.web.pages import page as _page
from crocevia.web.session import to_login, viewer

router = APIRouter(include_in_schema=False)


def _day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(f"{text!r} is not a date (YYYY-MM-DD)", field=field) from exc


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


@router.get("/ui/analytics")
def analytics_page(request: Request, since: str | None = None, until: str | None = None,
                   channel_id: str | None = None) -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    rt = get_runtime(request)
    actor = v.who.actor
    visible = channels.list_channels(rt, actor)
    error = ""
    data: dict[str, Any] = {"channels": [], "audience": [], "outcomes": [], "daily": []}
    today = rt.clock.now().date()
    first, last = today - timedelta(days=29), today
    try:
        first = _day(since, "since") or first
        last = _day(until, "until") or last
        chosen = int(channel_id) if channel_id and channel_id.isdigit() else None
        p = analytics.period(rt, actor, since=datetime.combine(first, time(), UTC),
                             until=datetime.combine(last + timedelta(days=1), time(), UTC), channel_id=chosen)
        data = analytics.dashboard(rt, actor, p)
    except CroceviaError as exc:
        error, chosen = exc.detail, None
    rows = data["channels"]
    days = sorted({d["day"] for d in data["daily"]})
    per_day = {(d["day"], k): 0 for d in data["daily"] for k in ("in", "out")}
    for d in data["daily"]:
        per_day[(d["day"], "in")] += d["inbound"]
        per_day[(d["day"], "out")] += d["outbound"]
    charts = {
        "volume": [Bar(r["channel_name"], r["inbound"], series=0) for r in rows]
        + [Bar(r["channel_name"] + " ↑", r["outbound"], series=1) for r in rows],
        "response": [Bar(r["channel_name"], _minutes(r["first_response_avg_seconds"])) for r in rows],
        "resolution": [Bar(r["channel_name"], _minutes(r["resolution_avg_seconds"]), series=1) for r in rows],
        "delivery": [Bar(r["channel_name"], r["delivery_rate_pct"], series=2) for r in rows],
        "bots": [Bar(r["channel_name"], r["bot_containment_pct"], series=3) for r in rows if r["bot_conversations"]],
        "audience": [Bar(a["channel_name"], a["active_contacts"], series=0) for a in data["audience"]],
        "csat": [Bar(o["channel_name"], o["csat_pct"], series=2) for o in data["outcomes"] if o["csat_answers"]],
        "nps": [Bar(o["channel_name"], o["nps"], series=1) for o in data["outcomes"] if o["nps_answers"]],
    }
    daily = {"days": days, "in": [per_day[(d, "in")] for d in days], "out": [per_day[(d, "out")] for d in days]}
    query = {"since": first.isoformat(), "until": last.isoformat(), "channel_id": chosen or ""}
    return _page(request, v, "analytics.html", section="analytics", data=data, charts=charts, daily=daily,
                 hbar=hbar, columns=columns, query=query, channels=visible, error=error, minutes=_minutes,
                 export_qs=f"since={first.isoformat()}T00:00:00Z&until={(last + timedelta(days=1)).isoformat()}"
                           f"T00:00:00Z" + (f"&channel_id={chosen}" if chosen else ""))


@router.get("/ui/advisor")
def advisor_page(request: Request, countries: str = "", age: str = "", interests: str = "",
                 goal: str = "support") -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    rt = get_runtime(request)
    result: dict[str, Any] | None = None
    error = ""
    if countries or age or interests:
        try:
            audience = make_audience(countries=[countries], age=age, interests=[interests], goal=goal)
            result = advisor.advise(rt, v.who.actor, audience, lang=v.lang)
        except CroceviaError as exc:
            error = exc.detail
    bars = [Bar(r["app"], r["score"], series=0 if r["channel_kinds"] else 1)
            for r in (result or {}).get("ranking", [])]
    form = {"countries": countries, "age": age, "interests": interests, "goal": goal}
    return _page(request, v, "advisor.html", section="advisor", result=result, bars=bars, hbar=hbar, error=error,
                 form=form, goals=GOALS, datasets=advisor.datasets(rt, v.who.actor))
