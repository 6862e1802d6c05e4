"""Daily rollups: the dashboard read from rollups (plus the live rest) equals the direct computation on
the same data, for ranges with whole days, partial days at the edges, days not rolled up yet and a
channel filter; rebuilding is idempotent; the durable task keeps itself scheduled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crocevia.jobs.tasks import TaskRunner
from crocevia.runtime import Runtime
from crocevia.services import analytics, rollups
from crocevia.storage.tables import AnalyticsChannelHour, AnalyticsContactDay, AnalyticsRollupState, Task
from tests.advisor.seed import SINCE, UNTIL, History, add_message, at, seed_history
from tests.conftest import Workspace


def ranges(history: History) -> list[tuple[datetime, datetime, int | None]]:
    return [(SINCE, UNTIL, None), (at(12, 0), at(13, 0), history.a), (at(11, 10, 3), at(15, 9, 15), None),
            (at(5, 12), at(14, 12, 10), None), (at(1, 0), at(31, 0), None), (at(14, 6), at(26, 18), history.b),
            (at(12, 9, 5), at(12, 9, 30), None)]


def numbers(rt: Runtime, ws: Workspace, history: History) -> list[dict[str, Any]]:
    out = []
    for since, until, channel in ranges(history):
        p = analytics.period(rt, ws.owner, since=since, until=until, channel_id=channel)
        out.append({"channels": analytics.channel_performance(rt, ws.owner, p),
                    "audience": analytics.audience(rt, ws.owner, p),
                    "daily": analytics.daily_volume(rt, ws.owner, p)})
    return out


def rollup_rows(rt: Runtime) -> tuple[int, int]:
    with rt.db.read() as s:
        return (s.scalar(select(func.count()).select_from(AnalyticsChannelHour)) or 0,
                s.scalar(select(func.count()).select_from(AnalyticsContactDay)) or 0)


def test_rolled_up_numbers_equal_the_direct_computation(rt: Runtime, ws: Workspace) -> None:
    history = seed_history(rt, ws)
    direct = numbers(rt, ws, history)
    # Rolled up to 01-17 (the days after are read live), then everything.
    assert rollups.roll_up(rt, ws.id, now=at(17, 12)) > 0
    with rt.db.read() as s:
        assert rollups.rolled_until(s, ws.id) == at(17, 0).date()
    assert rollup_rows(rt)[0] > 0
    assert numbers(rt, ws, history) == direct
    rollups.roll_up(rt, ws.id, now=at(31, 12))
    assert numbers(rt, ws, history) == direct
    # The hand-derived figures of test_analytics still hold when read from the rollups.
    p = analytics.period(rt, ws.owner, since=SINCE, until=UNTIL)
    # An API parameter without an offset means UTC, as everywhere else.
    bare = analytics.period(rt, ws.owner, since=SINCE.replace(tzinfo=None), until=UNTIL.replace(tzinfo=None))
    assert analytics.audience(rt, ws.owner, bare) == analytics.audience(rt, ws.owner, p)
    assert analytics.daily_volume(rt, ws.owner, bare) == direct[0]["daily"]
    a = {r["channel_id"]: r for r in analytics.channel_performance(rt, ws.owner, p)}[history.a]
    assert (a["inbound"], a["outbound"], a["delivered"], a["first_response_avg_seconds"]) == (4, 3, 2, 360.0)
    aud = {r["channel_id"]: r for r in analytics.audience(rt, ws.owner, p)}[history.a]
    assert (aud["active_contacts"], aud["new_contacts"], aud["monthly_active_contacts"]) == (2, 1, 2)


def test_messages_after_the_watermark_count_at_once_and_rebuilding_is_idempotent(rt: Runtime,
                                                                                  ws: Workspace) -> None:
    history = seed_history(rt, ws)
    rollups.roll_up(rt, ws.id, now=at(17, 12))
    first = rollup_rows(rt)
    assert rollups.roll_up(rt, ws.id, now=at(17, 13)) == 0 and rollup_rows(rt) == first

    add_message(rt, ws.id, history.conv1, history.a, at(18, 9), "in")  # a day not rolled up yet
    p = analytics.period(rt, ws.owner, since=SINCE, until=UNTIL, channel_id=history.a)
    assert analytics.channel_performance(rt, ws.owner, p)[0]["inbound"] == 5
    assert ("2026-01-18", history.a, 1, 0, 1) in [
        (r["day"], r["channel_id"], r["inbound"], r["outbound"], r["active_contacts"])
        for r in analytics.daily_volume(rt, ws.owner, p)]
    live = numbers(rt, ws, history)
    rollups.roll_up(rt, ws.id, now=at(31, 12))
    assert numbers(rt, ws, history) == live

    # Rebuilding every day from scratch gives the same rows.
    before = rollup_rows(rt)
    with rt.db.transaction() as s:
        s.delete(s.get(AnalyticsRollupState, ws.id))
    rollups.roll_up(rt, ws.id, now=at(31, 12))
    assert rollup_rows(rt) == before
    assert numbers(rt, ws, history) == live


def test_the_durable_task_rolls_up_and_schedules_its_next_run(rt: Runtime, ws: Workspace) -> None:
    history = seed_history(rt, ws)
    direct = numbers(rt, ws, history)
    p = analytics.period(rt, ws.owner, since=SINCE, until=UNTIL)
    analytics.dashboard(rt, ws.owner, p)  # looking at the numbers schedules the rollups
    analytics.dashboard(rt, ws.owner, p)  # ... once
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Task).where(Task.kind == rollups.TASK_KIND)) == 1
    runner = TaskRunner(rt)
    runs = 0
    while runner.run_once() and runs < 50:  # a backlog goes in slices of DAYS_PER_RUN days, back to back
        runs += 1
    assert runs > 1
    with rt.db.read() as s:
        assert rollups.rolled_until(s, ws.id) is not None
        nxt = s.scalars(select(Task).where(Task.kind == rollups.TASK_KIND, Task.status == "pending")).one()
        assert nxt.run_after >= rt.clock.now() + rollups.EVERY - timedelta(minutes=1)
    assert rollup_rows(rt)[0] > 0
    assert numbers(rt, ws, history) == direct
