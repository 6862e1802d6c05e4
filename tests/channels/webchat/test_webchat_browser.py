"""A visitor in headless Chromium on the /demo page, an agent answering through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture, new_page
from tests.channels.webchat.webchat_support import wait_for
from tests.conftest import Hub, api_token, new_workspace

from crocevia.channels.webchat.demo import seed_webchat
from crocevia.domain.enums import Role
from crocevia.services import accounts

browser = browser_fixture()

QUESTION = "Do you have a table for two tonight?"
ANSWER = "Yes! Shall we say 8pm?"


@pytest.fixture
def agent(hub: Hub) -> Any:
    """The demo set-up on a fresh hub: a web chat channel, and an API client acting for the business."""
    w = new_workspace(hub.rt)
    anna = accounts.create_user(hub.rt, w.owner, email="anna@demo.test", name="Anna", role=Role.AGENT,
                                password="password-123")
    seed_webchat(hub.rt, w.owner, anna.id)
    with hub.client(api_token(hub.rt, w.owner)) as client:
        yield client


def _conversation(agent: httpx.Client, text: str) -> dict[str, Any] | None:
    items: list[dict[str, Any]] = agent.get("/api/v1/conversations").json()["items"]
    return next((c for c in items if c["last_message_preview"] == text), None)


def _messages(agent: httpx.Client, conversation_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = agent.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
    return items


@pytest.mark.browser
def test_a_visitor_and_an_agent_chat_live_from_the_demo_page(browser: Any, hub: Hub, agent: httpx.Client) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, locale="en-US", viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{hub.url}/demo")
        launcher = page.get_by_role("button", name="Open chat")
        launcher.click()
        box = page.get_by_label("Write a message")
        expect(box).to_be_focused()
        box.fill(QUESTION)
        box.press("Enter")
        mine = page.locator(".crv-msg--me", has_text=QUESTION)
        expect(mine).to_contain_text("Sent")  # acknowledged by the hub, not just drawn

        conv = wait_for(lambda: _conversation(agent, QUESTION), "the visitor's message in the API")
        assert [m["text"] for m in _messages(agent, conv["id"])] == [QUESTION]

        reply = agent.post(f"/api/v1/conversations/{conv['id']}/messages",
                           json={"text": ANSWER, "buttons": [{"id": "8pm", "title": "8pm is perfect"},
                                                             {"id": "later", "title": "Later, 9pm"}]})
        assert reply.status_code == 202
        log = page.get_by_role("log")
        expect(log).to_contain_text(ANSWER)  # live, without reloading
        status = wait_for(lambda: (s := agent.get(f"/api/v1/messages/{reply.json()['id']}").json())["status"]
                          in ("delivered", "read") and s, "the reply's delivery receipt")
        assert status["delivered_at"] is not None

        page.get_by_role("button", name="8pm is perfect").click()
        expect(page.get_by_role("button", name="Later, 9pm")).to_be_disabled()
        wait_for(lambda: len(_messages(agent, conv["id"])) == 3, "the button reply in the API")
        last = _messages(agent, conv["id"])[0]
        assert (last["kind"], last["text"], last["content"]["id"]) == ("button_reply", "8pm is perfect", "8pm")

        page.keyboard.press("Escape")
        expect(box).to_be_hidden()
        expect(launcher).to_be_focused()

        # Coming back later: the token in localStorage brings the whole chat back.
        page.reload()
        page.get_by_role("button", name="Open chat").click()
        expect(log).to_contain_text(QUESTION)
        expect(log).to_contain_text(ANSWER)
        expect(page.locator(".crv-msg")).to_have_count(3)
        assert len(_messages(agent, conv["id"])) == 3  # reloading re-sent nothing
    finally:
        page.context.close()


@pytest.mark.browser
def test_the_widget_speaks_italian_to_an_italian_browser_and_fits_a_phone(
        browser: Any, hub: Hub, agent: httpx.Client) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, locale="it-IT", viewport={"width": 375, "height": 700}, is_mobile=True,
                    has_touch=True)
    try:
        page.goto(f"{hub.url}/demo")
        page.get_by_role("button", name="Apri la chat").click()
        panel = page.get_by_role("dialog")
        expect(panel).to_be_visible()
        expect(page.get_by_role("button", name="Invia")).to_be_visible()
        box = panel.bounding_box()
        assert box is not None and box["width"] >= 370  # the whole phone screen, not a tiny box
        page.get_by_label("Scrivi un messaggio").fill("Avete opzioni senza glutine?")
        page.get_by_role("button", name="Invia").click()
        expect(page.locator(".crv-msg--me")).to_contain_text("Inviato")
        wait_for(lambda: _conversation(agent, "Avete opzioni senza glutine?"), "the message in the API")
    finally:
        page.context.close()
