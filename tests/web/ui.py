"""Helpers for the browser tests of the agent UI (Playwright's sync API on headless Chromium)."""

from __future__ import annotations

import re
from typing import Any

from tests.browser_support import new_page
from tests.conftest import Hub

PASSWORD = "password-123"
TIMEOUT = 15_000  # ms: what the UI may take to show a live change (CI: 2 busy cores)


def expect() -> Any:
    from playwright.sync_api import expect as pw_expect

    pw_expect.set_options(timeout=TIMEOUT)
    return pw_expect


def sign_in(browser: Any, hub: Hub, email: str, password: str = PASSWORD, locale: str = "en-US") -> Any:
    page = new_page(browser, locale=locale, viewport={"width": 1366, "height": 850})
    page.goto(f"{hub.url}/")
    expect()(page).to_have_url(re.compile(r"/ui/login$"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect()(page).to_have_url(f"{hub.url}/")
    # The live feed is up: from here on, changes can only reach the page through it.
    expect()(page.locator("#live-state")).to_have_attribute("data-state", "live")
    return page


def mark_page(page: Any) -> None:
    """A flag that a reload would wipe: proves later changes arrived without one."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__noReload === true"), "the page reloaded"


def list_settled(page: Any) -> None:
    """Wait until the conversation list answers the filters on screen (no reload or search pending).

    Filters reload the list asynchronously; asserting on rows before this can see the previous
    answer (or a page that is about to be replaced) on a slow machine."""
    expect()(page.locator("#conv-list")).to_have_attribute("aria-busy", "false")


def owner_and_teammate(hub: Hub, emu: Any, emulator_url: str, event_id: str,
                       text: str) -> tuple[Any, int, str, int]:
    """A workspace whose sandbox inbox has agent Bruno Bianchi as a member, and a customer's
    conversation in it: (workspace, conversation id, Bruno's e-mail, Bruno's user id)."""
    from tests.conftest import api_token, new_workspace
    from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event

    from crocevia.domain.enums import Role
    from crocevia.services import accounts, channels

    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator_url)
    bruno_email = f"bruno@{w.owner_email.split('@')[1]}"
    bruno = accounts.create_user(hub.rt, w.owner, email=bruno_email, name="Bruno Bianchi", role=Role.AGENT,
                                 password=PASSWORD)
    channels.set_members(hub.rt, w.owner, channel.id, [bruno.id])
    post_inbound(hub, channel, [text_event(event_id, text)])
    conv_id = hub.client(api_token(hub.rt, w.owner)).get("/api/v1/conversations").json()["items"][0]["id"]
    return w, int(conv_id), bruno_email, bruno.id
