"""The dashboard and advisor pages, rendered on the server with SVG charts of real numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from crocevia.app import build_app
from crocevia.runtime import Runtime
from tests.advisor.seed import SINCE, History, seed_history
from tests.conftest import Workspace
from tests.web.conftest import sign_in


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(build_app(rt.settings, runtime=rt, run_workers=False), follow_redirects=False) as c:
        yield c


def bars(html: str, testid: str) -> dict[str, str]:
    """label -> value of each bar of one chart."""
    svg = re.search(rf'<svg[^>]*data-testid="{testid}".*?</svg>', html, re.S)
    assert svg, f"no chart {testid}"
    return dict(re.findall(r'<g class="chart-row" data-label="([^"]*)" data-value="([^"]*)"', svg.group(0)))


def test_dashboard_charts_show_the_numbers_of_the_range(rt: Runtime, ws: Workspace, client: TestClient) -> None:
    history: History = seed_history(rt, ws)
    assert history.a
    assert client.get("/ui/analytics").status_code == 303  # signed out: to the login page
    sign_in(client, ws.owner_email, ws.password)
    resp = client.get("/ui/analytics", params={"since": SINCE.date().isoformat(), "until": "2026-01-19"})
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert bars(html, "chart-volume") == {"Alfa shop": "4", "Beta bot": "2", "Alfa shop ↑": "3", "Beta bot ↑": "3"}
    # Minutes: A (2 + 10) / 2 = 6; B 30. Resolution: A (60 + 30) / 2 = 45; B none (n/a, not zero).
    assert bars(html, "chart-response") == {"Alfa shop": "6", "Beta bot": "30"}
    assert bars(html, "chart-resolution") == {"Alfa shop": "45", "Beta bot": ""}
    assert bars(html, "chart-bots") == {"Beta bot": "50"}
    assert bars(html, "chart-delivery") == {"Alfa shop": "66.7", "Beta bot": "33.3"}
    assert bars(html, "chart-csat") == {"Alfa shop": "50"} and bars(html, "chart-nps") == {"Beta bot": "0"}
    assert re.search(r'<tr data-channel="Alfa shop">.*?EUR 35\.00', html.split('data-testid="outcomes-table"')[1], re.S)
    assert 'data-testid="chart-daily"' in html
    assert "style=" not in html.split('<main', 1)[1]  # the CSP forbids inline styles: charts use classes

    narrow = client.get("/ui/analytics", params={"since": "2026-01-13", "until": "2026-01-13"}).text
    assert bars(narrow, "chart-volume") == {"Alfa shop": "0", "Beta bot": "1", "Alfa shop ↑": "0", "Beta bot ↑": "1"}
    bad = client.get("/ui/analytics", params={"since": "2026-01-20", "until": "2026-01-10"})
    assert bad.status_code == 200 and "must be before" in bad.text


def test_advisor_page_ranks_with_a_chart_and_sources_in_italian(rt: Runtime, ws: Workspace,
                                                               client: TestClient) -> None:
    sign_in(client, ws.owner_email, ws.password)
    html = client.get("/ui/advisor", params={"countries": "CN"}, headers={"Accept-Language": "it"}).text
    chart = bars(html, "advisor-chart")
    assert list(chart) == ["WeChat/Weixin"] and chart["WeChat/Weixin"] == "87.3"
    assert "S49: Statista chart" in html
    assert "Consulente canali" in html  # the page speaks Italian
    unknown = client.get("/ui/advisor", params={"countries": "ZZ"}, headers={"Accept-Language": "it"}).text
    assert "nessun dato pubblico per ZZ" in unknown
    bad = client.get("/ui/advisor", params={"countries": "Italia"}).text
    assert "ISO 3166" in bad
