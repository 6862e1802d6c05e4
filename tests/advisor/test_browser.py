"""The dashboards and the advisor in headless Chromium against the real app: an owner filters the range,
reads the charts, downloads the CSV, and asks which apps reach an audience."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.advisor.seed import seed_history
from tests.browser_support import browser_fixture
from tests.conftest import Hub, new_workspace
from tests.web.ui import expect, sign_in

pytestmark = pytest.mark.browser
browser = browser_fixture()


def test_owner_filters_the_dashboard_and_exports_it(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    history = seed_history(hub.rt, w)
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="Dashboards").click()
    expect()(page.get_by_role("heading", name="Dashboards", level=1)).to_be_visible()

    page.get_by_label("From", exact=True).fill("2026-01-10")
    page.get_by_label("To", exact=True).fill("2026-01-19")
    page.get_by_role("button", name="Apply").click()
    volume = page.get_by_test_id("chart-volume")
    expect()(volume.locator('g[data-label="Alfa shop"]')).to_have_attribute("data-value", "4")
    expect()(volume.locator('g[data-label="Beta bot"]')).to_have_attribute("data-value", "2")
    expect()(page.get_by_test_id("chart-bots").locator('g[data-label="Beta bot"]')).to_have_attribute(
        "data-value", "50")
    row = page.get_by_test_id("audience-table").locator('tr[data-channel="Alfa shop"]')
    expect()(row.locator("td").nth(0)).to_have_text("2")   # active
    expect()(row.locator("td").nth(1)).to_have_text("1")   # new
    expect()(row.locator("td").nth(2)).to_have_text("1")   # returning

    # One channel only: the other disappears from the charts.
    page.get_by_label("Channel", exact=True).select_option(label="Beta bot")
    page.get_by_role("button", name="Apply").click()
    expect()(volume.locator('g[data-label="Alfa shop"]')).to_have_count(0)
    expect()(volume.locator('g[data-label="Beta bot"]')).to_have_attribute("data-value", "2")

    # The export link carries the same filters and the browser's session.
    href = page.get_by_test_id("export-channels").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    csv_text = httpx.get(hub.url + href, cookies=cookies, timeout=15).text
    assert csv_text.splitlines()[1].startswith(f"{history.b},Beta bot,sandbox,2,3,")
    assert len(csv_text.strip().splitlines()) == 2
    page.context.close()


def test_the_advisor_ranks_apps_for_an_audience(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="Channel advisor").click()
    page.get_by_label("Countries (weights optional)").fill("IT")
    page.get_by_label("Age", exact=True).fill("18-34")
    page.get_by_role("button", name="Rank the apps").click()
    chart = page.get_by_test_id("advisor-chart")
    expect()(chart.locator("g.chart-row").first).to_have_attribute("data-label", "WhatsApp")
    expect()(chart.locator('g[data-label="WhatsApp"]')).to_have_attribute("data-value", "93.4")
    first = page.get_by_test_id("advisor-table").locator("tbody tr").first
    expect()(first).to_contain_text("S89: ansa.it (Censis, 16 Dec 2022)")

    page.get_by_label("Countries (weights optional)").fill("ZZ")
    page.get_by_label("Age", exact=True).fill("")
    page.get_by_role("button", name="Rank the apps").click()
    expect()(page.get_by_test_id("advisor-warning")).to_contain_text("no public figures for ZZ")
    expect()(page.get_by_test_id("advisor-chart")).to_have_count(0)
    page.context.close()
