"""/ui/promotion: the segment builder with its live count, the campaign form (segment, template and
A/B variant, channels in fallback order, schedule, quiet hours, launch), campaign progress and funnel,
and the CSAT/NPS results, drawn on the server as SVG (no JS needed to read the numbers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from crocevia.api.deps import get_runtime
from crocevia.errors import CroceviaError
from crocevia.services import campaigns, channels, segments, surveys, templates
from crocevia.web.charts import Bar, columns, hbar
from crocevia.web.pages import page
from crocevia.web.session import to_login, viewer

router = APIRouter(include_in_schema=False)
# While a campaign is in one of these states its progress bar follows the fan-out (js/promotion.js).
LIVE_STATUSES = ("scheduled", "running")
FUNNEL = ("queued", "sent", "delivered", "read", "replied", "clicked", "converted", "opted_out")


def _filter_from(form: dict[str, str]) -> dict[str, Any]:
    """The builder's form as a segment filter: lists are comma-separated, numbers stay strings for
    pydantic to check (so a bad value is reported with its field, like in the API)."""
    out: dict[str, Any] = {}
    for key in ("countries", "languages", "tags_any"):
        items = [x.strip() for x in form.get(key, "").split(",") if x.strip()]
        if items:
            out[key] = items
    for key in ("age_min", "age_max", "active_within_days"):
        if form.get(key, "").strip():
            out[key] = form[key].strip()
    return out


@router.get("/ui/promotion")
def promotion_page(request: Request, countries: str = "", languages: str = "", age_min: str = "", age_max: str = "",
                   tags_any: str = "", active_within_days: str = "") -> Response:
    v = viewer(request)
    if v is None:
        return to_login(request)
    rt = get_runtime(request)
    actor = v.who.actor
    form = {"countries": countries, "languages": languages, "age_min": age_min, "age_max": age_max,
            "tags_any": tags_any, "active_within_days": active_within_days}
    filt = _filter_from(form)
    count: int | None = None
    error = ""
    if any(form.values()):
        try:
            count = segments.preview(rt, actor, filt)["count"]
        except CroceviaError as exc:
            error = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
    camps = campaigns.list_campaigns(rt, actor)[:20]
    # Counts for the list in one grouped query; the funnel (replies, conversions) only for the latest.
    progress = campaigns.summaries(rt, actor, [c.id for c in camps])
    bars = [Bar(c.name, progress[c.id]["percent"],
                text=f"{progress[c.id]['recipients']['sent']}/{progress[c.id]['recipients']['total']}",
                series=0 if c.status == "done" else 1) for c in camps]
    latest = camps[0] if camps else None
    latest_funnel = campaigns.progress(rt, actor, latest.id)["funnel"] if latest else {}
    funnel = [Bar(step, latest_funnel.get(step, 0), series=2) for step in FUNNEL] if latest else []
    results = {kind: surveys.results(rt, actor, kind, days=365) for kind in ("csat", "nps")}
    dist = {kind: [Bar(str(d["score"]), d["count"], series=3 if kind == "nps" else 0) for d in r["distribution"]]
            for kind, r in results.items()}
    trend = {kind: {"weeks": [t["week"] for t in r["trend"]], "values": [t["score"] or 0 for t in r["trend"]]}
             for kind, r in results.items()}
    return page(request, v, "promotion.html", section="promotion", extra_boot={"segment_filter": filt},
                form=form, count=count, error=error,
                segments=segments.list_segments(rt, actor), templates=templates.list_templates(rt, actor),
                channels=[ch for ch in channels.list_channels(rt, actor) if ch.is_active],
                live_statuses=LIVE_STATUSES, campaigns=camps, progress=progress, bars=bars,
                latest=latest, funnel=funnel, results=results, dist=dist, trend=trend, hbar=hbar, columns=columns)
