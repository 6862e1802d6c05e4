"""/ui/bots: an admin sees the bot flows (YAML, enable/disable), today's bookings per resource and the
orders with their status; edits a flow's YAML (a new version; a mistake is shown at its line) and
creates one; agents are refused; the page speaks Italian."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from tests.browser_support import browser_fixture
from tests.conftest import Hub, Workspace, new_workspace
from tests.core.test_pipeline import wait_for
from tests.web.conftest import add_user, sign_in
from tests.web.ui import expect
from tests.web.ui import sign_in as browser_sign_in

from crocevia.automation.samples import RESTAURANT_FLOW, RESTAURANT_HOURS
from crocevia.domain.enums import Role
from crocevia.runtime import Runtime
from crocevia.services import bookings, flows
from crocevia.storage.tables import Booking, BotFlow, Order

browser = browser_fixture()


def _seed(rt: Runtime, w: Workspace) -> int:
    flow = flows.save_flow(rt, w.owner, source=RESTAURANT_FLOW)
    res = bookings.create_resource(rt, w.owner, name="Tavoli", capacity=5, slot_minutes=60, hours=RESTAURANT_HOURS,
                                   closed_dates=[], timezone="Europe/Rome")
    rome = ZoneInfo("Europe/Rome")
    today = rt.clock.now().astimezone(rome).date()
    with rt.db.transaction() as s:
        # Rows as the services leave them; written directly so "today" works at any hour of the run.
        s.add(Booking(workspace_id=w.id, resource_id=res.id, party_size=4, name="Famiglia Rossi",
                      starts_at=datetime.combine(today, time(20, 0), rome)))
        s.add(Order(workspace_id=w.id, status="paid", currency="EUR", total_minor=1700,
                    items=[{"name": "Pizza Margherita", "quantity": 2}]))
        s.add(Order(workspace_id=w.id, status="pending", currency="EUR", total_minor=550,
                    items=[{"name": "Tiramisù", "quantity": 1}]))
    return flow.id


def test_an_italian_admin_sees_flows_bookings_and_orders_and_an_agent_is_refused(
        rt: Runtime, client: TestClient, workspace: Workspace) -> None:
    _seed(rt, workspace)
    other = new_workspace(rt)
    flows.save_flow(rt, other.owner, source=RESTAURANT_FLOW.replace("name: ristorante", "name: segreto-altrui"))
    add_user(rt, workspace, Role.ADMIN, name="Ada Admin", language="it")
    sign_in(client, f"admin-ada@{workspace.owner_email.split('@')[1]}")
    page = client.get("/ui/bots")
    assert page.status_code == 200
    html = page.text
    assert "Bot e vendite" in html and "Flussi dei bot" in html and "ristorante" in html and "Attivo" in html
    assert "segreto-altrui" not in html
    assert "Prenotazioni di oggi" in html and "Famiglia Rossi" in html and "20:00" in html
    assert "2× Pizza Margherita" in html and "17.00 EUR" in html and "Pagato" in html
    assert "In attesa di pagamento" in html
    add_user(rt, workspace, Role.AGENT, name="Anna Agente")
    sign_in(client, f"agent-anna@{workspace.owner_email.split('@')[1]}")
    refused = client.get("/ui/bots")
    assert refused.status_code == 403 and "Famiglia Rossi" not in refused.text


@pytest.mark.browser
def test_the_admin_reads_the_yaml_and_disables_a_flow(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    flow_id = _seed(hub.rt, w)
    page = browser_sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="Bots and selling").click()
    row = page.locator('tr[data-flow="ristorante"]')
    expect()(row.get_by_test_id("flow-status")).to_have_text("Enabled")
    row.get_by_text("Show YAML").click()
    expect()(row.get_by_test_id("flow-yaml")).to_have_value(re.compile(r"resource: Tavoli"))
    expect()(page.locator('[data-testid="bookings"][data-resource="Tavoli"]')).to_contain_text("Famiglia Rossi")
    expect()(page.get_by_test_id("orders")).to_contain_text("Awaiting payment")

    row.get_by_role("button", name="Disable").click()
    expect()(page.locator('tr[data-flow="ristorante"]').get_by_test_id("flow-status")).to_have_text("Disabled")

    def inactive() -> bool:
        with hub.rt.db.read() as s:
            return s.get(BotFlow, flow_id).is_active is False  # type: ignore[union-attr]
    wait_for(inactive, timeout=10, what="the flow to be disabled")


@pytest.mark.browser
def test_the_admin_edits_a_flow_sees_a_mistake_at_its_line_then_saves_a_new_version_and_creates_one(
        browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    flow_id = _seed(hub.rt, w)
    page = browser_sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/bots")
    row = page.locator('tr[data-flow="ristorante"]')
    row.get_by_text("Show YAML").click()
    editor = row.get_by_test_id("flow-yaml")
    original = editor.input_value()
    lines = original.split("\n")
    bad_line = next(i for i, line in enumerate(lines, start=1) if line.strip() == "next: day")
    lines[bad_line - 1] = lines[bad_line - 1].replace("next: day", "next: nowhere")
    editor.fill("\n".join(lines))
    row.get_by_role("button", name="Save new version").click()

    error = row.get_by_test_id("flow-error")
    expect()(error).to_be_visible()
    expect()(error).to_contain_text(f"Line {bad_line}: ")
    expect()(error).to_contain_text("names no step: 'nowhere'")
    expect()(error).to_contain_text(f"{bad_line} | {lines[bad_line - 1]}")
    expect()(editor).to_have_attribute("aria-invalid", "true")
    # The cursor is on the faulty line, selected.
    assert page.evaluate("() => { const t = document.activeElement; "
                         "return t.value.slice(t.selectionStart, t.selectionEnd); }") == lines[bad_line - 1]
    with hub.rt.db.read() as s:
        assert s.get(BotFlow, flow_id).version == 1  # type: ignore[union-attr]

    fixed = original.replace("Sono il bot del Ristorante Crocevia", "Sono il bot della Trattoria Crocevia")
    assert fixed != original
    editor.fill(fixed)
    row.get_by_role("button", name="Save new version").click()
    row = page.locator('tr[data-flow="ristorante"]')
    expect()(row.locator("td").nth(1)).to_have_text("2")
    row.get_by_text("Show YAML").click()
    expect()(row.get_by_test_id("flow-yaml")).to_have_value(re.compile("Trattoria Crocevia"))
    with hub.rt.db.read() as s:
        saved = s.get(BotFlow, flow_id)
        assert saved is not None and saved.version == 2 and saved.is_active
        assert "Trattoria" in saved.definition["steps"][0]["text"]["it"]

    page.get_by_test_id("new-flow").get_by_text("New flow").click()
    new_editor = page.locator("#flow-source-new")
    new_editor.fill('{"name": "orari", "start": "hi",\n "steps": [{"id": "hi", "type": "send"}]}')
    page.get_by_role("button", name="Create flow").click()
    new_error = page.get_by_test_id("new-flow").get_by_test_id("flow-error")
    expect()(new_error).to_contain_text("Line 2: ")
    expect()(new_error).to_contain_text("text")
    new_editor.fill("name: orari\nstart: hi\nsteps:\n  - {id: hi, type: send, text: Aperti dalle 19}\n")
    page.get_by_role("button", name="Create flow").click()
    expect()(page.locator('tr[data-flow="orari"]').get_by_test_id("flow-status")).to_have_text("Enabled")
    page.context.close()
