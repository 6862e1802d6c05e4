"""The agent UI for tickets: the list with filters and the SLA at a glance, and a ticket's page where
an agent moves the status and the customer hears about it in their app (headless Chromium)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.browser_support import browser_fixture
from tests.conftest import Hub, Workspace, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for
from tests.web.conftest import add_user, sign_in
from tests.web.ui import expect
from tests.web.ui import sign_in as browser_sign_in

from crocevia.domain.enums import Role
from crocevia.runtime import Runtime
from crocevia.services import tickets
from crocevia.services.accounts import create_team
from crocevia.storage.tables import Ticket

browser = browser_fixture()


def test_the_list_filters_by_status_and_speaks_italian(rt: Runtime, client: TestClient, workspace: Workspace) -> None:
    tickets.create_ticket(rt, workspace.owner, {"subject": "Caldaia rotta", "priority": "urgent"})
    done = tickets.create_ticket(rt, workspace.owner, {"subject": "Fattura doppia"})
    tickets.set_status(rt, workspace.owner, done.id, "solved")
    add_user(rt, workspace, Role.AGENT, name="Anna Agente", language="it")
    sign_in(client, f"agent-anna@{workspace.owner_email.split('@')[1]}")
    page = client.get("/ui/tickets").text
    assert "Caldaia rotta" in page and "Urgente" in page and "Fattura doppia" not in page  # active only
    solved = client.get("/ui/tickets", params={"status": "solved"}).text
    assert "Fattura doppia" in solved and "Caldaia rotta" not in solved
    assert client.get("/ui/tickets/999999").status_code == 404


def test_a_ticket_of_another_workspace_is_not_found(rt: Runtime, client: TestClient, workspace: Workspace) -> None:
    other = new_workspace(rt)
    theirs = tickets.create_ticket(rt, other.owner, {"subject": "Segreto altrui"})
    sign_in(client, workspace.owner_email, workspace.password)
    resp = client.get(f"/ui/tickets/{theirs.id}")
    assert resp.status_code == 404 and "Segreto altrui" not in resp.text


@pytest.mark.browser
def test_an_agent_moves_a_ticket_and_the_customer_is_told(browser: Any, hub: Hub, emu: httpx.Client,
                                                          emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("w-1", "Il router non si accende")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv = api.get("/api/v1/conversations").json()["items"][0]
    ticket = api.post(f"/api/v1/conversations/{conv['id']}/ticket", json={"notify_customer": False}).json()

    page = browser_sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/tickets")
    row = page.locator("[data-testid=ticket-row]", has_text="Il router non si accende")
    expect()(row).to_contain_text("New")
    row.get_by_role("link").click()
    page.get_by_label("Move to").select_option("open")
    page.get_by_role("button", name="Update and tell the customer").click()
    expect()(page.get_by_test_id("ticket-status")).to_have_text("Open")
    expect()(page.locator("[data-kind=customer_told]")).to_contain_text("Aggiornamento sul ticket n. 1")
    wait_for(lambda: [a for a in emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json()
                      if "ora è «in lavorazione»" in a["body"]["text"]], timeout=15, what="the customer update")
    assert ticket["number"] == 1


@pytest.mark.browser
def test_the_tickets_page_charts_backlog_and_resolution_by_team(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    team = create_team(hub.rt, w.owner, name="Assistenza", member_ids=[])
    for subject in ("Stampante", "Scanner"):
        tickets.create_ticket(hub.rt, w.owner, {"subject": subject})
    done = tickets.create_ticket(hub.rt, w.owner, {"subject": "Monitor", "team_id": team.id})
    with hub.rt.db.transaction() as s:  # opened an hour and a half ago
        s.get(Ticket, done.id).created_at = hub.rt.clock.now() - timedelta(minutes=90)  # type: ignore[union-attr]
    tickets.set_status(hub.rt, w.owner, done.id, "solved", notify_customer=False)

    page = browser_sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/tickets")
    backlog = page.locator("[data-testid=ticket-chart][data-kind=backlog]")
    expect()(backlog).to_contain_text("Backlog by status")
    expect()(backlog.locator("[data-testid=chart-bar]", has_text="New")).to_contain_text("2")
    expect()(backlog.locator("[data-testid=chart-bar]", has_text="Solved")).to_contain_text("1")
    resolution = page.locator("[data-testid=ticket-chart][data-kind=resolution_team]")
    expect()(resolution.locator("[data-testid=chart-bar]", has_text="Assistenza")).to_contain_text("1.5 h")
    expect()(resolution.locator("svg")).to_be_visible()


@pytest.mark.browser
def test_an_agent_sets_priority_and_assignee_and_the_page_follows_others_changes(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    t = tickets.create_ticket(hub.rt, w.owner, {"subject": "Connessione lenta"})
    page = browser_sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/tickets/{t.id}")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_label("Assignee").select_option(label=page.locator("#ticket-edit-assignee option").nth(1)
                                                .inner_text())
    page.get_by_role("button", name="Save").click()
    expect()(page.get_by_test_id("ticket-priority")).to_have_text("Urgent")
    expect()(page.get_by_test_id("ticket-assignee")).not_to_have_text("—")
    expect()(page.locator("[data-kind=updated]")).to_contain_text("priority")
    seen = tickets.get_ticket(hub.rt, w.owner, t.id)
    assert (seen.priority, seen.assignee_id) == ("urgent", w.owner.user_id)

    # Someone else moves the ticket: the open page shows it without the agent doing anything.
    tickets.set_status(hub.rt, w.owner, t.id, "on_hold", notify_customer=False)
    expect()(page.get_by_test_id("ticket-status")).to_have_text("On hold")
