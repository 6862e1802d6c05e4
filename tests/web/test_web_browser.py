"""The agent UI in headless Chromium against the real app (HTTP, WebSocket, workers) and the
provider emulator: what an agent sees and does, end to end."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, Workspace, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for
from tests.web.ui import PASSWORD, assert_not_reloaded, expect, mark_page, owner_and_teammate, sign_in

from crocevia.channels.meta.signature import SIGNATURE_HEADER, sign
from crocevia.channels.whatsapp import testkit as whatsapp_kit
from crocevia.domain.enums import Role
from crocevia.services import accounts, channels

pytestmark = pytest.mark.browser
browser = browser_fixture()

def test_a_message_arrives_live_the_reply_reaches_the_provider_and_ticks_to_delivered(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    page = sign_in(browser, hub, w.owner_email, w.password)
    expect()(page.get_by_text("No conversations match these filters.")).to_be_visible()
    mark_page(page)

    assert post_inbound(hub, channel, [text_event("ui-in-1", "Avete un tavolo per stasera?")]).status_code == 200
    row = page.locator("[data-testid=conversation-row]", has_text="Mario Rossi")
    expect()(row).to_be_visible()
    expect()(row).to_contain_text("Avete un tavolo per stasera?")
    expect()(row.locator(".unread-badge")).to_have_text("1")
    expect()(row.locator("[data-testid=waiting]")).to_be_visible()
    assert_not_reloaded(page)

    row.click()
    expect()(page).to_have_url(re.compile(r"/ui/conversations/\d+$"))
    thread = page.locator("[data-slot=messages]")
    expect()(thread).to_contain_text("Avete un tavolo per stasera?")
    expect()(row.locator(".unread-badge")).to_have_count(0)  # opening it marks it read

    composer = page.get_by_role("textbox", name="Reply")
    composer.fill("Sì, alle 20 per 4?")
    composer.press("Enter")
    accepted = wait_for(lambda: emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json(),
                        what="the emulator to receive the reply")
    assert [a["body"] for a in accepted] == [{"to": "+393331234567", "text": "Sì, alle 20 per 4?"}]
    expect()(composer).to_have_value("")

    reply = page.locator("[data-testid=message].out", has_text="Sì, alle 20 per 4?")
    expect()(reply.locator("[data-testid=message-status]")).to_have_attribute("data-status", "delivered")
    expect()(reply.locator("[data-testid=message-status]")).to_have_text(re.compile("Delivered"))
    assert_not_reloaded(page)

    # A second message from the customer lands in the open thread, live.
    post_inbound(hub, channel, [text_event("ui-in-2", "Perfetto, grazie!")])
    expect()(thread).to_contain_text("Perfetto, grazie!")
    page.context.close()


def test_a_failed_send_shows_why(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-f-1", "Ciao")])
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.locator("[data-testid=conversation-row]").first.click()
    emu.post("/_emulator/faults", json={"provider": "sandbox", "status": 400, "times": 1,
                                        "body": {"error": "invalid recipient"}})
    composer = page.get_by_role("textbox", name="Reply")
    composer.fill("Eccoci")
    page.get_by_role("button", name="Send").click()
    failed = page.locator("[data-testid=message].out", has_text="Eccoci")
    expect()(failed.locator("[data-testid=message-status]")).to_have_attribute("data-status", "failed")
    expect()(failed).to_contain_text("invalid recipient")
    page.context.close()


def _whatsapp_channel(hub: Hub, w: Workspace, emu: httpx.Client, emulator_url: str) -> Any:
    creds = dict(whatsapp_kit.config().credentials)
    channel = channels.create_channel(hub.rt, w.owner, kind="whatsapp", name="WhatsApp Trattoria",
                                      credentials=creds, settings={"api_base": emulator_url})
    cfg = channels.config_for(hub.rt, channel)
    emu.post("/_emulator/accounts/whatsapp", json={
        "account_id": creds["phone_number_id"], "access_token": creds["access_token"],
        "app_secret": creds["app_secret"], "webhook_url": cfg.webhook_url}).raise_for_status()
    return channel


def _whatsapp_text(written_at: float, text: str) -> bytes:
    body = json.loads((whatsapp_kit.FIXTURES / "messages__text.json").read_bytes())
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(written_at))
    message["text"]["body"] = text
    return json.dumps(body).encode()


def test_a_closed_whatsapp_window_says_why_and_offers_a_template(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = _whatsapp_channel(hub, w, emu, emulator.url)
    # The customer wrote two days ago: WhatsApp's 24-hour customer-service window is closed.
    body = _whatsapp_text(time.time() - 2 * 24 * 3600, "Mi richiamate?")
    resp = httpx.post(f"{hub.url}/webhooks/whatsapp/{channel.public_id}", content=body,
                      headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(
                          whatsapp_kit.config().credentials["app_secret"], body)})
    assert resp.status_code == 200, resp.text

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.locator("[data-testid=conversation-row]", has_text="Mario Rossi").click()
    banner = page.locator("[data-slot=window]")
    expect()(banner).to_be_visible()
    expect()(banner).to_contain_text("The reply window is closed")
    expect()(banner).to_contain_text("24 hours")
    expect()(banner).to_contain_text("whatsapp_24h")
    expect()(page.get_by_role("textbox", name="Reply")).to_be_hidden()  # no free text: a template instead

    page.get_by_label("Template name").fill("table_confirmation")
    page.get_by_label("Language code").fill("it")
    page.get_by_label("Parameters, one per line").fill("Mario\nstasera alle 20")
    page.get_by_role("button", name="Send template").click()

    accepted = wait_for(lambda: emu.get("/_emulator/accepted", params={"provider": "whatsapp"}).json(),
                        what="the WhatsApp emulator to receive the template")
    sent = accepted[0]["body"]
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "table_confirmation"
    assert sent["template"]["language"] == {"code": "it"}
    assert [p["text"] for p in sent["template"]["components"][0]["parameters"]] == ["Mario", "stasera alle 20"]
    template_msg = page.locator("[data-testid=message].out", has_text="table_confirmation")
    expect()(template_msg.locator("[data-testid=message-status]")).to_have_attribute("data-status", "delivered")

    # The customer writes again: the window reopens and free text is back, without a reload.
    mark_page(page)
    fresh = _whatsapp_text(time.time(), "Sì, grazie")
    fresh = fresh.replace(b"wamid.HBgMMzkzMzMxMjM0NTY3FQIAEhgUM0FBMDFBQjI0RjdFMkY3NkUxQkEA", b"wamid.second")
    httpx.post(f"{hub.url}/webhooks/whatsapp/{channel.public_id}", content=fresh,
               headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(
                   whatsapp_kit.config().credentials["app_secret"], fresh)}).raise_for_status()
    expect()(banner).to_be_hidden()
    expect()(page.get_by_role("textbox", name="Reply")).to_be_editable()
    assert_not_reloaded(page)
    page.context.close()


def test_an_agent_outside_the_inbox_cannot_open_its_conversations(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-priv-1", "Il mio IBAN è nel file allegato")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]
    accounts.create_user(hub.rt, w.owner, email=f"otto@{w.owner_email.split('@')[1]}", name="Otto Outsider",
                         role=Role.AGENT, password=PASSWORD)

    page = sign_in(browser, hub, f"otto@{w.owner_email.split('@')[1]}")
    expect()(page.get_by_text("No conversations match these filters.")).to_be_visible()
    page.goto(f"{hub.url}/ui/conversations/{conv_id}")
    expect()(page.get_by_test_id("not-found")).to_contain_text("Conversation not found")
    assert "IBAN" not in page.content()

    # Nor does a message arriving in that inbox reach the outsider's page.
    page.goto(f"{hub.url}/")
    expect()(page.locator("#live-state")).to_have_attribute("data-state", "live")
    post_inbound(hub, channel, [text_event("ui-priv-2", "Secondo messaggio riservato")])
    wait_for(lambda: len(api.get(f"/api/v1/conversations/{conv_id}/messages").json()["items"]) == 2,
             what="the second message to be stored")
    page.wait_for_timeout(500)  # give a wrongly delivered event time to show (it must not)
    expect()(page.locator("[data-testid=conversation-row]")).to_have_count(0)
    page.context.close()


def test_keyboard_shortcuts_move_reply_and_resolve(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-k-1", "Prima domanda", sender="+393330000001")])
    post_inbound(hub, channel, [text_event("ui-k-2", "Seconda domanda", sender="+393330000002")])
    api = hub.client(api_token(hub.rt, w.owner))
    page = sign_in(browser, hub, w.owner_email, w.password)
    expect()(page.locator("[data-testid=conversation-row]")).to_have_count(2)

    page.keyboard.press("j")  # the newest conversation first
    expect()(page.locator("[data-slot=messages]")).to_contain_text("Seconda domanda")
    page.keyboard.press("j")
    expect()(page.locator("[data-slot=messages]")).to_contain_text("Prima domanda")
    first_id = int(page.url.rsplit("/", 1)[1])

    page.keyboard.press("r")
    expect()(page.get_by_role("textbox", name="Reply")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    wait_for(lambda: api.get(f"/api/v1/conversations/{first_id}").json()["status"] == "resolved",
             what="the conversation to be resolved")
    # Resolved conversations leave the "open" list; the other one stays.
    expect()(page.locator("[data-testid=conversation-row]")).to_have_count(1)

    page.get_by_label("Filter by status").select_option("")  # any status: both again
    expect()(page.locator("[data-testid=conversation-row]")).to_have_count(2)
    page.keyboard.press("/")
    expect()(page.get_by_role("searchbox", name="Search conversations")).to_be_focused()
    page.keyboard.type("Seconda")
    expect()(page.locator("[data-testid=conversation-row]")).to_have_text([re.compile("Seconda domanda")])
    page.context.close()


def test_a_private_note_mentions_a_teammate_who_is_told_live(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w, conv_id, bruno_email, bruno_id = owner_and_teammate(hub, emu, emulator.url, "ui-n-1", "Vorrei un rimborso")

    bruno_page = sign_in(browser, hub, bruno_email)
    owner_page = sign_in(browser, hub, w.owner_email, w.password)
    owner_page.goto(f"{hub.url}/ui/conversations/{conv_id}")
    owner_page.get_by_role("tab", name="Private note").click()
    note = owner_page.get_by_role("textbox", name="Private note")
    note.type("Chiedo a @bru")
    suggestion = owner_page.get_by_role("listbox", name="Mention a teammate").get_by_role(
        "option", name=re.compile("Bruno Bianchi"))
    expect()(suggestion).to_be_visible()
    note.press("Enter")  # picks the suggestion
    expect()(note).to_have_value("Chiedo a @bruno ")
    note.type("di controllare l'ordine")
    note.press("Enter")
    shown = owner_page.locator("[data-testid=note]")
    expect()(shown).to_contain_text("Chiedo a @bruno di controllare l'ordine")
    expect()(shown.locator(".mention")).to_have_text("@bruno")

    notes = hub.client(api_token(hub.rt, w.owner)).get(f"/api/v1/conversations/{conv_id}/notes").json()
    assert notes[0]["mentions"] == [bruno_id]
    expect()(bruno_page.locator("#toasts")).to_contain_text("mentioned you in a note")
    owner_page.context.close()
    bruno_page.context.close()


def test_an_assignment_reaches_the_assignee_live(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    domain = w.owner_email.split("@")[1]
    carla = accounts.create_user(hub.rt, w.owner, email=f"carla@{domain}", name="Carla Conti", role=Role.AGENT,
                                 password=PASSWORD)
    channels.set_members(hub.rt, w.owner, channel.id, [carla.id])
    post_inbound(hub, channel, [text_event("ui-a-1", "Chi mi aiuta con la fattura?")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]

    carla_page = sign_in(browser, hub, f"carla@{domain}")
    carla_page.get_by_role("button", name="Mine").click()
    expect()(carla_page.get_by_text("No conversations match these filters.")).to_be_visible()
    mark_page(carla_page)

    owner_page = sign_in(browser, hub, w.owner_email, w.password)
    owner_page.goto(f"{hub.url}/ui/conversations/{conv_id}")
    owner_page.get_by_label("Assignee").select_option(label="Carla Conti")
    wait_for(lambda: api.get(f"/api/v1/conversations/{conv_id}").json()["assignee_id"] == carla.id,
             what="the assignment to be saved")
    expect()(owner_page.get_by_test_id("conversation-row")).to_contain_text("Assigned to Carla Conti")

    row = carla_page.get_by_test_id("conversation-row")
    expect()(row).to_have_count(1)
    expect()(row).to_contain_text("Chi mi aiuta con la fattura?")
    expect()(row).to_contain_text("Assigned to you")
    expect()(carla_page.locator("#toasts")).to_contain_text("A conversation was assigned to you.")
    assert_not_reloaded(carla_page)

    # Taken back: it leaves Carla's "Mine" list, again without a reload.
    owner_page.get_by_label("Assignee").select_option(label="No assignee")
    expect()(row).to_have_count(0)
    assert_not_reloaded(carla_page)
    owner_page.context.close()
    carla_page.context.close()
