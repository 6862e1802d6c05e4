"""The admin pages in headless Chromium against the real app: connect a channel through the guided
form and test it against the emulator, manage users and inbox membership, API tokens and
outgoing webhooks."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, api_token, new_workspace
from tests.web.ui import expect, sign_in

pytestmark = pytest.mark.browser
browser = browser_fixture()


def test_a_channel_is_connected_through_the_guided_form_and_tested(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    emu.post("/_emulator/accounts/sandbox", json={"account_id": "acct-guided", "api_key": "key-guided-123",
                                                  "webhook_secret": "secret-guided-1",
                                                  "webhook_url": f"{hub.url}/unused"}).raise_for_status()
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="Channels").click()
    expect()(page.get_by_text("No channel connected yet")).to_be_visible()

    page.get_by_role("button", name=re.compile("^Sandbox")).click()
    page.get_by_label("Name shown to agents").fill("Sandbox shop")
    page.get_by_label("Account Id").fill("acct-guided")
    page.get_by_label("Api Key").fill("short")  # the platform's rules are checked: at least 8 characters
    page.get_by_label("Webhook Secret").fill("secret-guided-1")
    page.get_by_text("Advanced").click()
    page.get_by_label("API base URL").fill(emulator.url)
    page.get_by_role("button", name="Connect", exact=True).click()
    api_key = page.get_by_label("Api Key")
    expect()(api_key).to_have_attribute("aria-invalid", "true")
    expect()(page.locator(".field-error")).to_contain_text("api_key")

    api_key.fill("key-guided-123")
    page.get_by_role("button", name="Connect", exact=True).click()
    result = page.locator("#connected-result")
    expect()(result).to_contain_text("Sandbox shop is connected.")
    expect()(result).to_contain_text(f"{hub.url}/webhooks/sandbox/ch_")
    result.get_by_role("button", name="Test connection").click()
    expect()(result).to_contain_text("connected to sandbox account acct-guided")

    channels = hub.client(api_token(hub.rt, w.owner)).get("/api/v1/channels").json()
    assert [(c["kind"], c["name"], c["settings"]) for c in channels] == [
        ("sandbox", "Sandbox shop", {"api_base": emulator.url})]
    expect()(page.get_by_test_id("channel-row")).to_have_count(1)
    page.context.close()


def test_users_roles_and_inbox_membership(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    from tests.core.test_pipeline import connect_sandbox

    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/admin/users")
    domain = w.owner_email.split("@")[1]
    page.get_by_label("Name", exact=True).fill("Carla Conti")
    page.get_by_label("E-mail").fill(f"carla@{domain}")
    page.get_by_label("First password").fill("carla-password")
    page.get_by_role("button", name="Add user").click()
    carla_row = page.get_by_test_id("user-row").filter(has_text="Carla Conti")
    expect()(carla_row).to_be_visible()
    carla = next(u for u in api.get("/api/v1/users").json() if u["name"] == "Carla Conti")
    assert carla["role"] == "agent"

    carla_row.get_by_role("checkbox", name=re.compile("Sandbox")).check()
    expect()(page.locator("#toasts")).to_contain_text("Carla Conti now sees Sandbox")
    assert api.get(f"/api/v1/channels/{channel.id}/members").json()["user_ids"] == [carla["id"]]

    carla_row.get_by_label("Role of Carla Conti").select_option("admin")
    expect()(page.locator("#toasts")).to_contain_text("Saved")
    assert next(u for u in api.get("/api/v1/users").json() if u["id"] == carla["id"])["role"] == "admin"
    page.context.close()


def test_an_api_token_is_shown_once_works_and_can_be_revoked(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("What is it for?").fill("CRM sync")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("secret")
    expect()(secret).to_have_text(re.compile(r"^crv"))
    token = secret.inner_text()
    assert httpx.get(f"{hub.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    page.reload()
    expect()(page.get_by_test_id("token-row")).to_contain_text("CRM sync")
    assert token not in page.content()  # never shown again
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect()(page.get_by_test_id("token-row")).to_contain_text("Revoked")
    assert httpx.get(f"{hub.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    page.context.close()


def test_an_outgoing_webhook_is_added_with_its_secret_shown_once(browser: Any, hub: Hub) -> None:
    w = new_workspace(hub.rt)
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/admin/webhooks")
    page.get_by_label("URL").fill("https://crm.example.com/hooks/crocevia")
    page.get_by_label("message.created").check()  # picking one event unticks "All events"
    page.get_by_role("button", name="Add subscription").click()
    expect()(page.get_by_test_id("secret")).not_to_be_empty()
    subs = hub.client(api_token(hub.rt, w.owner)).get("/api/v1/webhooks").json()
    assert [(s["url"], s["events"]) for s in subs] == [("https://crm.example.com/hooks/crocevia", ["message.created"])]
    expect()(page.locator("#webhook-table")).to_contain_text("crm.example.com")
    # Deleting asks first; once confirmed, the subscription is gone from the table and the API.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#webhook-table").get_by_role("button", name="Delete").click()
    expect()(page.locator("#webhook-table")).not_to_contain_text("crm.example.com")
    assert hub.client(api_token(hub.rt, w.owner)).get("/api/v1/webhooks").json() == []
    page.context.close()
