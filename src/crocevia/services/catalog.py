"""Catalog (products with prices in minor units and optional stock) and orders."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crocevia.errors import Conflict, ValidationFailed
from crocevia.jobs.tasks import enqueue_in as enqueue_task
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.scoped import get_in_workspace
from crocevia.storage.tables import Conversation, Order, Product

PAYMENT_LINK_TASK = "payments.link"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def format_money(minor: int, currency: str) -> str:
    return f"{Decimal(minor) / 100:.2f} {currency}"


def create_product(rt: Runtime, actor: Actor, *, sku: str, name: str, price_minor: int, currency: str,
                   description: str = "", stock: int | None = None) -> Product:
    actor.require_admin()
    if not _CURRENCY.match(currency):
        raise ValidationFailed("a three-letter ISO 4217 code, like EUR", field="currency")
    with rt.db.transaction() as s:
        if s.scalar(select(Product.id).where(Product.workspace_id == actor.workspace_id, Product.sku == sku)):
            raise Conflict(f"a product with SKU {sku!r} exists", field="sku")
        p = Product(workspace_id=actor.workspace_id, sku=sku, name=name, price_minor=price_minor, currency=currency,
                    description=description, stock=stock)
        s.add(p)
        s.flush()
        return p


def import_products_csv(rt: Runtime, actor: Actor, text: str) -> int:
    """CSV with columns sku,name,price,currency[,stock,description]; price like 12.50. Upserts by SKU."""
    actor.require_admin()
    rows = list(csv.DictReader(io.StringIO(text)))
    parsed = []
    for line, row in enumerate(rows, start=2):
        try:
            price = int((Decimal(str(row.get("price", "")).replace(",", ".")) * 100).to_integral_exact())
        except (InvalidOperation, ValueError) as exc:
            raise ValidationFailed(f"line {line}: price {row.get('price')!r} is not an amount", field="price",
                                   line=line) from exc
        sku, name = (row.get("sku") or "").strip(), (row.get("name") or "").strip()
        if not sku or not name:
            raise ValidationFailed(f"line {line}: sku and name are required", field="sku", line=line)
        currency = (row.get("currency") or "EUR").strip().upper()
        if not _CURRENCY.match(currency):
            raise ValidationFailed(f"line {line}: bad currency {currency!r}", field="currency", line=line)
        stock_raw = (row.get("stock") or "").strip()
        if stock_raw and not stock_raw.isdigit():
            raise ValidationFailed(f"line {line}: stock must be a whole number", field="stock", line=line)
        parsed.append((sku, name, price, currency, int(stock_raw) if stock_raw else None,
                       (row.get("description") or "").strip()))
    with rt.db.transaction() as s:
        for sku, name, price, currency, stock, desc in parsed:
            p = s.scalar(select(Product).where(Product.workspace_id == actor.workspace_id, Product.sku == sku))
            if p is None:
                s.add(Product(workspace_id=actor.workspace_id, sku=sku, name=name, price_minor=price,
                              currency=currency, stock=stock, description=desc))
            else:
                p.name, p.price_minor, p.currency, p.stock, p.description = name, price, currency, stock, desc
    return len(parsed)


def list_products_in(s: Session, workspace_id: int, *, active_only: bool = True) -> list[Product]:
    q = select(Product).where(Product.workspace_id == workspace_id)
    if active_only:
        q = q.where(Product.is_active.is_(True))
    return list(s.scalars(q.order_by(Product.id)))


def list_products(rt: Runtime, actor: Actor) -> list[Product]:
    with rt.db.read() as s:
        return list_products_in(s, actor.workspace_id, active_only=False)


def place_order_in(s: Session, rt: Runtime, conv: Conversation, lines: list[tuple[Product, int]],
                   lang: str) -> Order:
    """An order awaiting payment; stock is taken now (conditionally, so it never goes negative) and the
    payment link is made by a durable task after commit."""
    if not lines:
        raise ValidationFailed("an order needs at least one item", field="items")
    currencies = {p.currency for p, _ in lines}
    if len(currencies) != 1:
        raise ValidationFailed("all items of an order must share one currency", field="items")
    for p, qty in lines:
        if qty < 1:
            raise ValidationFailed("quantity must be at least 1", field="quantity")
        taken = s.execute(update(Product).where(
            Product.id == p.id, or_(Product.stock.is_(None), Product.stock >= qty))
            .values(stock=Product.stock - qty))
        if getattr(taken, "rowcount", 1) != 1:
            raise OutOfStock(f"{p.name} is out of stock", field="items")
    order = Order(workspace_id=conv.workspace_id, conversation_id=conv.id, contact_id=conv.contact_id,
                  status="pending", currency=currencies.pop(), lang=lang,
                  total_minor=sum(p.price_minor * q for p, q in lines),
                  items=[{"sku": p.sku, "name": p.name, "quantity": q, "unit_minor": p.price_minor}
                         for p, q in lines], created_at=rt.clock.now())
    s.add(order)
    s.flush()
    enqueue_task(s, workspace_id=conv.workspace_id, kind=PAYMENT_LINK_TASK, payload={"order_id": order.id})
    return order


class OutOfStock(Conflict):
    code = "out_of_stock"
    title = "Out of stock"


def get_order_in(s: Session, actor: Actor, order_id: int) -> Order:
    return get_in_workspace(s, Order, order_id, actor, "order not found")


def get_order(rt: Runtime, actor: Actor, order_id: int) -> Order:
    with rt.db.read() as s:
        return get_order_in(s, actor, order_id)


def list_orders(rt: Runtime, actor: Actor, *, contact_id: int | None = None) -> list[Order]:
    with rt.db.read() as s:
        q = select(Order).where(Order.workspace_id == actor.workspace_id)
        if contact_id is not None:  # the inbox's contact panel (index ix_orders_contact)
            q = q.where(Order.contact_id == contact_id)
        return list(s.scalars(q.order_by(Order.id.desc()).limit(500)))


def latest_order_for_contact_in(s: Session, workspace_id: int, contact_id: int) -> Order | None:
    return s.scalar(select(Order).where(Order.workspace_id == workspace_id, Order.contact_id == contact_id)
                    .order_by(Order.id.desc()).limit(1))
