"""The demo workspace: a login, a sandbox channel wired to the emulator, a few conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind, Role
from crocevia.runtime import Runtime
from crocevia.services import accounts, channels, ingest
from crocevia.services.actor import Actor
from crocevia.storage.tables import Channel, User, Workspace

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@crocevia.local"
DEMO_PASSWORD = "crocevia-demo"
AGENT_EMAIL = "agente@crocevia.local"
SANDBOX_CREDENTIALS = {"account_id": "demo-account", "api_key": "demo-api-key-123",
                       "webhook_secret": "demo-webhook-secret"}

SAMPLE_CHATS = [
    ("+393331112233", "Giulia Bianchi", "Buongiorno! Avete un tavolo per 4 stasera alle 20?"),
    ("+393339998877", "Marco Rossi", "Il mio ordine 4512 non è ancora arrivato, a che punto è?"),
    ("+447700900123", "Emma Clark", "Hi, do you have vegan options on the menu?"),
]


@dataclass
class DemoInfo:
    workspace_id: int
    url: str
    created: bool

    def describe(self) -> str:
        state = "created" if self.created else "already there"
        return (f"Demo workspace {state}.\n"
                f"  Open {self.url}/ and sign in as {DEMO_EMAIL} / {DEMO_PASSWORD} (owner)\n"
                f"  or {AGENT_EMAIL} / {DEMO_PASSWORD} (agent).\n"
                f"  API docs: {self.url}/api/v1/docs   Web chat demo: {self.url}/demo")


def seed_demo(rt: Runtime, *, emulator_url: str) -> DemoInfo:
    url = rt.settings.public_url.rstrip("/")
    with rt.db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.slug == DEMO_SLUG))
    if ws is not None:
        return DemoInfo(ws.id, url, created=False)
    ws, owner = accounts.create_workspace(rt, slug=DEMO_SLUG, name="Trattoria Crocevia", owner_email=DEMO_EMAIL,
                                          owner_password=DEMO_PASSWORD, owner_name="Demo Owner")
    actor = Actor(workspace_id=ws.id, user_id=owner.id, role=Role.OWNER)
    agent = accounts.create_user(rt, actor, email=AGENT_EMAIL, name="Anna Agente", role=Role.AGENT,
                                 password=DEMO_PASSWORD, language="it")
    sandbox = channels.create_channel(rt, actor, kind="sandbox", name="Sandbox (emulator)",
                                      credentials=SANDBOX_CREDENTIALS, settings={"api_base": emulator_url})
    channels.set_members(rt, actor, sandbox.id, [agent.id])
    for extra in demo_extras():
        extra(rt, actor, agent.id)
    now = rt.clock.now()
    for i, (phone, name, text) in enumerate(SAMPLE_CHATS):
        ingest.ingest(rt, sandbox, [InboundMessage(
            external_message_id=f"demo-{i}", sender_id=phone, sender_phone=phone, sender_name=name,
            kind=MessageKind.TEXT, text=text, timestamp=now - timedelta(minutes=5 * (len(SAMPLE_CHATS) - i)))])
    return DemoInfo(ws.id, url, created=True)


def demo_extras() -> list[Any]:
    """Feature packages add demo content here (web chat channel, bot flows...)."""
    extras: list[Any] = []
    try:
        from crocevia.channels.webchat.demo import seed_webchat
    except ImportError:
        pass
    else:
        extras.append(seed_webchat)
    from crocevia.services.ticket_demo import seed_tickets

    extras.append(seed_tickets)
    from crocevia.services.promotion_demo import seed_promotion

    extras.append(seed_promotion)
    from crocevia.automation.demo import seed_bot  # issue 6: restaurant flow, tables, menu, payments

    extras.append(seed_bot)
    from crocevia.web.demo import seed_inbox  # issue 5: canned responses and a team

    extras.append(seed_inbox)
    return extras


def wire_emulator(rt: Runtime, emulator: Any) -> int:
    """Tell an in-process emulator about every sandbox channel pointed at it (demo mode)."""
    with rt.db.read() as s:
        rows = list(s.scalars(select(Channel).where(Channel.kind == "sandbox")))
    count = 0
    for ch in rows:
        cfg = channels.config_for(rt, ch)
        emulator.state.accounts.setdefault("sandbox", {})[str(cfg.credentials["account_id"])] = {
            **cfg.credentials, "webhook_url": cfg.webhook_url}
        count += 1
    from crocevia.automation.demo import wire_payments

    wire_payments(rt, emulator)
    return count


def demo_user_ids(rt: Runtime) -> list[int]:
    with rt.db.read() as s:
        return list(s.scalars(select(User.id).where(User.email.in_([DEMO_EMAIL, AGENT_EMAIL]))))
