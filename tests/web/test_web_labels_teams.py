"""Teams and labels administered in headless Chromium against the real app (issue 5): a team is
renamed, its members changed and deleted; a label is added, renamed, recoloured and deleted, and an
agent's open inbox shows each change on the conversation that carries it, without a reload."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for
from tests.web.ui import PASSWORD, assert_not_reloaded, expect, mark_page, sign_in

from crocevia.domain.enums import Role
from crocevia.services import accounts, channels

pytestmark = pytest.mark.browser
browser = browser_fixture()


def test_a_team_is_renamed_its_members_changed_and_then_deleted(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    domain = w.owner_email.split("@")[1]
    sara = accounts.create_user(hub.rt, w.owner, email=f"sara@{domain}", name="Sara Supporto", role=Role.AGENT,
                                password=PASSWORD)
    marco = accounts.create_user(hub.rt, w.owner, email=f"marco@{domain}", name="Marco Vendite", role=Role.AGENT,
                                 password=PASSWORD)
    team = accounts.create_team(hub.rt, w.owner, name="Assistenza", member_ids=[sara.id])
    post_inbound(hub, channel, [text_event("ui-te-1", "Il pacco non è arrivato")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]
    api.post(f"/api/v1/conversations/{conv_id}/assign", json={"assignee_id": None, "team_id": team.id}
             ).raise_for_status()

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/admin/teams")
    row = page.get_by_test_id("team-row")
    expect()(row).to_have_text([re.compile("Assistenza.*Sara Supporto")])
    row.get_by_role("button", name="Edit the team Assistenza").click()
    expect()(page.locator("#team-form-title")).to_have_text("Edit the team Assistenza")
    expect()(page.get_by_label("Sara Supporto")).to_be_checked()
    page.get_by_label("Name", exact=True).fill("Vendite")
    page.get_by_label("Sara Supporto").uncheck()
    page.get_by_label("Marco Vendite").check()
    page.get_by_role("button", name="Save").click()
    expect()(row).to_have_text([re.compile(r"^Vendite\s*Marco Vendite")])
    expect()(page.locator("#team-form-title")).to_have_text("Add a team")  # back to adding
    assert api.get("/api/v1/teams").json() == [{"id": team.id, "name": "Vendite", "member_ids": [marco.id]}]

    # A name that is taken is refused beside the field.
    api.post("/api/v1/teams", json={"name": "Assistenza"}).raise_for_status()
    page.reload()
    page.get_by_test_id("team-row").filter(has_text="Vendite").get_by_role("button", name="Edit").click()
    page.get_by_label("Name", exact=True).fill("Assistenza")
    page.get_by_role("button", name="Save").click()
    expect()(page.locator(".field-error")).to_contain_text("a team with this name exists")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete the team Vendite").click()
    expect()(page.get_by_test_id("team-row")).to_have_text([re.compile("^Assistenza")])
    expect()(page.locator("#toasts")).to_contain_text("Team Vendite deleted.")
    assert api.get(f"/api/v1/conversations/{conv_id}").json()["team_id"] is None
    page.context.close()


def _dot_color(chip: Any) -> str:
    color: str = chip.locator(".label-dot").evaluate("el => getComputedStyle(el).backgroundColor")
    return color


def test_labels_are_managed_by_an_admin_and_open_inboxes_follow_live(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    domain = w.owner_email.split("@")[1]
    anna = accounts.create_user(hub.rt, w.owner, email=f"anna@{domain}", name="Anna Agente", role=Role.AGENT,
                                password=PASSWORD)
    channels.set_members(hub.rt, w.owner, channel.id, [anna.id])
    post_inbound(hub, channel, [text_event("ui-lb-1", "Cliente importante")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]
    api.put(f"/api/v1/conversations/{conv_id}/labels", json={"labels": ["vip", "nuovo"]}).raise_for_status()

    # Anna has the conversation open in her inbox.
    agent = sign_in(browser, hub, f"anna@{domain}", PASSWORD)
    agent.goto(f"{hub.url}/ui/conversations/{conv_id}")
    expect()(agent.locator("#live-state")).to_have_attribute("data-state", "live")
    row = agent.get_by_test_id("conversation-row")
    thread_labels = agent.locator("#thread-pane").get_by_test_id("label")
    expect()(thread_labels).to_have_text([re.compile("^nuovo"), re.compile("^vip")])
    mark_page(agent)

    admin = sign_in(browser, hub, w.owner_email, w.password)
    admin.get_by_role("link", name="Labels").click()
    rows = admin.get_by_test_id("label-row")
    expect()(rows).to_have_text([re.compile(r"nuovo.*1"), re.compile(r"vip.*1")])  # typed labels are listed

    # Add one.
    admin.get_by_label("Name", exact=True).fill("Urgente")
    admin.get_by_label("Colour").fill("#dc2626")
    admin.get_by_label("Description").fill("Rispondere entro un'ora")
    admin.get_by_role("button", name="Add label").click()
    expect()(rows.filter(has_text="urgente")).to_contain_text("Rispondere entro un'ora")

    # Rename and recolour "vip": Anna's list row and thread follow.
    rows.filter(has_text="vip").get_by_role("button", name="Edit the label vip").click()
    admin.get_by_label("Name", exact=True).fill("Gold")
    admin.get_by_label("Colour").fill("#ff0000")
    admin.get_by_role("button", name="Save").click()
    expect()(rows.filter(has_text="gold")).to_be_visible()
    expect()(thread_labels).to_have_text([re.compile("^gold"), re.compile("^nuovo")])
    expect()(row.get_by_test_id("row-label").filter(has_text="gold")).to_be_visible()
    assert _dot_color(row.get_by_test_id("row-label").filter(has_text="gold")) == "rgb(255, 0, 0)"
    assert api.get(f"/api/v1/conversations/{conv_id}").json()["labels"] == ["gold", "nuovo"]

    # Delete "nuovo": gone from the conversation, on screen and on the server.
    admin.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text="nuovo").get_by_role("button", name="Delete the label nuovo").click()
    expect()(admin.locator("#toasts")).to_contain_text("Label nuovo deleted.")
    expect()(thread_labels).to_have_text([re.compile("^gold")])
    expect()(row.get_by_test_id("row-label")).to_have_text([re.compile("^gold")])
    wait_for(lambda: api.get(f"/api/v1/conversations/{conv_id}").json()["labels"] == ["gold"],
             what="the label removed from the conversation")
    assert_not_reloaded(agent)

    # An agent may look at conversations' labels but not administer them.
    agent.goto(f"{hub.url}/ui/admin/labels")
    expect()(agent.get_by_role("heading", level=1)).not_to_have_text("Labels")
    agent.context.close()
    admin.context.close()
