"""`crocevia bot try <flow>`: chat with a flow in the terminal before customers do.

The real engine answers, against a throwaway SQLite database in a temporary folder: a web chat
channel, the flow, the bookable resources its steps name (open 19:00–21:00, 5 places) and, when
it has a catalog step, the demo menu. With ``--workspace SLUG`` the flow is one stored in the
configured database for that workspace (by name or id), and that workspace's bookable resources
and products are copied into the throwaway database instead: the real settings, none of the real
bookings or customers, and the real database is only read. Messages go through ingest and the bot's durable task like
a customer's; replies are read back from the database. No dispatcher runs, so nothing is ever
sent to any channel, and payment links are not created (no provider is configured).
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import yaml
from sqlalchemy import select

from crocevia.automation.flow import AvailabilityStep, BookStep, CatalogStep, FlowDef, parse_source, validate_flow
from crocevia.automation.samples import RESTAURANT_FLOW, RESTAURANT_HOURS
from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind, Role
from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.storage.tables import BookingResource, BotFlow, BotSession, Channel, Message, Product, Task, Workspace

BUILT_IN = {"ristorante": RESTAURANT_FLOW, "restaurant": RESTAURANT_FLOW}
DEMO_MENU = [("margherita", "Pizza Margherita", 850), ("carbonara", "Spaghetti alla carbonara", 1200),
             ("tiramisu", "Tiramisù", 550)]
QUIT = {"/quit", "/exit", "/esci"}


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def load_flow(spec: str) -> tuple[str, str, FlowDef]:
    """A file (YAML or JSON) or a built-in flow's name → (source, format, definition); errors name the
    field and the line, prefixed with the file's name."""
    path = Path(spec)
    if path.is_file():
        source = path.read_text(encoding="utf-8")
        fmt = "json" if path.suffix.lower() == ".json" else "yaml"
        where = str(path)
    elif spec in BUILT_IN:
        source, fmt, where = BUILT_IN[spec], "yaml", spec
    else:
        raise ValidationFailed(f"no flow file or built-in flow named {spec!r} (built-in: {', '.join(BUILT_IN)})",
                               field="flow")
    try:
        return source, fmt, validate_flow(parse_source(source, fmt), source=source, prefix="flow")
    except ValidationFailed as exc:
        raise ValidationFailed(f"{where}: {exc.detail}", field=exc.field) from exc


@dataclass
class Stored:
    """A workspace's flow read from the database, with what its steps book and sell."""
    source: str
    flow: FlowDef
    resources: list[dict[str, Any]]
    products: list[dict[str, Any]]


def load_stored_flow(rt: Runtime, workspace: str, spec: str) -> Stored:
    """The flow named ``spec`` (or with that id) of workspace ``workspace`` (its slug)."""
    with rt.db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.slug == workspace))
        if ws is None:
            raise ValidationFailed(f"no workspace {workspace!r} in this database", field="workspace")
        q = select(BotFlow).where(BotFlow.workspace_id == ws.id)
        row = s.scalar(q.where(BotFlow.name == spec)) or (
            s.scalar(q.where(BotFlow.id == int(spec))) if spec.isdigit() else None)
        if row is None:
            names = ", ".join(s.scalars(q.with_only_columns(BotFlow.name).order_by(BotFlow.id))) or "none"
            raise ValidationFailed(f"workspace {workspace!r} has no flow {spec!r} (its flows: {names})", field="flow")
        resources = [{"name": r.name, "capacity": r.capacity, "slot_minutes": r.slot_minutes, "hours": r.hours,
                      "closed_dates": [date.fromisoformat(d) for d in r.closed_dates or []],
                      "timezone": r.timezone, "capacity_unit": r.capacity_unit, "reminder_minutes": 0}
                     for r in s.scalars(select(BookingResource).where(BookingResource.workspace_id == ws.id))]
        products = [{"sku": p.sku, "name": p.name, "price_minor": p.price_minor, "currency": p.currency,
                     "description": p.description, "stock": p.stock}
                    for p in s.scalars(select(Product).where(Product.workspace_id == ws.id,
                                                             Product.is_active.is_(True)).order_by(Product.id))]
        definition = dict(row.definition)
    source = yaml.safe_dump(definition, allow_unicode=True, sort_keys=False)
    return Stored(source=source, flow=validate_flow(definition, prefix="flow"), resources=resources,
                  products=products)


class TryChat:
    """One customer talking to one flow; ``send`` returns the bot's replies to that message."""

    def __init__(self, rt: Runtime, source: str, fmt: str, flow: FlowDef, *,
                 resources: list[dict[str, Any]] | None = None, products: list[dict[str, Any]] | None = None) -> None:
        from crocevia.services import accounts, bookings, catalog, channels, flows
        from crocevia.services.actor import Actor

        self.rt = rt
        ws, owner = accounts.create_workspace(rt, slug="bot-try", name="Bot try", owner_email="owner@bot-try.test",
                                              owner_password=secrets.token_urlsafe(16))
        actor = Actor(workspace_id=ws.id, user_id=owner.id, role=Role.OWNER)
        flows.save_flow(rt, actor, source=source, fmt=fmt)
        if resources is None:
            resources = [{"name": name, "capacity": 5, "slot_minutes": 60, "hours": RESTAURANT_HOURS,
                          "closed_dates": [], "timezone": "Europe/Rome", "reminder_minutes": 0}
                         for name in sorted({s.resource for s in flow.steps
                                             if isinstance(s, AvailabilityStep | BookStep)})]
        for res in resources:
            bookings.create_resource(rt, actor, **res)
        if products is None:
            has_catalog = any(isinstance(s, CatalogStep) for s in flow.steps)
            products = [{"sku": sku, "name": name, "price_minor": price, "currency": "EUR", "stock": 50}
                        for sku, name, price in (DEMO_MENU if has_catalog else [])]
        for product in products:
            catalog.create_product(rt, actor, **product)
        self.channel: Channel = channels.create_channel(
            rt, actor, kind="webchat", name="bot try",
            credentials={"widget_secret": secrets.token_urlsafe(32), "identity_secret": secrets.token_urlsafe(32)})
        self.last_id = 0
        self.buttons: list[dict[str, str]] = []

    def send(self, line: str) -> list[Reply]:
        from crocevia.services.ingest import ingest

        text, content, kind = line.strip(), {}, MessageKind.TEXT
        # A number answering the last buttons presses that button, as a tap in the chat would.
        if text.isdigit() and 1 <= int(text) <= len(self.buttons):
            content = dict(self.buttons[int(text) - 1])
            text, kind = content["title"], MessageKind.BUTTON_REPLY
        ingest(self.rt, self.channel, [InboundMessage(
            external_message_id=f"try-{uuid.uuid4().hex}", sender_id="terminal", sender_name="Terminal",
            kind=kind, text=text, content=content)])
        self._run_tasks()
        replies = self._replies()
        if replies:
            self.buttons = replies[-1].buttons
        return replies

    def handed_off(self) -> bool:
        with self.rt.db.read() as s:
            return s.scalar(select(BotSession.state).where(BotSession.workspace_id == self.channel.workspace_id)
                            .limit(1)) == "handoff"

    def _run_tasks(self) -> None:
        """The bot's turn and the booking invitation, run here and now (in the server a task runner does it)."""
        from crocevia.automation.engine import on_inbound
        from crocevia.automation.hooks import BOT_TASK
        from crocevia.services.booking_notices import INVITE_TASK, send_invitation

        handlers: dict[str, Callable[[Runtime, Task], None]] = {BOT_TASK: on_inbound, INVITE_TASK: send_invitation}
        for _ in range(20):
            with self.rt.db.transaction() as s:
                task = s.scalar(select(Task).where(Task.workspace_id == self.channel.workspace_id,
                                                   Task.status == "pending", Task.kind.in_(list(handlers)))
                                .order_by(Task.id).limit(1))
                if task is None:
                    return
                task.status = "done"
            handlers[task.kind](self.rt, task)

    def _replies(self) -> list[Reply]:
        with self.rt.db.read() as s:
            rows = list(s.scalars(select(Message).where(Message.channel_id == self.channel.id,
                                                        Message.direction == "out", Message.id > self.last_id)
                                  .order_by(Message.id)))
        if rows:
            self.last_id = rows[-1].id
        out = []
        for m in rows:
            content = m.content or {}
            out.append(Reply(text=m.text or "", buttons=[dict(b) for b in content.get("buttons", [])],
                             files=[str(f.get("filename") or "file") for f in content.get("media", [])]))
        return out


def render(replies: Iterable[Reply]) -> str:
    lines: list[str] = []
    for r in replies:
        body = r.text.splitlines() or [""]
        lines.append(f"bot: {body[0]}")
        lines += [f"     {more}" for more in body[1:]]
        lines += [f"     [file: {name}]" for name in r.files]
        lines += [f"     {i}. {b['title']}" for i, b in enumerate(r.buttons, start=1)]
    return "\n".join(lines)


def run(spec: str, stdin: IO[str] | None = None, stdout: IO[str] | None = None, workspace: str | None = None) -> int:
    """The command: validate the flow, then one line in, the bot's answers out, until EOF or /quit."""
    from crocevia.settings import Settings
    from crocevia.storage.migrate import upgrade

    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    extra: dict[str, Any] = {}
    if workspace:
        real = Runtime.from_settings(Settings())
        try:
            stored = load_stored_flow(real, workspace, spec)
        finally:
            real.close()
        source, fmt, flow = stored.source, "yaml", stored.flow
        extra = {"resources": stored.resources, "products": stored.products}
    else:
        source, fmt, flow = load_flow(spec)
    interactive = stdin.isatty()
    with tempfile.TemporaryDirectory(prefix="crocevia-bot-try-") as tmp:
        settings = Settings(env="dev", data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/try.db", redis_url="",
                            log_json=False)
        rt = Runtime.from_settings(settings)
        try:
            upgrade(rt.db)
            chat = TryChat(rt, source, fmt, flow, **extra)
            print(f"talking to flow {flow.name!r} (throwaway database; nothing is sent). "
                  "Answer buttons with their number; /quit ends.", file=stdout, flush=True)
            while True:
                if interactive:
                    print("you: ", end="", file=stdout, flush=True)
                line = stdin.readline()
                if not line or line.strip() in QUIT:
                    break
                if not line.strip():
                    continue
                if not interactive:
                    print(f"you: {line.strip()}", file=stdout)
                replies = chat.send(line)
                if replies:
                    print(render(replies), file=stdout, flush=True)
                if chat.handed_off():
                    print("(handed over to a person: the bot stays silent now)", file=stdout, flush=True)
                    break
        finally:
            rt.close()
    return 0


def cmd_bot_try(args: Any) -> int:
    return run(args.flow, workspace=args.workspace)


def register(sub: Any) -> None:
    """``crocevia bot try <flow>`` (cli.py calls this)."""
    bot = sub.add_parser("bot", help="bot flows: try one in the terminal")
    bot_sub = bot.add_subparsers(dest="bot_command", metavar="SUBCOMMAND", required=True)
    p = bot_sub.add_parser("try", help="chat with a flow in the terminal (throwaway database, nothing is sent)")
    p.add_argument("flow", help="a flow file (.yaml/.yml/.json) or a built-in flow: " + ", ".join(BUILT_IN)
                   + "; with --workspace, the name or id of a flow stored for that workspace")
    p.add_argument("--workspace", metavar="SLUG", help="take the flow, its bookable resources and products from "
                   "this workspace in the configured database (read only; the chat still runs on a throwaway copy)")
    p.set_defaults(handler=cmd_bot_try)
