"""Demo content for the bots: the Trattoria's restaurant flow, its tables, a small menu, and a Stripe
account pointed at the emulator, so the demo's web chat (/demo) and sandbox channel answer with a
bot that books a table, takes an order and sends a payment link."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crocevia.automation.samples import RESTAURANT_FLOW, RESTAURANT_HOURS
from crocevia.runtime import Runtime
from crocevia.services import bookings, catalog, flows, payments
from crocevia.services.actor import Actor
from crocevia.storage.tables import Channel, PaymentAccount

# Test-mode keys shared only with the in-process emulator (never a real Stripe account).
DEMO_STRIPE = {"account_id": "acct_demo", "api_key": "sk_test_crocevia_demo",
               "webhook_secret": "whsec_crocevia_demo"}
DEMO_MENU = [("margherita", "Pizza Margherita", 850), ("carbonara", "Spaghetti alla carbonara", 1200),
             ("tiramisu", "Tiramisù", 550)]


def seed_bot(rt: Runtime, actor: Actor, agent_user_id: int) -> None:
    flows.save_flow(rt, actor, source=RESTAURANT_FLOW)
    bookings.create_resource(rt, actor, name="Tavoli", capacity=5, slot_minutes=60, hours=RESTAURANT_HOURS,
                             closed_dates=[], timezone="Europe/Rome", reminder_minutes=120)
    for sku, name, price in DEMO_MENU:
        catalog.create_product(rt, actor, sku=sku, name=name, price_minor=price, currency="EUR", stock=50)
    with rt.db.read() as s:
        sandbox = s.scalar(select(Channel).where(Channel.workspace_id == actor.workspace_id,
                                                 Channel.kind == "sandbox"))
        api_base = str((sandbox.settings or {}).get("api_base", "")) if sandbox else ""
    if api_base.startswith(("http://", "https://")):
        payments.set_account(rt, actor, api_base=api_base, secret_key=DEMO_STRIPE["api_key"],
                             webhook_secret=DEMO_STRIPE["webhook_secret"])


def wire_payments(rt: Runtime, emulator: Any) -> int:
    """Register the demo's Stripe account with an in-process emulator, so payments work in `make run`."""
    with rt.db.read() as s:
        accounts = list(s.scalars(select(PaymentAccount)))
    count = 0
    for acct in accounts:
        if rt.box.decrypt(acct.credentials_encrypted).get("secret_key") != DEMO_STRIPE["api_key"]:
            continue
        emulator.state.accounts.setdefault("stripe", {})[DEMO_STRIPE["account_id"]] = {
            **DEMO_STRIPE, "webhook_url": payments.webhook_url(rt, acct)}
        count += 1
    return count
