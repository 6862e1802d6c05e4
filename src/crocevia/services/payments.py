"""Payment links for orders and the provider's webhook: an order is marked paid only by a verified webhook."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import select

from crocevia.domain.enums import AuthorType
from crocevia.errors import NotFound, ValidationFailed
from crocevia.jobs.tasks import task_handler
from crocevia.payments.provider import PaymentProvider, StripeCheckout
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.catalog import PAYMENT_LINK_TASK, format_money
from crocevia.services.events import emit
from crocevia.services.messages import SendRequest, enqueue_in
from crocevia.storage.tables import Conversation, Message, Order, PaymentAccount, Task

TEXTS = {
    "link": {"it": "Ordine n. {id} ({total}): paga qui {url}", "en": "Order #{id} ({total}): pay here {url}"},
    "paid": {"it": "Pagamento ricevuto, grazie! L'ordine n. {id} è confermato.",
             "en": "Payment received, thank you! Order #{id} is confirmed."},
    "refunded": {"it": "Abbiamo rimborsato l'ordine n. {id}.", "en": "Order #{id} has been refunded."},
}


def set_account(rt: Runtime, actor: Actor, *, api_base: str, secret_key: str, webhook_secret: str) -> PaymentAccount:
    actor.require_admin()
    if not api_base.startswith(("http://", "https://")):
        raise ValidationFailed("api_base must be an http(s) URL", field="api_base")
    creds = rt.box.encrypt({"secret_key": secret_key, "webhook_secret": webhook_secret})
    with rt.db.transaction() as s:
        acct = s.scalar(select(PaymentAccount).where(PaymentAccount.workspace_id == actor.workspace_id))
        if acct is None:
            acct = PaymentAccount(workspace_id=actor.workspace_id, provider="stripe",
                                  public_id="pay_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y"),
                                  api_base=api_base, credentials_encrypted=creds)
            s.add(acct)
        else:
            acct.api_base, acct.credentials_encrypted = api_base, creds
        s.flush()
        return acct


def get_account(rt: Runtime, actor: Actor) -> PaymentAccount | None:
    with rt.db.read() as s:
        return s.scalar(select(PaymentAccount).where(PaymentAccount.workspace_id == actor.workspace_id))


def webhook_url(rt: Runtime, acct: PaymentAccount) -> str:
    return f"{rt.settings.public_url.rstrip('/')}/payments/webhook/{acct.public_id}"


def provider_for(rt: Runtime, acct: PaymentAccount) -> PaymentProvider:
    creds = rt.box.decrypt(acct.credentials_encrypted)
    return StripeCheckout(api_base=acct.api_base, secret_key=str(creds["secret_key"]),
                          webhook_secret=str(creds["webhook_secret"]))


def _say(s: Any, rt: Runtime, order: Order, what: str, key: str, **values: Any) -> None:
    """Tell the customer in their conversation, as the bot, through the normal send path."""
    if order.conversation_id is None:
        return
    conv = s.get(Conversation, order.conversation_id)
    if conv is None or s.scalar(select(Message.id).where(Message.workspace_id == order.workspace_id,
                                                         Message.idempotency_key == key)):
        return
    text = TEXTS[what].get(order.lang, TEXTS[what]["en"]).format(
        id=order.id, total=format_money(order.total_minor, order.currency), **values)
    enqueue_in(s, rt, conv, SendRequest(text=text, author_type=AuthorType.BOT, idempotency_key=key),
               author_user_id=None)


@task_handler(PAYMENT_LINK_TASK)
def make_payment_link(rt: Runtime, task: Task) -> None:
    with rt.db.read() as s:
        order = s.get(Order, int(task.payload["order_id"]))
        acct = s.scalar(select(PaymentAccount).where(PaymentAccount.workspace_id == task.workspace_id))
    if order is None or order.status != "pending":
        return
    if acct is None:
        raise ValidationFailed("no payment provider is configured for this workspace", field="payments")
    description = ", ".join(f"{i['quantity']}× {i['name']}" for i in order.items)[:200] or f"Order {order.id}"
    with httpx.Client(timeout=10.0) as http:
        link = provider_for(rt, acct).create_link(
            order_id=order.id, description=description, amount_minor=order.total_minor, currency=order.currency,
            success_url=f"{rt.settings.public_url.rstrip('/')}/paid", http=http)
    with rt.db.transaction() as s:
        row = s.get(Order, order.id)
        assert row is not None
        row.payment_ref, row.payment_url = link.ref, link.url
        _say(s, rt, row, "link", f"order-{row.id}-link", url=link.url)


def handle_webhook(rt: Runtime, public_id: str, body: bytes, headers: dict[str, str]) -> str:
    """Verify and apply a provider webhook; returns what happened (for the log)."""
    with rt.db.read() as s:
        acct = s.scalar(select(PaymentAccount).where(PaymentAccount.public_id == public_id))
    if acct is None:
        raise NotFound("unknown payment account")
    event = provider_for(rt, acct).parse_webhook(body, {k.lower(): v for k, v in headers.items()})
    if event.kind == "ignored":
        return f"ignored {event.raw_type}"
    with rt.db.transaction() as s:
        order = s.scalar(select(Order).where(Order.workspace_id == acct.workspace_id,
                                             Order.payment_ref == event.ref).with_for_update())
        if order is None:
            return "unknown checkout"
        if event.kind == "paid" and order.status == "pending":
            order.status, order.paid_at = "paid", rt.clock.now()
            _say(s, rt, order, "paid", f"order-{order.id}-paid")
        elif event.kind == "refunded" and order.status == "paid":
            order.status = "refunded"
            _say(s, rt, order, "refunded", f"order-{order.id}-refunded")
        else:
            return f"{event.kind}: order already {order.status}"
        emit(s, f"order.{order.status}", order.workspace_id, {"order_id": order.id, "status": order.status})
        return f"order {order.id} {order.status}"
