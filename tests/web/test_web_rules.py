"""/ui/tickets/rules: an admin lists, creates, edits, disables and deletes automation rules, and sees the
API's validation message next to the field at fault; agents are refused; the page speaks Italian."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.browser_support import browser_fixture
from tests.conftest import Hub, Workspace, new_workspace
from tests.web.conftest import add_user, boot_data, sign_in
from tests.web.ui import expect
from tests.web.ui import sign_in as browser_sign_in

from crocevia.domain.enums import Role
from crocevia.runtime import Runtime
from crocevia.services import templates, ticket_rules, webhooks_out

browser = browser_fixture()


def test_an_admin_gets_the_editor_with_the_workspaces_own_choices_and_an_agent_is_refused(
        rt: Runtime, client: TestClient, workspace: Workspace) -> None:
    templates.create_template(rt, workspace.owner, {"name": "Listino", "category": "utility",
                                                    "variants": {"it": {"text": "Ecco il listino"}}})
    webhooks_out.create_subscription(rt, workspace.owner, url="https://crm.example.com/h", events=["rule.webhook"],
                                     secret=None)
    other = new_workspace(rt)
    templates.create_template(rt, other.owner, {"name": "Segreto altrui", "variants": {"it": {"text": "x"}}})
    assert client.get("/ui/tickets/rules").status_code == 303  # signed out: to the sign-in page

    add_user(rt, workspace, Role.ADMIN, name="Ada Admin", language="it")
    sign_in(client, f"admin-ada@{workspace.owner_email.split('@')[1]}")
    page = client.get("/ui/tickets/rules")
    assert page.status_code == 200
    assert "Regole di automazione" in page.text and "Aggiungi una condizione" in page.text
    editor = boot_data(page.text)["rules_editor"]
    assert [t["name"] for t in editor["templates"]] == ["Listino"]
    assert [w["url"] for w in editor["webhooks"]] == ["https://crm.example.com/h"]
    assert "conversation.label_added" in editor["events"] and "label.name" in editor["fields"]

    add_user(rt, workspace, Role.AGENT, name="Anna Agente")
    sign_in(client, f"agent-anna@{workspace.owner_email.split('@')[1]}")
    refused = client.get("/ui/tickets/rules")
    assert refused.status_code == 403 and "rules_editor" not in refused.text


@pytest.mark.browser
def test_the_admin_creates_edits_disables_and_deletes_a_rule_and_sees_what_is_wrong(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    page = browser_sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="Automation rules").click()
    expect()(page.get_by_role("heading", name="Automation rules")).to_be_visible()
    expect()(page.locator("#no-rules")).to_be_visible()
    form = page.locator("#rule-form")

    # Nothing typed: the name is what is missing, said beside it.
    form.get_by_role("button", name="Save rule").click()
    expect()(page.locator("#rule-name")).to_have_attribute("aria-invalid", "true")
    expect()(form.get_by_test_id("field-error")).to_contain_text("at least 1 character")

    page.locator("#rule-name").fill("Guasti urgenti")
    page.locator("#rule-event").select_option(label="A ticket is opened")
    form.get_by_role("button", name="Add a condition").click()
    condition = form.get_by_test_id("condition-row")
    condition.get_by_label("Field").select_option(label="Ticket subject")
    condition.get_by_label("Test").select_option(label="contains")
    condition.get_by_label("Value").fill("guasto")
    action = form.get_by_test_id("action-row")
    # "Open a ticket" from a ticket event makes no sense: the API says so, next to the action.
    action.get_by_label("Action", exact=True).select_option(label="Open a ticket")
    form.get_by_role("button", name="Save rule").click()
    expect()(action.get_by_test_id("field-error")).to_contain_text("open_ticket runs only on message.received")
    expect()(action.get_by_label("Action", exact=True)).to_have_attribute("aria-invalid", "true")

    action.get_by_label("Action", exact=True).select_option(label="Set priority")
    action.get_by_label("Priority").select_option(label="Urgent")
    form.get_by_role("button", name="Save rule").click()
    row = page.locator('tr[data-rule="Guasti urgenti"]')
    expect()(row).to_contain_text("A ticket is opened")
    expect()(row).to_contain_text("Ticket subject contains guasto")
    expect()(row).to_contain_text("Set priority: Urgent")
    expect()(row.get_by_test_id("rule-status")).to_have_text("Enabled")
    [saved] = ticket_rules.list_rules(hub.rt, w.owner)
    assert (saved.event, saved.conditions, saved.actions, saved.is_active) == (
        "ticket.created", [{"field": "ticket.subject", "op": "contains", "value": "guasto"}],
        [{"type": "set_priority", "priority": "urgent"}], True)

    row.get_by_role("button", name="Disable").click()
    expect()(row.get_by_test_id("rule-status")).to_have_text("Disabled")
    assert ticket_rules.list_rules(hub.rt, w.owner)[0].is_active is False

    row.get_by_role("button", name="Edit").click()
    expect()(page.locator("#rule-form-title")).to_have_text("Edit the rule “Guasti urgenti”")
    page.locator("#rule-name").fill("Guasti gravi")
    form.get_by_role("button", name="Save rule").click()
    expect()(page.locator('tr[data-rule="Guasti gravi"]')).to_contain_text("Set priority: Urgent")
    expect()(page.locator('tr[data-rule="Guasti urgenti"]')).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('tr[data-rule="Guasti gravi"]').get_by_role("button", name="Delete").click()
    expect()(page.locator("#no-rules")).to_be_visible()
    assert ticket_rules.list_rules(hub.rt, w.owner) == []
