"""Dashboards' numbers: per-channel performance, own active audience, daily volume; CSV export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from crocevia.api.deps import ActorDep, IdQuery, RuntimeDep
from crocevia.services import analytics

router = APIRouter(tags=["analytics"])


@router.get("/analytics/dashboard")
def dashboard(rt: RuntimeDep, actor: ActorDep, since: datetime | None = None, until: datetime | None = None,
              channel_id: IdQuery = None) -> dict[str, Any]:
    """Default range: the 30 days up to now. Times in seconds, rates in percent (null when nothing to rate)."""
    p = analytics.period(rt, actor, since=since, until=until, channel_id=channel_id)
    return analytics.dashboard(rt, actor, p)


@router.get("/analytics/export.csv", response_class=StreamingResponse)
def export(rt: RuntimeDep, actor: ActorDep, table: str = "channels", since: datetime | None = None,
           until: datetime | None = None, channel_id: IdQuery = None) -> StreamingResponse:
    """One table of the dashboard as CSV: channels, audience or daily."""
    p = analytics.period(rt, actor, since=since, until=until, channel_id=channel_id)
    rows = list(analytics.dashboard_csv(rt, actor, p, table))  # validated before the response starts
    return StreamingResponse(iter(rows), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="crocevia-{table}.csv"'})
