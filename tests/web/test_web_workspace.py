"""The rest of the agent's day in headless Chromium: canned responses (admin page and "/" in the
composer), the contacts page, teams, browser notifications with sound, the "someone else is
replying" indicator, approved templates offered in a closed window, and who-wrote-last in the list."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for
from tests.web.ui import PASSWORD, expect, list_settled, owner_and_teammate, sign_in

from crocevia.domain.enums import Role
from crocevia.services import accounts

pytestmark = pytest.mark.browser
browser = browser_fixture()


def test_a_canned_response_is_saved_by_an_admin_and_typed_with_a_slash(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-cr-1", "A che ora aprite?")])
    page = sign_in(browser, hub, w.owner_email, w.password)

    page.goto(f"{hub.url}/ui/admin/canned")
    page.get_by_label("Shortcut", exact=True).fill("orari")
    page.get_by_label("Text").fill("Ciao {{contact.first_name}}, siamo aperti dalle 9 alle 18. {{agent.first_name}}")
    page.get_by_role("button", name="Save").click()
    expect()(page.get_by_test_id("canned-row")).to_have_text([re.compile(r"/orari.*siamo aperti dalle 9")])
    # A shortcut is unique in the workspace: the form says so beside the field.
    page.get_by_label("Shortcut", exact=True).fill("orari")
    page.get_by_label("Text").fill("doppione")
    page.get_by_role("button", name="Save").click()
    expect()(page.locator(".field-error")).to_contain_text("/orari exists already")

    page.goto(f"{hub.url}/")
    page.get_by_test_id("conversation-row").first.click()
    reply = page.get_by_role("textbox", name="Reply")
    reply.type("/ora")
    suggestion = page.get_by_role("listbox", name="Canned responses").get_by_role("option", name=re.compile("orari"))
    expect()(suggestion).to_be_visible()
    reply.press("Enter")  # picks the suggestion, variables filled from the conversation
    me = hub.client(api_token(hub.rt, w.owner)).get("/api/v1/auth/me").json()["user"]
    owner_first = me["name"].split()[0]
    expect()(reply).to_have_value(f"Ciao Mario, siamo aperti dalle 9 alle 18. {owner_first}")
    reply.press("Enter")
    accepted = wait_for(lambda: emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json(),
                        what="the emulator to receive the canned reply")
    assert accepted[0]["body"]["text"].startswith("Ciao Mario, siamo aperti dalle 9 alle 18.")
    # Deleting asks first; a refused question keeps it, a confirmed one removes it.
    page.goto(f"{hub.url}/ui/admin/canned")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete /orari").click()
    expect()(page.get_by_test_id("canned-row")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete /orari").click()
    expect()(page.get_by_test_id("canned-row")).to_have_count(0)
    assert hub.client(api_token(hub.rt, w.owner)).get("/api/v1/canned-responses").json() == []
    page.context.close()


def test_a_viewer_cannot_change_canned_responses(hub: Hub) -> None:
    w = new_workspace(hub.rt)
    domain = w.owner_email.split("@")[1]
    viewer = accounts.create_user(hub.rt, w.owner, email=f"vera@{domain}", name="Vera Viewer", role=Role.VIEWER,
                                  password=PASSWORD)
    owner_api = hub.client(api_token(hub.rt, w.owner))
    created = owner_api.post("/api/v1/canned-responses", json={"shortcut": "/Saluti", "text": "Buongiorno!"})
    assert created.status_code == 201, created.text
    assert created.json()["shortcut"] == "saluti"  # the leading slash and case are not part of it
    # A viewer signed in with the browser's session (tokens are for writers).
    viewer_web = httpx.Client(base_url=hub.url)
    login = viewer_web.post("/api/v1/auth/login", json={"email": viewer.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    assert [c["shortcut"] for c in viewer_web.get("/api/v1/canned-responses").json()] == ["saluti"]
    denied = viewer_web.post("/api/v1/canned-responses", json={"shortcut": "x", "text": "y"}, headers=csrf)
    assert denied.status_code == 403, denied.text
    bad = owner_api.post("/api/v1/canned-responses", json={"shortcut": "due parole", "text": "y"})
    assert bad.status_code == 400 and bad.json()["field"] == "shortcut", bad.text


def test_the_contacts_page_finds_edits_and_records_consent(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-ct-1", "Buongiorno")])
    post_inbound(hub, channel, [{**text_event("ui-ct-2", "Salve", sender="+393339999999"), "name": "Giulia Neri"}])
    api = hub.client(api_token(hub.rt, w.owner))
    page = sign_in(browser, hub, w.owner_email, w.password)

    page.get_by_role("link", name="Contacts").click()
    rows = page.get_by_test_id("contact-row")
    expect()(rows).to_have_count(2)
    page.get_by_role("searchbox", name="Search contacts").fill("Giulia")
    expect()(rows).to_have_text([re.compile("Giulia Neri.*393339999999")])
    rows.first.click()
    expect()(page).to_have_url(re.compile(r"/ui/contacts/\d+$"))
    detail = page.get_by_test_id("contact-detail")
    expect()(detail.get_by_test_id("identities")).to_contain_text("Sandbox")
    expect()(detail.get_by_test_id("identities")).to_contain_text("+393339999999")
    expect()(detail).to_contain_text("Salve")  # her conversation

    detail.get_by_label("E-mail").fill("giulia@example.com")
    detail.get_by_label("Tags (comma separated)").fill("vip, milano")
    detail.get_by_role("button", name="Save").click()
    contact_id = int(page.url.rsplit("/", 1)[1])
    wait_for(lambda: api.get(f"/api/v1/contacts/{contact_id}").json()["email"] == "giulia@example.com",
             what="the e-mail saved")
    assert sorted(api.get(f"/api/v1/contacts/{contact_id}").json()["tags"]) == ["milano", "vip"]

    expect()(detail.get_by_test_id("consents")).to_contain_text("Not recorded")
    detail.get_by_role("button", name="Record opt-in on Sandbox").click()
    expect()(detail.get_by_test_id("consents")).to_contain_text("Opted in")
    current = api.get(f"/api/v1/contacts/{contact_id}/consents").json()["current"]
    assert [(c["status"], c["source"]) for c in current] == [("opted_in", "agent")]

    page.reload()  # the contact's own URL opens it again
    expect()(page.get_by_test_id("contact-detail").get_by_label("E-mail")).to_have_value("giulia@example.com")

    # Mario Rossi turns out to be Giulia's second phone: merged into her, his conversation follows.
    detail = page.get_by_test_id("contact-detail")
    detail.get_by_role("searchbox", name="Find the duplicate").fill("Mario")
    page.once("dialog", lambda d: d.accept())
    detail.get_by_test_id("merge-candidates").get_by_role("button", name="Merge into this contact").click()
    expect()(page.locator("#toasts")).to_contain_text("Contacts merged.")
    expect()(detail.get_by_test_id("identities")).to_contain_text("+393331234567")
    expect()(detail).to_contain_text("Buongiorno")  # Mario's conversation is now hers
    page.get_by_role("searchbox", name="Search contacts").fill("")
    expect()(rows).to_have_text([re.compile("Giulia Neri")])
    page.goto(f"{hub.url}/ui/contacts/999999999")
    expect()(page.get_by_test_id("not-found")).to_be_visible()
    page.context.close()


def test_teams_are_created_and_conversations_handed_to_them(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    domain = w.owner_email.split("@")[1]
    accounts.create_user(hub.rt, w.owner, email=f"sara@{domain}", name="Sara Supporto", role=Role.AGENT,
                         password=PASSWORD)
    post_inbound(hub, channel, [text_event("ui-tm-1", "Il pacco non è arrivato")])
    post_inbound(hub, channel, [text_event("ui-tm-2", "Altra domanda", sender="+393330000001")])
    api = hub.client(api_token(hub.rt, w.owner))
    page = sign_in(browser, hub, w.owner_email, w.password)

    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Name").fill("Assistenza")
    page.get_by_label("Sara Supporto").check()
    page.get_by_role("button", name="Add team").click()
    expect()(page.get_by_test_id("team-row")).to_have_text([re.compile("Assistenza.*Sara Supporto")])
    team_id = api.get("/api/v1/teams").json()[0]["id"]

    page.goto(f"{hub.url}/")
    page.get_by_test_id("conversation-row").filter(has_text="Il pacco").click()
    page.get_by_label("Team", exact=True).select_option(label="Team: Assistenza")
    conv_id = int(re.search(r"/ui/conversations/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    wait_for(lambda: api.get(f"/api/v1/conversations/{conv_id}").json()["team_id"] == team_id,
             what="the conversation handed to the team")
    page.get_by_label("Filter by team").select_option(label="Assistenza")
    list_settled(page)
    expect()(page.get_by_test_id("conversation-row")).to_have_text([re.compile("Il pacco non è arrivato")])
    assert f"team={team_id}" in page.url
    page.context.close()


RECORD_NOTIFICATIONS = """
window.__notifications = [];
window.__chimes = 0;
const Real = window.Notification;
class Recorded extends Real {
  constructor(title, options) {
    super(title, options);
    window.__notifications.push({ title, body: (options || {}).body || '' });
  }
}
Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
Recorded.requestPermission = (...args) => Real.requestPermission(...args);
window.Notification = Recorded;
const RealOsc = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function (...args) {
  window.__chimes += 1;
  return RealOsc.apply(this, args);
};
"""


def test_a_new_conversation_notifies_the_agent_who_turned_notifications_on(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.context.grant_permissions(["notifications"], origin=hub.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)

    page.locator("#usermenu-button").click()
    page.get_by_label("Notifications and sound for new conversations and mentions").check()
    expect()(page.locator("#toasts")).to_contain_text("Notifications on.")

    page.reload()  # the setting is the user's profile: it survives a reload (and the recorder is installed)
    expect()(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect()(page.locator("#notify-toggle")).to_be_checked()
    post_inbound(hub, channel, [text_event("ui-nt-1", "Avete il modello in blu?")])
    expect()(page.get_by_test_id("conversation-row")).to_have_count(1)
    wait_for(lambda: page.evaluate("window.__notifications.length") > 0, what="a browser notification")
    shown = page.evaluate("window.__notifications")[0]
    assert shown["title"] == "New conversation"
    assert "Sandbox" in shown["body"]
    assert page.evaluate("window.__chimes") > 0  # and the sound played

    # Turned off, nothing more pops up.
    page.locator("#usermenu-button").click()
    page.get_by_label("Notifications and sound for new conversations and mentions").uncheck()
    expect()(page.locator("#toasts")).to_contain_text("Notifications off.")
    post_inbound(hub, channel, [text_event("ui-nt-2", "Ciao", sender="+393330000002")])
    expect()(page.get_by_test_id("conversation-row")).to_have_count(2)
    assert page.evaluate("window.__notifications.length") == 1
    page.context.close()


def test_an_agent_sees_a_teammate_replying_in_the_same_conversation(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w, conv_id, bruno_email, _ = owner_and_teammate(hub, emu, emulator.url, "ui-ty-1", "C'è qualcuno?")

    owner_page = sign_in(browser, hub, w.owner_email, w.password)
    bruno_page = sign_in(browser, hub, bruno_email)
    owner_page.goto(f"{hub.url}/ui/conversations/{conv_id}")
    bruno_page.goto(f"{hub.url}/ui/conversations/{conv_id}")
    expect()(owner_page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect()(bruno_page.locator("#live-state")).to_have_attribute("data-state", "live")

    bruno_page.get_by_role("textbox", name="Reply").type("Sì, eccomi")
    expect()(owner_page.get_by_test_id("typing")).to_have_text("Bruno Bianchi is replying…")
    expect()(bruno_page.get_by_test_id("typing")).to_be_hidden()  # never told about oneself
    bruno_page.get_by_role("textbox", name="Reply").press("Enter")
    expect()(owner_page.locator("[data-testid=message].out", has_text="Sì, eccomi")).to_be_visible()
    expect()(owner_page.get_by_test_id("typing")).to_be_hidden()  # the reply landed
    owner_page.context.close()
    bruno_page.context.close()


def test_the_list_api_says_who_wrote_last(hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [text_event("ui-dir-1", "Buongiorno")])
    api = hub.client(api_token(hub.rt, w.owner))
    item = api.get("/api/v1/conversations").json()["items"][0]
    assert item["last_message_direction"] == "in"
    sent = api.post(f"/api/v1/conversations/{item['id']}/messages", json={"text": "Buongiorno a lei"},
                    headers={"Idempotency-Key": "dir-1"})
    assert sent.status_code in (200, 201, 202), sent.text
    assert api.get("/api/v1/conversations").json()["items"][0]["last_message_direction"] == "out"


def test_a_closed_window_offers_the_workspaces_approved_templates(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    import time

    from tests.web.test_web_browser import _whatsapp_channel, _whatsapp_text

    from crocevia.channels.meta.signature import SIGNATURE_HEADER, sign
    from crocevia.channels.whatsapp import testkit as whatsapp_kit

    w = new_workspace(hub.rt)
    channel = _whatsapp_channel(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    for name, approval in (("Conferma tavolo", "approved"), ("Bozza promo", "draft")):
        resp = api.post("/api/v1/templates", json={
            "name": name, "category": "utility", "approval_status": approval,
            "provider_name": name.lower().replace(" ", "_"),
            "variants": {"it": {"text": "Ciao {{first_name}}, tavolo confermato per {{attributes.orario | stasera}}."},
                         "en": {"text": "Hi {{first_name}}, your table is confirmed."}}})
        assert resp.status_code == 201, resp.text
    body = _whatsapp_text(time.time() - 2 * 24 * 3600, "Mi richiamate?")
    httpx.post(f"{hub.url}/webhooks/whatsapp/{channel.public_id}", content=body,
               headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(
                   whatsapp_kit.config().credentials["app_secret"], body)}).raise_for_status()

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.locator("[data-testid=conversation-row]", has_text="Mario Rossi").click()
    picker = page.get_by_label("Approved templates")
    expect()(picker.locator("option")).to_have_text(["Choose a template…", "Conferma tavolo"])  # no drafts
    picker.select_option(label="Conferma tavolo")
    expect()(page.get_by_label("Template name")).to_have_value("conferma_tavolo")
    expect()(page.get_by_label("Language code")).to_have_value("it")
    expect()(page.get_by_label("Parameters, one per line")).to_have_value("Mario\nstasera")
    expect()(page.locator("[data-slot=tpl-preview]")).to_have_text("Ciao Mario, tavolo confermato per stasera.")
    page.get_by_role("button", name="Send template").click()
    accepted = wait_for(lambda: emu.get("/_emulator/accepted", params={"provider": "whatsapp"}).json(),
                        what="the WhatsApp emulator to receive the template")
    sent = accepted[0]["body"]["template"]
    assert sent["name"] == "conferma_tavolo"
    assert [p["text"] for p in sent["components"][0]["parameters"]] == ["Mario", "stasera"]
    page.context.close()


def test_a_channel_is_renamed_and_its_credentials_rotated(
    browser: Any, hub: Hub, emu: httpx.Client, emulator: Any
) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    page = sign_in(browser, hub, w.owner_email, w.password)
    page.get_by_role("link", name="Channels").click()
    page.get_by_role("button", name="Edit Sandbox").click()
    edit = page.get_by_role("form", name="Edit Sandbox")
    edit.get_by_label("Name shown to agents").fill("Negozio")
    edit.get_by_label(re.compile("^Api Key")).fill("short")  # only a new key: the set is checked as a whole
    edit.get_by_role("button", name="Save").click()
    expect()(edit.locator(".field-error")).to_contain_text("account_id")
    expect()(edit.get_by_label(re.compile("^Account Id"))).to_have_attribute("aria-invalid", "true")

    edit.get_by_label(re.compile("^Account Id")).fill("acct-rotated")
    edit.get_by_label(re.compile("^Api Key")).fill("key-rotated-123")
    edit.get_by_label(re.compile("^Webhook Secret")).fill("secret-rotated-1")
    edit.get_by_role("button", name="Save").click()
    expect()(page.get_by_test_id("channel-row")).to_contain_text("Negozio")
    api = hub.client(api_token(hub.rt, w.owner))
    assert api.get(f"/api/v1/channels/{channel.id}").json()["name"] == "Negozio"
    # The new credentials are the ones used: the emulator knows the new account once told about it.
    emu.post("/_emulator/accounts/sandbox", json={"account_id": "acct-rotated", "api_key": "key-rotated-123",
                                                  "webhook_secret": "secret-rotated-1",
                                                  "webhook_url": f"{hub.url}/unused"}).raise_for_status()
    page.get_by_test_id("channel-row").get_by_role("button", name="Test connection").click()
    expect()(page.get_by_test_id("channel-row")).to_contain_text("connected to sandbox account acct-rotated")
    page.context.close()


def test_a_conversation_is_handed_back_to_the_bot(browser: Any, hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    post_inbound(hub, channel, [text_event("ui-bot-1", "Vorrei prenotare")])
    conv_id = api.get("/api/v1/conversations").json()["items"][0]["id"]
    api.post(f"/api/v1/conversations/{conv_id}/assign", json={"assignee_id": w.owner.user_id}).raise_for_status()

    page = sign_in(browser, hub, w.owner_email, w.password)
    page.goto(f"{hub.url}/ui/conversations/{conv_id}")
    expect()(page.locator("[data-slot=assignee]")).to_have_value(str(w.owner.user_id))
    # No bot in this workspace yet: nothing to hand back to.
    expect()(page.get_by_role("button", name="Hand back to the bot")).to_be_hidden()

    flow = api.post("/api/v1/bot/flows", json={"definition": {
        "name": "minimo", "start": "a", "steps": [{"id": "a", "type": "end", "text": "ciao"}]}, "is_active": False})
    assert flow.status_code == 201, flow.text
    page.reload()
    page.get_by_role("button", name="Hand back to the bot").click()
    expect()(page.locator("#toasts")).to_contain_text("Handed back to the bot.")
    expect()(page.locator("[data-slot=assignee]")).to_have_value("")  # the agent let go of it
    assert api.get(f"/api/v1/conversations/{conv_id}").json()["assignee_id"] is None
    page.context.close()
