"""`make screenshots`: PNGs of the agent UI's main pages in docs/screenshots/.

Runs the real app on a throw-away SQLite database seeded with the demo workspace, plus the provider
emulator, and drives headless Chromium (Debian's /usr/bin/chromium, never a downloaded one) with
Playwright. A few extra events make the pages worth looking at: a reply that was delivered, a
private note, a shared location, and a WhatsApp chat whose 24-hour window has closed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DESKTOP: Any = {"width": 1440, "height": 900}  # Playwright's ViewportSize
PHONE: Any = {"width": 390, "height": 844}


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def start(data_dir: Path) -> tuple[Any, Any, Any]:
    """The emulator, then the hub (workers on) with the demo workspace wired to that emulator."""
    from crocevia.app import build_app
    from crocevia.channels.emulator.app import build_emulator_app
    from crocevia.channels.emulator.server import free_port, serve_in_thread
    from crocevia.demo import seed_demo, wire_emulator
    from crocevia.runtime import Runtime
    from crocevia.settings import Settings
    from crocevia.storage.migrate import upgrade

    emulator_app = build_emulator_app()
    emulator = serve_in_thread(emulator_app)
    port = free_port()
    settings = Settings(env="dev", data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'crocevia.db'}",
                        public_url=f"http://127.0.0.1:{port}", log_json=False)
    rt = Runtime.from_settings(settings)
    upgrade(rt.db)
    seed_demo(rt, emulator_url=emulator.url)
    wire_emulator(rt, emulator_app.state.emulator)
    hub = serve_in_thread(build_app(settings, runtime=rt, run_workers=True), port=port)
    return rt, hub, emulator


def enrich(rt: Any, hub_url: str, emulator_url: str) -> dict[str, int]:
    """Conversation history that shows what the thread can display."""
    from sqlalchemy import select

    from crocevia.channels.meta.signature import SIGNATURE_HEADER as META_SIGNATURE
    from crocevia.channels.meta.signature import sign as meta_sign
    from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign
    from crocevia.demo import AGENT_EMAIL, DEMO_EMAIL, SANDBOX_CREDENTIALS
    from crocevia.domain.enums import Role
    from crocevia.services import channels, conversations, messages
    from crocevia.services.actor import Actor
    from crocevia.services.conversations import ConversationFilter
    from crocevia.services.messages import SendRequest
    from crocevia.storage.tables import Channel, User

    with rt.db.read() as s:
        owner = s.scalar(select(User).where(User.email == DEMO_EMAIL))
        agent = s.scalar(select(User).where(User.email == AGENT_EMAIL))
        sandbox = s.scalar(select(Channel).where(Channel.kind == "sandbox", Channel.workspace_id == owner.workspace_id))
    actor = Actor(workspace_id=owner.workspace_id, user_id=owner.id, role=Role.OWNER)

    def sandbox_event(event: dict[str, Any]) -> None:
        body = json.dumps({"events": [event]}).encode()
        httpx.post(f"{hub_url}/webhooks/sandbox/{sandbox.public_id}", content=body, headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(SANDBOX_CREDENTIALS["webhook_secret"], body)}).raise_for_status()

    page = conversations.list_conversations(rt, actor, ConversationFilter(q="Giulia"))
    giulia = page.items[0][0]
    conversations.assign(rt, actor, giulia.id, assignee_id=agent.id)
    conversations.set_labels(rt, actor, giulia.id, ["prenotazioni", "vip"])
    reply = messages.send_message(rt, actor, giulia.id, SendRequest(
        text="Buongiorno Giulia! Sì, abbiamo un tavolo per 4 alle 20:00. Lo confermo a nome Bianchi?",
        buttons=[{"id": "yes", "title": "Sì, confermo"}, {"id": "no", "title": "Cambio orario"}]))
    wait_for(lambda: messages.get_message(rt, actor, reply.id).status == "delivered", "the reply to be delivered")
    sandbox_event({"type": "message", "id": "shot-btn", "from": "+393331112233", "name": "Giulia Bianchi",
                   "text": "Sì, confermo", "button": {"id": "yes", "title": "Sì, confermo"},
                   "timestamp": int(time.time())})
    sandbox_event({"type": "message", "id": "shot-loc", "from": "+393331112233", "name": "Giulia Bianchi",
                   "text": "", "timestamp": int(time.time()),
                   "location": {"latitude": 45.4642, "longitude": 9.19, "name": "Duomo di Milano",
                                "address": "Piazza del Duomo, Milano"}})
    conversations.add_note(rt, actor, giulia.id, "@agente cliente abituale: tavolo vicino alla finestra, grazie!")

    # WhatsApp, where the customer last wrote two days ago: the composer offers templates only.
    creds = {"phone_number_id": "106540352242922", "access_token": "EAAdemo-whatsapp-system-user-token",
             "app_secret": "demo-whatsapp-app-secret", "verify_token": "demo-verify-token", "waba_id": ""}
    wa = channels.create_channel(rt, actor, kind="whatsapp", name="WhatsApp Trattoria", credentials=creds,
                                 settings={"api_base": emulator_url})
    channels.set_members(rt, actor, wa.id, [agent.id])
    webhook_url = channels.config_for(rt, wa).webhook_url
    httpx.post(f"{emulator_url}/_emulator/accounts/whatsapp", json={
        "account_id": creds["phone_number_id"], "access_token": creds["access_token"],
        "app_secret": creds["app_secret"], "webhook_url": webhook_url}).raise_for_status()
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": creds["phone_number_id"]},
            "contacts": [{"profile": {"name": "Luca Ferri"}, "wa_id": "393471112222"}],
            "messages": [{"from": "393471112222", "id": "wamid.screenshot1", "type": "text",
                          "timestamp": str(int(time.time()) - 2 * 24 * 3600),
                          "text": {"body": "Avete ancora il menù del pranzo a 15 euro?"}}]}}]}]}).encode()
    httpx.post(webhook_url.replace(rt.settings.public_url.rstrip("/"), hub_url), content=body, headers={
        "Content-Type": "application/json", META_SIGNATURE: meta_sign(creds["app_secret"], body)}).raise_for_status()
    luca = conversations.list_conversations(rt, actor, ConversationFilter(q="Luca")).items[0][0]

    return {"giulia": giulia.id, "luca": luca.id, "giulia_contact": giulia.contact_id}


def shoot(hub_url: str, ids: dict[str, int]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from crocevia.demo import AGENT_EMAIL, DEMO_EMAIL, DEMO_PASSWORD

    OUT.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)

        def session(email: str, viewport: Any, locale: str) -> Any:
            page = browser.new_context(viewport=viewport, locale=locale).new_page()
            page.goto(f"{hub_url}/ui/login")
            page.fill("#email", email)
            page.fill("#password", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{hub_url}/")
            page.wait_for_selector("#live-state[data-state=live]")
            return page

        def snap(page: Any, name: str, path: str | None = None, wait: str = "[data-testid=conversation-row]") -> None:
            if path is not None:
                page.goto(f"{hub_url}{path}")
            if wait:
                page.wait_for_selector(wait)
            page.wait_for_timeout(400)  # fonts, images and the last live update settle
            target = OUT / f"{name}.png"
            page.screenshot(path=str(target))
            written.append(target)

        login = browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
        login.goto(f"{hub_url}/ui/login")
        snap(login, "login", wait="#login-form")

        owner = session(DEMO_EMAIL, DESKTOP, "en-US")
        snap(owner, "inbox")
        snap(owner, "conversation", f"/ui/conversations/{ids['giulia']}", wait="[data-testid=note]")
        snap(owner, "template-composer", f"/ui/conversations/{ids['luca']}", wait="[data-slot=window]:not([hidden])")
        snap(owner, "admin-channels", "/ui/admin/channels", wait="[data-testid=channel-row]")
        snap(owner, "admin-users", "/ui/admin/users", wait="[data-testid=user-row]")
        snap(owner, "admin-canned", "/ui/admin/canned", wait="[data-testid=canned-row]")
        snap(owner, "admin-teams", "/ui/admin/teams", wait="[data-testid=team-row]")
        snap(owner, "admin-labels", "/ui/admin/labels", wait="[data-testid=label-row]")
        snap(owner, "contacts", f"/ui/contacts/{ids['giulia_contact']}", wait="[data-testid=contact-detail]")
        owner.goto(f"{hub_url}/ui/conversations/{ids['giulia']}")
        owner.wait_for_selector("[data-testid=note]")
        owner.locator("#composer-text").type("/or")
        snap(owner, "canned-composer", wait="[data-slot=mentions]:not([hidden])")

        agent = session(AGENT_EMAIL, DESKTOP, "it-IT")  # the demo agent's profile says Italian
        snap(agent, "inbox-italian", f"/ui/conversations/{ids['giulia']}", wait="[data-testid=note]")

        phone = session(DEMO_EMAIL, PHONE, "en-US")
        snap(phone, "phone-inbox")
        snap(phone, "phone-conversation", f"/ui/conversations/{ids['giulia']}", wait="[data-testid=note]")
        browser.close()
    return written


def main() -> int:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        print(f"no Chromium at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="crocevia-shots-") as tmp:
        rt, hub, emulator = start(Path(tmp))
        try:
            ids = enrich(rt, hub.url, emulator.url)
            for path in shoot(hub.url, ids):
                print(f"wrote {path.relative_to(OUT.parent.parent)}")
        finally:
            hub.stop()
            emulator.stop()
            rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
