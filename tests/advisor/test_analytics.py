"""Dashboard numbers computed by SQL on both engines from a history whose answers are derived by hand
(see tests/advisor/seed.py for the timeline)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from crocevia.app import build_app
from crocevia.domain.enums import Role
from crocevia.errors import NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import accounts, analytics, channels
from crocevia.services.actor import Actor
from tests.advisor.seed import SINCE, UNTIL, History, add_channel, seed_history
from tests.conftest import Workspace, api_token, new_workspace


@pytest.fixture
def history(rt: Runtime, ws: Workspace) -> History:
    return seed_history(rt, ws)


@pytest.fixture
def http(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(build_app(rt.settings, runtime=rt, run_workers=False)) as c:
        yield c


def by_channel(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {r["channel_id"]: r for r in rows}


def test_channel_performance_counts_volume_rates_response_resolution_and_bots(
    rt: Runtime, ws: Workspace, history: History
) -> None:
    p = analytics.period(rt, ws.owner, since=SINCE, until=UNTIL)
    rows = by_channel(analytics.channel_performance(rt, ws.owner, p))
    a, b = rows[history.a], rows[history.b]
    # A: 4 customer messages in range (01-05 and 01-25 are outside), 3 replies: read, delivered, failed.
    assert (a["inbound"], a["outbound"], a["delivered"], a["read"], a["failed"]) == (4, 3, 2, 1, 1)
    assert (a["delivery_rate_pct"], a["read_rate_pct"], a["failure_rate_pct"]) == (66.7, 33.3, 33.3)
    assert a["failures_by_reason"] == [{"reason": "invalid recipient", "count": 1}]
    # Customer waits, one per conversation and day: conv1 on 01-11 (answered in 120 s), conv2 on 01-12
    # (600 s), conv1 on 01-15 (09:00, never answered by an agent) -> 3 waiting, 2 answered, mean 360 s.
    assert (a["conversations_waiting"], a["conversations_answered"], a["first_response_avg_seconds"]) == (3, 2, 360.0)
    # Two resolutions of conv1: 3600 s and 1800 s.
    assert (a["resolved"], a["resolution_avg_seconds"]) == (2, 2700.0)
    assert (a["bot_conversations"], a["bot_containment_pct"]) == (0, None)
    # B: a bot answered both; a human only conv4, after 30 min; the bot contained conv3 alone.
    assert (b["inbound"], b["outbound"], b["delivered"], b["read"], b["failed"]) == (2, 3, 1, 0, 0)
    assert (b["conversations_waiting"], b["conversations_answered"], b["first_response_avg_seconds"]) == (2, 1, 1800.0)
    assert (b["bot_conversations"], b["bot_contained"], b["bot_containment_pct"]) == (2, 1, 50.0)
    assert (b["resolved"], b["resolution_avg_seconds"]) == (0, None)


def test_own_audience_active_new_returning_monthly_and_reachable(rt: Runtime, ws: Workspace, history: History) -> None:
    p = analytics.period(rt, ws.owner, since=SINCE, until=UNTIL)
    rows = by_channel(analytics.audience(rt, ws.owner, p))
    a, b = rows[history.a], rows[history.b]
    # On A: Carla wrote first on 01-11 (new), Dario already on 01-05 (returning).
    assert (a["active_contacts"], a["new_contacts"], a["returning_contacts"]) == (2, 1, 1)
    assert (a["monthly_active_contacts"], a["known_contacts"], a["opted_in"], a["opted_out"]) == (2, 2, 1, 1)
    assert (b["active_contacts"], b["new_contacts"], b["returning_contacts"]) == (2, 2, 0)
    assert (b["monthly_active_contacts"], b["known_contacts"], b["opted_in"]) == (2, 2, 0)


def test_outcomes_csat_nps_bookings_and_revenue_from_chat(rt: Runtime, ws: Workspace, history: History) -> None:
    p = analytics.period(rt, ws.owner, since=SINCE, until=UNTIL)
    rows = by_channel(analytics.outcomes(rt, ws.owner, p))
    a, b = rows[history.a], rows[history.b]
    assert (a["csat_answers"], a["csat_pct"], a["nps_answers"], a["nps"]) == (2, 50.0, 0, None)
    assert (b["csat_answers"], b["csat_pct"], b["nps_answers"], b["nps"]) == (0, None, 2, 0.0)
    assert (a["bookings"], b["bookings"]) == (0, 1)
    assert a["revenue"] == [{"currency": "EUR", "orders": 2, "total_minor": 3500}] and a["paid_orders"] == 2
    assert b["revenue"] == [{"currency": "USD", "orders": 1, "total_minor": 300}]
    csv_text = "".join(analytics.dashboard_csv(rt, ws.owner, p, "outcomes"))
    assert f"{history.a},Alfa shop,sandbox,2,50.0,0,,0,2,EUR 35.00" in csv_text


def test_daily_volume_and_active_contacts_per_day(rt: Runtime, ws: Workspace, history: History) -> None:
    p = analytics.period(rt, ws.owner, since=SINCE, until=UNTIL)
    got = [(r["day"], r["channel_id"], r["inbound"], r["outbound"], r["active_contacts"])
           for r in analytics.daily_volume(rt, ws.owner, p)]
    assert got == [("2026-01-11", history.a, 2, 2, 1), ("2026-01-12", history.a, 1, 1, 1),
                   ("2026-01-13", history.b, 1, 1, 1), ("2026-01-14", history.b, 1, 2, 1),
                   ("2026-01-15", history.a, 1, 0, 1)]


def test_a_narrower_range_and_a_channel_filter_change_the_numbers(rt: Runtime, ws: Workspace,
                                                                  history: History) -> None:
    from tests.advisor.seed import at

    p = analytics.period(rt, ws.owner, since=at(12, 0), until=at(13, 0), channel_id=history.a)
    assert p.channel_ids == (history.a,)
    [a] = analytics.channel_performance(rt, ws.owner, p)
    assert (a["inbound"], a["outbound"], a["failed"], a["first_response_avg_seconds"]) == (1, 1, 1, 600.0)
    [aud] = analytics.audience(rt, ws.owner, p)
    assert (aud["active_contacts"], aud["new_contacts"]) == (1, 0)


def test_an_agent_counts_only_the_inboxes_they_belong_to(rt: Runtime, ws: Workspace, history: History) -> None:
    agent = accounts.create_user(rt, ws.owner, email="agent@x.test", name="Agente", role=Role.AGENT,
                                 password="password-123")
    channels.set_members(rt, ws.owner, history.b, [agent.id])
    actor = Actor(workspace_id=ws.id, user_id=agent.id, role=Role.AGENT, channel_ids=frozenset({history.b}))
    p = analytics.period(rt, actor, since=SINCE, until=UNTIL)
    assert [r["channel_id"] for r in analytics.channel_performance(rt, actor, p)] == [history.b]
    with pytest.raises(NotFound):
        analytics.period(rt, actor, since=SINCE, until=UNTIL, channel_id=history.a)


def test_bad_ranges_are_refused_naming_the_field(rt: Runtime, ws: Workspace) -> None:
    with pytest.raises(ValidationFailed) as exc:
        analytics.period(rt, ws.owner, since=UNTIL, until=SINCE)
    assert exc.value.field == "since"
    with pytest.raises(ValidationFailed):
        analytics.period(rt, ws.owner, since=SINCE.replace(year=2024), until=UNTIL)


def test_the_api_gives_the_same_numbers_and_a_csv_export(rt: Runtime, ws: Workspace, history: History,
                                                         http: TestClient) -> None:
    headers = {"Authorization": f"Bearer {api_token(rt, ws.owner)}"}
    params = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    resp = http.get("/api/v1/analytics/dashboard", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    a = by_channel(body["channels"])[history.a]
    assert (a["inbound"], a["first_response_avg_seconds"], a["resolution_avg_seconds"]) == (4, 360.0, 2700.0)
    assert by_channel(body["audience"])[history.a]["returning_contacts"] == 1

    csv_resp = http.get("/api/v1/analytics/export.csv", params={**params, "table": "channels"}, headers=headers)
    assert csv_resp.status_code == 200
    assert csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.text.strip().splitlines()
    assert lines[0].startswith("channel_id,channel_name,kind,inbound,outbound")
    assert lines[1].startswith(f"{history.a},Alfa shop,sandbox,4,3,")
    assert lines[2].startswith(f"{history.b},Beta bot,sandbox,2,3,")

    bad = http.get("/api/v1/analytics/dashboard", params={"since": UNTIL.isoformat(), "until": SINCE.isoformat()},
                   headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "since"
    bad = http.get("/api/v1/analytics/export.csv", params={**params, "table": "nope"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "table"

    other = new_workspace(rt)
    theirs = add_channel(rt, other.id, "Altrui")
    resp = http.get("/api/v1/analytics/dashboard", params={"channel_id": theirs}, headers=headers)
    assert resp.status_code == 404
