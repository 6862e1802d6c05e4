"""Running a flow: one inbound message → one turn, in one transaction with the replies it sends.

A turn locks the conversation, reads the bot session, feeds the message to the step that was
waiting, runs steps until one waits for the customer again, and writes the replies through
``services.messages.enqueue_in`` (window, consent, DLP, outbox) as author "bot". The session row
is updated in the same transaction, so a crash either loses the whole turn (the durable task
runs it again) or nothing; the reply idempotency keys (``bot-<message id>-<n>``) and
``last_message_id`` make a repeated task a no-op.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.automation import embeddings, flow_cache, http_call, reschedule
from crocevia.automation import understand as nlu
from crocevia.automation.campaign_reply import campaign_answered_in
from crocevia.automation.flow import (
    AskStep,
    AvailabilityStep,
    BookStep,
    CatalogStep,
    ConditionStep,
    EndStep,
    FlowDef,
    HandoffStep,
    HttpStep,
    OpenTicketStep,
    OrderStep,
    SendStep,
    SetStep,
    Text,
)
from crocevia.automation.hooks import BOT_TASK
from crocevia.automation.ticket_step import open_ticket
from crocevia.channels.registry import get_adapter
from crocevia.domain.enums import AuthorType, ConversationStatus, MessageKind
from crocevia.errors import CroceviaError
from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services import bookings, catalog
from crocevia.services.events import emit
from crocevia.services.messages import SendRequest, enqueue_in
from crocevia.services.serialize import conversation_dict
from crocevia.services.ticket_rules_hook import labels_added_in
from crocevia.storage.tables import BotSession, Channel, Conversation, Message, Note, Task, Workspace

log = logging.getLogger(__name__)

MAX_STEPS_PER_TURN = 50

TEXTS: dict[str, dict[str, str]] = {
    "retry": {"it": "Scusa, non ho capito.", "en": "Sorry, I didn't get that."},
    "handoff": {"it": "Ti passo a un collega, ti risponderà al più presto.",
                "en": "I'm passing you to a colleague, who will answer soon."},
    "cancelled": {"it": "La prenotazione del {when} è annullata.", "en": "Your booking for {when} is cancelled."},
    "nothing_to_cancel": {"it": "Non trovo prenotazioni da annullare.", "en": "I can't find a booking to cancel."},
    "order_status": {"it": "Ordine n. {id}: {status}.", "en": "Order #{id}: {status}."},
    "no_products": {"it": "Il catalogo è vuoto al momento.", "en": "The catalog is empty right now."},
    "out_of_stock": {"it": "Mi dispiace, {name} è esaurito.", "en": "Sorry, {name} is sold out."},
    "error": {"it": "Qualcosa non ha funzionato, ti passo a un collega.",
              "en": "Something went wrong; I'm passing you to a colleague."},
}
STATUS_WORDS = {"pending": {"it": "in attesa di pagamento", "en": "awaiting payment"},
                "paid": {"it": "pagato", "en": "paid"}, "refunded": {"it": "rimborsato", "en": "refunded"},
                "cancelled": {"it": "annullato", "en": "cancelled"}}


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Turn:
    def __init__(self, s: Session, rt: Runtime, conv: Conversation, sess: BotSession, msg: Message) -> None:
        self.s, self.rt, self.conv, self.sess, self.msg = s, rt, conv, sess, msg
        self.slots: dict[str, Any] = dict(sess.slots or {})
        self.sent = 0
        self.flow: FlowDef | None = None
        # Held for the turn: the session's identity map is weak, and every reply needs the channel again.
        # No autoflush for this read (nor the flow list's): the turn's changes go out in one flush, later.
        with s.no_autoflush:
            self.channel = s.get(Channel, conv.channel_id)
        self.resources: dict[str, Any] = {}
        # What started the flow (the intent, the campaign replied to), for its texts and conditions.
        self.start_slots: dict[str, Any] = {}
        self.caps = get_adapter(self.channel.kind).capabilities if self.channel else None

    # -- talking ---------------------------------------------------------------------------
    def t(self, text: Text | None) -> str:
        if text is None:
            return ""
        raw = text if isinstance(text, str) else text.get(self.sess.lang) or text.get("en") or next(iter(text.values()))
        return raw.format_map(_SafeDict(self.slots))

    def say(self, text: str, options: list[tuple[str, str]] | None = None) -> None:
        options = options or []
        buttons: list[dict[str, str]] = []
        max_buttons = self.caps.buttons if self.caps else 0
        if options and len(options) <= max_buttons:
            buttons = [{"id": oid, "title": title[:20]} for oid, title in options]
        elif options:
            # More choices than the channel shows as buttons: numbered lines, answered with a digit.
            text = "\n".join([text, ""] + [f"{i}. {title}" for i, (_, title) in enumerate(options, start=1)])
        self.sent += 1
        enqueue_in(self.s, self.rt, self.conv, SendRequest(
            text=text, buttons=buttons, author_type=AuthorType.BOT,
            idempotency_key=f"bot-{self.msg.id}-{self.sent}"), author_user_id=None)

    # -- the turn ----------------------------------------------------------------------------
    def run(self) -> None:
        text = self.msg.text or ""
        button_id = str((self.msg.content or {}).get("id") or "") if self.msg.kind == MessageKind.BUTTON_REPLY else ""
        if not text and button_id:
            text = str((self.msg.content or {}).get("title") or "")
        self.sess.lang = nlu.detect_language(text, self.sess.lang)
        if nlu.matches_keyword(text, nlu.HANDOFF_WORDS):
            self.handoff(self.t(TEXTS["handoff"]))
            return
        if nlu.matches_keyword(text, nlu.CANCEL_WORDS):
            self.cancel_booking()
            return
        if reschedule.wants_to_move(text):
            reschedule.start(self, text)
            self.save()
            return
        if reschedule.is_moving(self):
            reschedule.answer(self, text, button_id)
            self.save()
            return
        if self.sess.state == "running" and self.load_flow(self.sess.flow_id):
            assert self.flow is not None
            step = self.flow.step(self.sess.step)
            if step is not None:
                nxt = self.accept(step, text, button_id)
                if nxt is False:
                    # A question instead of an answer ("avete parcheggio?"): answer it, then ask again.
                    faq = self.faq_answer(text)
                    self.prompt(step, retry=faq is None, lead=faq or "")
                    self.save()
                    return
                self.run_from(nxt if isinstance(nxt, str) else None)
                self.save()
                return
        if nlu.matches_keyword(text, ("stato ordine", "order status", "mio ordine", "my order")):
            self.order_status()
            return
        faq = None if button_id else self.faq_answer(text)
        if faq is not None:
            self.say(faq)
            self.save()
            return
        flow_id = self.pick_flow(text, button_id)
        if flow_id is None:
            return
        self.slots = dict(self.start_slots)
        self.sess.flow_id = flow_id
        self.run_from(self.flow.start if self.flow else None)
        self.save()

    def save(self) -> None:
        self.sess.slots = dict(self.slots)
        self.sess.updated_at = self.rt.clock.now()
        self.conv.bot_active = self.sess.state == "running"

    def load_flow(self, flow_id: int | None) -> bool:
        with self.s.no_autoflush:
            self.flow = flow_cache.active_flow_in(self.s, self.conv.workspace_id, flow_id)
        return self.flow is not None

    def flows(self) -> list[tuple[int, FlowDef]]:
        with self.s.no_autoflush:
            return flow_cache.active_flows_in(self.s, self.conv.workspace_id)

    def resource(self, name: str) -> Any:
        """A bookable resource by name, read once per turn (offering and booking both need it)."""
        if name not in self.resources:
            self.resources[name] = bookings.resource_named_in(self.s, self.conv.workspace_id, name)
        return self.resources[name]

    def faq_answer(self, text: str) -> str | None:
        """The first knowledge-list entry of the active flows whose keywords the message has."""
        for _, flow in self.flows():
            for entry in flow.faq:
                if nlu.matches_keyword(text, entry.keywords):
                    return self.t(entry.answer)
        return None

    def pick_flow(self, text: str, button_id: str) -> int | None:
        """The id of the flow this message starts (its definition goes to ``self.flow``), or None.
        A button first, then a reply to a campaign, the best intent, a keyword, the default flow."""
        parsed = self.flows()
        chosen = (next((p for p in parsed if button_id and button_id in p[1].triggers.buttons), None)
                  or self.by_campaign(parsed)
                  or self.by_intent(parsed, text)
                  or next((p for p in parsed if nlu.matches_keyword(text, p[1].triggers.keywords)), None)
                  or next((p for p in parsed if p[1].triggers.default), None))
        if chosen is None:
            return None
        self.flow = chosen[1]
        return chosen[0]

    def by_campaign(self, parsed: list[tuple[int, FlowDef]]) -> tuple[int, FlowDef] | None:
        if not any(f.triggers.campaign_reply or f.triggers.campaigns for _, f in parsed):
            return None  # no query for workspaces without campaign flows
        name = campaign_answered_in(self.s, self.msg, self.conv, self.rt.clock.now())
        if name is None:
            return None
        chosen = (next((p for p in parsed if name in p[1].triggers.campaigns), None)
                  or next((p for p in parsed if p[1].triggers.campaign_reply), None))
        if chosen is not None:
            self.start_slots["campaign"] = name
        return chosen

    def by_intent(self, parsed: list[tuple[int, FlowDef]], text: str) -> tuple[int, FlowDef] | None:
        """The flow whose intent the message matches best by keywords and synonyms; failing that, and only
        with a local embedding model installed, the first whose examples it resembles."""
        best: tuple[int, tuple[int, FlowDef], str] | None = None
        for p in parsed:
            for intent in p[1].triggers.intents:
                score = nlu.intent_score(text, intent.keywords, intent.synonyms)
                if score and (best is None or score > best[0]):
                    best = (score, p, intent.name)
        if best is None and embeddings.embedder() is not None:
            best = next(((1, p, i.name) for p in parsed for i in p[1].triggers.intents
                         if i.examples and embeddings.matches(text, i.examples)), None)
        if best is None:
            return None
        self.start_slots["intent"] = best[2]
        return best[1]

    # -- steps -------------------------------------------------------------------------------
    def run_from(self, step_id: str | None) -> None:
        assert self.flow is not None
        for _ in range(MAX_STEPS_PER_TURN):
            step = self.flow.step(step_id) if step_id else None
            if step is None:
                self.sess.state, self.sess.step = "idle", ""
                return
            try:
                nxt = self.execute(step)
            except CroceviaError as exc:
                log.warning("bot step %s failed: %s", step.id, exc.detail, extra={"conversation_id": self.conv.id})
                self.handoff(self.t(TEXTS["error"]))
                return
            if nxt is _WAIT:
                self.sess.state, self.sess.step = "running", step.id
                return
            if nxt is _STOP:
                return
            step_id = nxt if isinstance(nxt, str) else None
        log.warning("bot flow loops without waiting", extra={"conversation_id": self.conv.id})
        self.sess.state, self.sess.step = "idle", ""

    def execute(self, step: Any) -> Any:
        if isinstance(step, SendStep):
            waits = any(b.next for b in step.buttons)
            self.say(self.t(step.text), [(b.id, self.t(b.title)) for b in step.buttons])
            return _WAIT if waits else step.next
        if isinstance(step, AskStep | AvailabilityStep | CatalogStep):
            return self.prompt(step)
        if isinstance(step, ConditionStep):
            for rule in step.rules:
                if _holds(rule, self.slots.get(rule.slot)):
                    return rule.next
            return step.else_
        if isinstance(step, SetStep):
            self.slots.update(step.values)
            if step.tags:
                self.add_labels(step.tags)
            return step.next
        if isinstance(step, BookStep):
            return self.book(step)
        if isinstance(step, OrderStep):
            return self.order(step)
        if isinstance(step, HttpStep):
            return self.call(step)
        if isinstance(step, OpenTicketStep):
            return open_ticket(self, step)
        if isinstance(step, HandoffStep):
            self.handoff(self.t(step.text))
            return _STOP
        if isinstance(step, EndStep):
            if step.text:
                self.say(self.t(step.text))
            self.sess.state, self.sess.step = "idle", ""
            return _STOP
        raise AssertionError(f"unknown step {step!r}")

    def prompt(self, step: Any, retry: bool = False, lead: str = "") -> Any:
        """Ask (again) what a waiting step needs; returns _WAIT, or where to go when there is nothing to ask.
        ``lead`` (an FAQ answer) goes in the same message: two messages could arrive in either order."""
        prefix = self.t(getattr(step, "retry", None) or TEXTS["retry"]) + " " if retry else ""
        prefix = f"{lead}\n\n{prefix}" if lead else prefix
        if isinstance(step, AskStep):
            self.say(prefix + self.t(step.prompt), [(c.id, self.t(c.title)) for c in step.choices])
        elif isinstance(step, SendStep):
            self.say(prefix + self.t(step.text), [(b.id, self.t(b.title)) for b in step.buttons])
        elif isinstance(step, AvailabilityStep):
            res = self.resource(step.resource)
            day = _as_date(self.slots.get(step.date_slot))
            party = int(self.slots.get(step.party_slot, 1) or 1) if step.party_slot else 1
            need = bookings.units_for(res, party) if res else 1
            free = [sl for sl in bookings.availability_in(self.s, res, day, self.rt.clock.now())
                    if sl.free >= need] if res and day else []
            if not free:
                self.say(self.t(step.none))
                return step.none_next if step.none_next else _end(self)
            wanted = self.slots.get(f"{step.date_slot}_time")
            match = next((sl for sl in free if sl.label == wanted), None)
            if match is not None and not retry:
                self.slots[step.slot] = match.starts_at.isoformat()
                self.slots["when"] = self.when(match.starts_at, res)
                return step.next
            self.slots["_offered"] = [[sl.starts_at.isoformat(), sl.label] for sl in free]
            self.say(prefix + self.t(step.prompt), [(sl.starts_at.isoformat(), sl.label) for sl in free])
        elif isinstance(step, CatalogStep):
            products = catalog.list_products_in(self.s, self.conv.workspace_id)
            if not products:
                self.say(self.t(TEXTS["no_products"]))
                return _end(self)
            self.slots["_offered"] = [[p.sku, f"{p.name} {catalog.format_money(p.price_minor, p.currency)}"]
                                      for p in products]
            self.say(prefix + self.t(step.prompt), [(sku, title) for sku, title in self.slots["_offered"]])
        return _WAIT

    def accept(self, step: Any, text: str, button_id: str) -> str | bool | None:
        """Take the customer's answer for a waiting step: where to go next, or False to ask again."""
        if isinstance(step, SendStep):
            picked = nlu.pick_option(text, button_id, [(b.id, self.t(b.title)) for b in step.buttons])
            if picked is None:
                return False
            button = next(b for b in step.buttons if b.id == picked)
            return button.next or step.next
        if isinstance(step, AvailabilityStep | CatalogStep):
            offered = [(str(a), str(b)) for a, b in self.slots.get("_offered", [])]
            picked = nlu.pick_option(text, button_id, offered)
            if picked is None:
                return False
            self.slots[step.slot] = picked
            self.slots.pop("_offered", None)
            if isinstance(step, AvailabilityStep):
                res = self.resource(step.resource)
                self.slots["when"] = self.when(datetime.fromisoformat(picked), res)
            return step.next
        if isinstance(step, AskStep):
            value = self.parse(step, text, button_id)
            if value is None:
                return False
            self.slots[step.slot] = value
            if step.kind == "choice":
                choice = next((c for c in step.choices if c.id == value), None)
                return (choice.next if choice else None) or step.next
            return step.next
        return step.next

    def parse(self, step: AskStep, text: str, button_id: str) -> Any:
        if step.kind == "number":
            n = nlu.parse_number(text)
            if n is None or (step.min is not None and n < step.min) or (step.max is not None and n > step.max):
                return None
            return n
        if step.kind == "date":
            d = nlu.parse_date(text, self.today())
            if d is None:
                return None
            at = nlu.parse_time(text)
            if at is not None:
                self.slots[f"{step.slot}_time"] = at.strftime("%H:%M")
            return d.isoformat()
        if step.kind == "email":
            return nlu.parse_email(text)
        if step.kind == "phone":
            return nlu.parse_phone(text)
        if step.kind == "choice":
            return nlu.pick_option(text, button_id, [(c.id, self.t(c.title)) for c in step.choices])
        return text.strip() or None

    def book(self, step: BookStep) -> Any:
        res = self.resource(step.resource)
        raw = self.slots.get(step.time_slot)
        if res is None or not raw:
            raise CroceviaError(f"booking step {step.id}: no resource {step.resource!r} or no time")
        party = int(self.slots.get(step.party_slot, 1) or 1) if step.party_slot else 1
        try:
            # A savepoint: a full slot must not undo the rest of the turn (the apology is sent).
            with self.s.begin_nested():
                booking = bookings.book_in(self.s, self.rt, res, datetime.fromisoformat(str(raw)), party_size=party,
                                           contact_id=self.conv.contact_id, conversation_id=self.conv.id)
        except (bookings.SlotFull, CroceviaError) as exc:
            if not isinstance(exc, bookings.SlotFull) and exc.field != "starts_at":
                raise
            self.say(self.t(step.full))
            return step.full_next if step.full_next else _end(self)
        self.slots["booking_id"] = booking.id
        self.slots["when"] = self.when(booking.starts_at, res)
        self.say(self.t(step.confirm))
        return step.next

    def order(self, step: OrderStep) -> Any:
        sku = self.slots.get(step.product_slot)
        product = next((p for p in catalog.list_products_in(self.s, self.conv.workspace_id) if p.sku == sku), None)
        if product is None:
            raise CroceviaError(f"order step {step.id}: no product {sku!r}")
        qty = int(self.slots.get(step.quantity_slot, 1) or 1) if step.quantity_slot else 1
        try:
            with self.s.begin_nested():
                placed = catalog.place_order_in(self.s, self.rt, self.conv, [(product, qty)], self.sess.lang)
        except catalog.OutOfStock:
            self.say(self.t(TEXTS["out_of_stock"]).replace("{name}", product.name))
            return _end(self)
        self.slots["order_id"] = placed.id
        self.slots["total"] = catalog.format_money(placed.total_minor, placed.currency)
        self.say(self.t(step.text))
        return step.next

    def call(self, step: HttpStep) -> Any:
        """The business's endpoint answers within ``timeout`` seconds (the turn's transaction waits: hence
        the 10 s cap); its JSON values go to the slots named in ``save``."""
        assert self.flow is not None
        payload = {"workspace_id": self.conv.workspace_id, "conversation_id": self.conv.id,
                   "contact_id": self.conv.contact_id, "flow": self.flow.name, "step": step.id,
                   "lang": self.sess.lang, "slots": {k: v for k, v in self.slots.items() if not k.startswith("_")}}
        answer = http_call.call(step, payload, int(self.rt.clock.now().timestamp()))
        if answer is None:
            if step.error_next:
                return step.error_next
            raise CroceviaError(f"http step {step.id}: the endpoint did not answer")
        for slot, key in step.save.items():
            if key in answer:
                self.slots[slot] = answer[key]
        return step.next

    def add_labels(self, labels: list[str]) -> None:
        """Label the conversation; "label added" automation rules (issue 8) hear of the new ones."""
        before = list(self.conv.labels or [])
        self.conv.labels = sorted(set(before) | set(labels))
        labels_added_in(self.s, workspace_id=self.conv.workspace_id, conversation_id=self.conv.id, before=before,
                        after=self.conv.labels)

    # -- outside the flow --------------------------------------------------------------------
    def handoff(self, text: str) -> None:
        """A person takes over: the bot goes silent, the conversation waits open and unassigned for the team,
        with a note of what the bot collected."""
        self.say(text)
        collected = {k: v for k, v in self.slots.items() if not k.startswith("_")}
        summary = ", ".join(f"{k}: {v}" for k, v in collected.items()) or "-"
        self.s.add(Note(workspace_id=self.conv.workspace_id, conversation_id=self.conv.id,
                        text=f"Bot handoff. Collected: {summary}", created_at=self.rt.clock.now()))
        self.sess.state, self.sess.step = "handoff", ""
        self.conv.status = ConversationStatus.OPEN.value
        self.conv.assignee_id = None
        self.add_labels(["handoff"])
        self.save()
        emit(self.s, "conversation.updated", self.conv.workspace_id, conversation_dict(self.conv),
             channel_id=self.conv.channel_id)

    def cancel_booking(self) -> None:
        booking = bookings.upcoming_for_contact_in(self.s, self.conv.workspace_id, self.conv.contact_id,
                                                   self.rt.clock.now())
        if booking is None:
            self.say(self.t(TEXTS["nothing_to_cancel"]))
        else:
            bookings.cancel_in(self.s, self.rt, booking)
            res = self.s.get(bookings.BookingResource, booking.resource_id)
            self.slots["when"] = self.when(booking.starts_at, res)
            self.say(self.t(TEXTS["cancelled"]))
        self.sess.state, self.sess.step = "idle", ""
        self.save()

    def order_status(self) -> None:
        order = catalog.latest_order_for_contact_in(self.s, self.conv.workspace_id, self.conv.contact_id)
        if order is not None:
            status = STATUS_WORDS.get(order.status, {}).get(self.sess.lang, order.status)
            self.say(self.t(TEXTS["order_status"]).replace("{id}", str(order.id)).replace("{status}", status))

    def today(self) -> date:
        with self.s.no_autoflush:
            ws = self.s.get(Workspace, self.conv.workspace_id)
        return self.rt.clock.now().astimezone(ZoneInfo(ws.timezone if ws else "Europe/Rome")).date()

    def when(self, at: datetime, res: Any) -> str:
        local = at.astimezone(ZoneInfo(res.timezone if res else "Europe/Rome"))
        return local.strftime("%d/%m %H:%M")


_WAIT = object()
_STOP = object()


def _end(turn: Turn) -> object:
    turn.sess.state, turn.sess.step = "idle", ""
    return _STOP


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _holds(rule: Any, value: Any) -> bool:
    if rule.equals is not None and value != rule.equals:
        return False
    if rule.in_ is not None and value not in rule.in_:
        return False
    try:
        if rule.gte is not None and float(value) < rule.gte:
            return False
        if rule.lte is not None and float(value) > rule.lte:
            return False
    except (TypeError, ValueError):
        return False
    return True


@task_handler(BOT_TASK)
def on_inbound(rt: Runtime, task: Task) -> None:
    """The durable task ingest writes with each customer message of a workspace that has bots."""
    with rt.db.transaction() as s:
        msg = s.get(Message, int(task.payload["message_id"]))
        if msg is None:
            return
        # Locks the conversation: two quick messages are handled one after the other, never interleaved.
        q = select(Conversation).where(Conversation.id == msg.conversation_id)
        conv = s.scalar(q.with_for_update() if rt.db.is_postgres else q)
        if conv is None or conv.assignee_id is not None:
            return  # a person is on it
        sess = s.scalar(select(BotSession).where(BotSession.conversation_id == conv.id))
        if sess is None:
            ws = s.get(Workspace, conv.workspace_id)
            sess = BotSession(workspace_id=conv.workspace_id, conversation_id=conv.id, state="idle", slots={},
                              lang=(ws.language if ws else "it") or "it", step="")
            s.add(sess)
        if sess.state == "handoff" or (sess.last_message_id is not None and sess.last_message_id >= msg.id):
            return
        sess.last_message_id = msg.id
        if task.payload.get("ticket_bot"):
            return  # the ticket bot answers this one (hooks.ticket_bot_claims_in): one answer per message
        Turn(s, rt, conv, sess, msg).run()
