"""The inbox in headless Chromium: filters, search and keyset paging of the list, media both ways,
and the contact panel."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for
from tests.web.ui import expect, list_settled, sign_in

from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.services import conversations, ingest
from crocevia.services.conversations import ConversationFilter

pytestmark = pytest.mark.browser
browser = browser_fixture()


def test_filters_search_and_load_more(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    for i in range(27):
        ingest.ingest(hub.rt, channel, [InboundMessage(
            external_message_id=f"bulk-{i}", sender_id=f"+3933300{i:05d}", sender_phone=f"+3933300{i:05d}",
            sender_name=f"Cliente {i:02d}", kind=MessageKind.TEXT, text=f"Domanda numero {i}")])
    rows = conversations.list_conversations(hub.rt, w.owner, ConversationFilter(q="Cliente 03")).items
    mine = rows[0][0].id
    conversations.assign(hub.rt, w.owner, mine, assignee_id=w.owner.user_id)
    conversations.set_labels(hub.rt, w.owner, mine, ["rimborso"])

    page = sign_in(browser, hub, w.owner_email, w.password)
    listed = page.get_by_test_id("conversation-row")
    list_settled(page)
    expect()(listed).to_have_count(25)  # one page; the rest behind the keyset cursor
    page.get_by_role("button", name="Load more").click()
    list_settled(page)
    expect()(listed).to_have_count(27)
    expect()(page.get_by_role("button", name="Load more")).to_be_hidden()

    page.get_by_role("button", name="Mine").click()
    list_settled(page)
    expect()(listed).to_have_text([re.compile("Cliente 03.*Assigned to you")])
    assert "assignee=mine" in page.url  # the filter survives a reload
    page.reload()
    list_settled(page)
    expect()(listed).to_have_text([re.compile("Cliente 03.*Assigned to you")])

    page.get_by_role("button", name="Unassigned").click()
    list_settled(page)
    expect()(listed).to_have_count(25)
    expect()(listed.filter(has_text="Cliente 03")).to_have_count(0)
    page.get_by_role("button", name="All").click()
    page.get_by_label("Filter by label").fill("rimborso")
    page.get_by_label("Filter by label").press("Enter")
    list_settled(page)
    expect()(listed).to_have_text([re.compile("Cliente 03")])
    page.get_by_label("Filter by label").fill("")
    page.get_by_label("Filter by label").press("Enter")
    list_settled(page)
    expect()(listed).to_have_count(25)

    page.get_by_role("searchbox", name="Search conversations").fill("Domanda numero 17")
    list_settled(page)
    expect()(listed).to_have_text([re.compile("Cliente 17")])

    page.get_by_role("searchbox", name="Search conversations").fill("")
    page.get_by_label("Filter by status").select_option("resolved")
    list_settled(page)
    expect()(listed).to_have_count(0)
    expect()(page.get_by_text("No conversations match these filters.")).to_be_visible()
    page.context.close()


def test_media_both_ways(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any, tmp_path: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    page = sign_in(browser, hub, w.owner_email, w.password)
    event = {**text_event("ui-media", ""), "media": [{"url": f"{emulator.url}/sandbox/v1/media/m1",
                                                       "mime_type": "image/png", "caption": "lo scontrino"}]}
    post_inbound(hub, channel, [event])
    page.get_by_test_id("conversation-row").first.click()
    # Fetched from the provider by a worker, then shown from our own API (never the provider's URL).
    image = page.locator("[data-testid=message] img[alt='lo scontrino']")
    expect()(image).to_have_attribute("src", re.compile(r"^/api/v1/attachments/\d+$"))
    wait_for(lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"), what="the image to load")

    receipt = tmp_path / "ricevuta.pdf"
    receipt.write_bytes(b"%PDF-1.4\n% Crocevia test\n")
    page.locator("[data-slot=file]").set_input_files(str(receipt))
    expect()(page.locator("[data-slot=attachment]")).to_contain_text("ricevuta.pdf")
    page.get_by_role("textbox", name="Reply").fill("Ecco la ricevuta")
    page.get_by_role("button", name="Send").click()
    accepted = wait_for(lambda: emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json(),
                        what="the emulator to receive the attachment")
    sent = accepted[0]["body"]
    assert sent["text"] == "Ecco la ricevuta"
    assert sent["media"]["mime_type"] == "application/pdf"
    assert httpx.get(sent["media"]["url"]).content.startswith(b"%PDF")  # the signed link the provider fetches
    out = page.locator("[data-testid=message].out", has_text="Ecco la ricevuta")
    expect()(out.get_by_role("link", name="ricevuta.pdf")).to_be_visible()
    page.context.close()


def test_the_contact_panel_shows_identities_and_consent(browser: Any, hub: Hub, emu: httpx.Client,
                                                        emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-c-1", "Non mandatemi più offerte")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv = api.get("/api/v1/conversations").json()["items"][0]
    resp = api.post(f"/api/v1/contacts/{conv['contact_id']}/consents",
                    json={"channel_id": channel.id, "status": "opted_out", "source": "agent"})
    assert resp.status_code == 201, resp.text

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_test_id("conversation-row").first.click()
    panel = page.get_by_test_id("contact-panel")
    expect()(panel).to_contain_text("Mario Rossi")
    expect()(panel).to_contain_text("+393331234567")
    expect()(panel.get_by_test_id("consents")).to_contain_text("Opted out")
    expect()(panel.get_by_test_id("consents")).to_contain_text("agent")
    page.context.close()


def test_labels_and_snooze_from_the_conversation_header(browser: Any, hub: Hub, emu: httpx.Client,
                                                        emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-l-1", "Posso spostare la prenotazione?")])
    api = hub.client(api_token(hub.rt, w.owner))
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_test_id("conversation-row").first.click()

    label_input = page.get_by_role("combobox", name="Add a label")
    label_input.fill("Prenotazioni")
    label_input.press("Enter")
    expect()(page.get_by_test_id("label")).to_have_text(["prenotazioni×"])
    assert api.get(f"/api/v1/conversations/{conv_id}").json()["labels"] == ["prenotazioni"]
    expect()(page.get_by_test_id("conversation-row")).to_contain_text("prenotazioni")
    page.get_by_role("button", name="Remove the label prenotazioni").click()
    expect()(page.get_by_test_id("label")).to_have_count(0)
    wait_for(lambda: api.get(f"/api/v1/conversations/{conv_id}").json()["labels"] == [], what="the label removed")

    page.locator("[data-slot=status]").select_option("snooze:1h")
    snoozed = wait_for(lambda: (c := api.get(f"/api/v1/conversations/{conv_id}").json())["status"] == "snoozed" and c,
                       what="the conversation to be snoozed")
    assert snoozed["snoozed_until"] is not None
    # Snoozed conversations leave the "open" list.
    expect()(page.get_by_test_id("conversation-row")).to_have_count(0)
    page.context.close()


def test_the_ui_speaks_the_users_language(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    from crocevia.domain.enums import Role
    from crocevia.services import accounts, channels

    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    domain = w.owner_email.split("@")[1]
    gino = accounts.create_user(hub.rt, w.owner, email=f"gino@{domain}", name="Gino Verdi", role=Role.AGENT,
                                password="password-123", language="it")
    channels.set_members(hub.rt, w.owner, channel.id, [gino.id])
    page = sign_in(browser, hub, f"gino@{domain}", locale="en-US")  # the profile wins over the browser
    expect()(page.locator("html")).to_have_attribute("lang", "it")
    expect()(page.get_by_text("Nessuna conversazione corrisponde a questi filtri.")).to_be_visible()
    post_inbound(hub, channel, [text_event("ui-it-1", "Buonasera!")])
    row = page.get_by_test_id("conversation-row")
    expect()(row.get_by_test_id("waiting")).to_contain_text("In attesa da")  # a string from the scripts
    row.click()
    expect()(page.get_by_role("textbox", name="Rispondi")).to_be_visible()
    page.context.close()
