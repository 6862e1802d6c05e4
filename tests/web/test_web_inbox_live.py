"""The conversation list's live updates (issue 5): a message is drawn from its live event at once, with
no request in between, and the contact the page does not know yet is named as soon as the server says
who it is; a search still keeps out what does not match it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event
from tests.web.ui import assert_not_reloaded, expect, list_settled, mark_page, sign_in

pytestmark = pytest.mark.browser
browser = browser_fixture()


def _event(msg_id: str, text: str, sender: str, name: str) -> dict[str, Any]:
    return {"type": "message", "id": msg_id, "from": sender, "name": name, "text": text,
            "timestamp": int(time.time())}


def test_a_returning_customer_comes_back_to_the_list_named(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("live-back-1", "Vi scrivo domani")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]
    assert api.post(f"/api/v1/conversations/{conv_id}/status", json={"status": "pending"}).status_code == 200

    # The open conversations are listed: this one is pending, so the page knows neither it nor its
    # contact (who was announced before the page opened).
    page = sign_in(browser, hub, w.owner_email, w.password)
    expect()(page.get_by_text("No conversations match these filters.")).to_be_visible()
    mark_page(page)

    post_inbound(hub, channel, [text_event("live-back-2", "Eccomi, ci siamo sentiti ieri")])
    row = page.locator("[data-testid=conversation-row]", has_text="Eccomi, ci siamo sentiti ieri")
    expect()(row).to_be_visible()
    expect()(row.locator(".conv-name")).to_have_text("Mario Rossi")
    expect()(row.locator(".unread-badge")).to_have_text("2")
    assert_not_reloaded(page)
    page.context.close()


def test_a_search_keeps_out_live_conversations_that_do_not_match(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    page = sign_in(browser, hub, w.owner_email, w.password)
    # A search by phone number: the live events name new customers but do not carry their phone.
    page.get_by_label("Search conversations").fill("3339990001")
    page.get_by_label("Search conversations").press("Enter")
    list_settled(page)
    expect()(page.get_by_text("No conversations match these filters.")).to_be_visible()
    mark_page(page)

    post_inbound(hub, channel, [_event("live-q-1", "Buonasera", "+393331234567", "Mario Rossi")])
    post_inbound(hub, channel, [_event("live-q-2", "Avete posto per due?", "+393339990001", "Luigi Verdi")])
    rows = page.locator("[data-testid=conversation-row]")
    expect()(rows.filter(has_text="Luigi Verdi")).to_contain_text("Avete posto per due?")
    page.wait_for_timeout(500)  # give a wrongly drawn row time to show (it must not)
    expect()(rows).to_have_count(1)
    assert_not_reloaded(page)

    # Without the search, both are there, newest first.
    page.get_by_label("Search conversations").fill("")
    page.get_by_label("Search conversations").press("Enter")
    list_settled(page)
    expect()(rows).to_have_count(2)
    expect()(rows.first).to_contain_text("Luigi Verdi")
    expect()(rows.nth(1)).to_contain_text("Mario Rossi")
    page.context.close()


def test_live_conversations_push_the_oldest_past_load_more(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    page = sign_in(browser, hub, w.owner_email, w.password)
    list_settled(page)
    mark_page(page)
    rows = page.get_by_test_id("conversation-row")
    more = page.get_by_role("button", name="Load more")
    expect()(more).to_be_hidden()

    # 52 customers write while the page is open: the 50 newest are on the page, newest first.
    for batch in range(4):
        post_inbound(hub, channel, [
            _event(f"live-win-{n}", f"Richiesta {n:02d}", f"+39333880{n:04d}", f"Cliente {n:02d}")
            for n in range(batch * 13, batch * 13 + 13)])
    expect()(rows.first).to_contain_text("Cliente 51")
    expect()(rows).to_have_count(50)
    expect()(rows.last).to_contain_text("Cliente 02")
    expect()(more).to_be_visible()

    # The two oldest are one click away, without asking the server again.
    more.click()
    expect()(rows).to_have_count(52)
    expect()(rows.last).to_contain_text("Cliente 00")
    expect()(more).to_be_hidden()
    assert_not_reloaded(page)
    page.context.close()
