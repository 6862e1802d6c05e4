"""Two of the issue's "what must work" items that had an API but no screen (issue 5): an admin resets a
colleague's password, and an agent opens a ticket from the conversation in front of them."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event
from tests.web.ui import PASSWORD, expect, sign_in

from crocevia.domain.enums import Role
from crocevia.services import accounts

pytestmark = pytest.mark.browser
browser = browser_fixture()


def _login(hub: Hub, email: str, password: str) -> int:
    return httpx.post(f"{hub.url}/api/v1/auth/login", json={"email": email, "password": password}).status_code


def test_an_admin_resets_a_colleagues_password(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    email = f"dario@{w.owner_email.split('@')[1]}"
    accounts.create_user(hub.rt, w.owner, email=email, name="Dario Dimentico", role=Role.AGENT, password=PASSWORD)
    dario = sign_in(browser, hub, email)  # signed in somewhere before the reset

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/admin/users")
    row = page.get_by_test_id("user-row").filter(has_text="Dario Dimentico")
    row.get_by_role("button", name="Reset the password of Dario Dimentico").click()
    dialog = page.get_by_role("dialog", name="New password for Dario Dimentico")
    dialog.get_by_label("New password").fill("corta")
    dialog.get_by_role("button", name="Set the password").click()
    expect()(dialog.locator(".field-error")).to_contain_text("at least 8 characters")
    dialog.get_by_label("New password").fill("nuova-password-1")
    dialog.get_by_role("button", name="Set the password").click()
    expect()(dialog).to_be_hidden()
    expect()(page.locator("#toasts")).to_contain_text("Dario Dimentico has a new password.")

    assert _login(hub, email, PASSWORD) == 401
    assert _login(hub, email, "nuova-password-1") == 200
    dario.reload()  # the old session was ended by the reset
    expect()(dario).to_have_url(re.compile(r"/ui/login"))
    # Nobody resets their own password from here (they use their profile).
    expect()(page.get_by_test_id("user-row").filter(has_text="(you)").get_by_role("button")).to_have_count(0)
    page.context.close()
    dario.context.close()


def test_an_agent_opens_a_ticket_from_the_conversation(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-tk-1", "La lavatrice perde acqua")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/conversations/{conv_id}")
    page.once("dialog", lambda dialog: dialog.accept("Lavatrice guasta"))
    page.get_by_role("button", name="Open a ticket").click()
    toast = page.locator("#toasts")
    expect()(toast).to_contain_text(re.compile(r"Ticket #1 opened\."))
    tickets = api.get("/api/v1/tickets").json()["items"]
    assert [(t["subject"], t["conversation_id"]) for t in tickets] == [("Lavatrice guasta", conv_id)]
    toast.get_by_role("link", name="Show").click()
    expect()(page).to_have_url(f"{hub.url}/ui/tickets/{tickets[0]['id']}")
    expect()(page.get_by_text("Lavatrice guasta").first).to_be_visible()
    page.context.close()
