"""Bots, bookings, catalog, orders and payments: thin routes over services/{flows,bookings,catalog,payments}."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from crocevia.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from crocevia.services import bookings, catalog, flows, payments
from crocevia.storage.tables import Booking, BookingResource, BotFlow, Order, Product

router = APIRouter(tags=["automation"])
public_router = APIRouter(include_in_schema=False)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlowIn(_In):
    """Either ``definition`` (a JSON object) or ``source`` (YAML/JSON text; errors then name its line)."""
    definition: dict[str, Any] | None = None
    source: str | None = Field(default=None, max_length=200_000)
    format: Literal["yaml", "json"] = "yaml"
    is_active: bool = True


class BotStateIn(_In):
    active: bool


class ResourceIn(_In):
    name: str = Field(min_length=1, max_length=100)
    capacity: int = Field(ge=1, le=100_000)
    slot_minutes: int = Field(default=60, ge=5, le=24 * 60)
    hours: dict[str, list[str]] = Field(default_factory=dict)
    closed_dates: list[date] = Field(default_factory=list)
    timezone: str = "Europe/Rome"
    capacity_unit: Literal["booking", "person"] = Field(
        default="booking", description="booking: one unit per booking (tables, rooms); person: one per guest (seats)")
    reminder_minutes: int = Field(default=120, ge=0, le=60 * 24 * 14, description="0: no reminder")


class BookingMoveIn(_In):
    starts_at: datetime


class BookingIn(_In):
    resource_id: int = Field(ge=1)
    starts_at: datetime
    party_size: int = Field(default=1, ge=1, le=1000)
    name: str = Field(default="", max_length=200)


class ProductIn(_In):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    price_minor: int = Field(ge=0, description="price in minor units (cents)")
    currency: str = "EUR"
    description: str = ""
    stock: int | None = Field(default=None, ge=0)


class CsvIn(_In):
    csv: str = Field(min_length=1, max_length=2_000_000)


class PaymentAccountIn(_In):
    api_base: str = "https://api.stripe.com"
    secret_key: str = Field(min_length=8)
    webhook_secret: str = Field(min_length=8)


def _flow(f: BotFlow) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "version": f.version, "is_active": f.is_active, "definition": f.definition,
            "updated_at": f.updated_at.isoformat()}


def _resource(r: BookingResource) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "capacity": r.capacity, "slot_minutes": r.slot_minutes, "hours": r.hours,
            "closed_dates": r.closed_dates, "timezone": r.timezone, "capacity_unit": r.capacity_unit,
            "reminder_minutes": r.reminder_minutes}


def _booking(b: Booking) -> dict[str, Any]:
    return {"id": b.id, "resource_id": b.resource_id, "starts_at": b.starts_at.isoformat(), "status": b.status,
            "party_size": b.party_size, "name": b.name, "contact_id": b.contact_id,
            "conversation_id": b.conversation_id}


def _product(p: Product) -> dict[str, Any]:
    return {"id": p.id, "sku": p.sku, "name": p.name, "description": p.description, "price_minor": p.price_minor,
            "currency": p.currency, "stock": p.stock, "is_active": p.is_active}


def _order(o: Order) -> dict[str, Any]:
    return {"id": o.id, "status": o.status, "currency": o.currency, "total_minor": o.total_minor, "items": o.items,
            "conversation_id": o.conversation_id, "contact_id": o.contact_id, "payment_url": o.payment_url,
            "created_at": o.created_at.isoformat(), "paid_at": o.paid_at.isoformat() if o.paid_at else None}


@router.get("/bot/flows")
def list_flows(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [_flow(f) for f in flows.list_flows(rt, actor)]


@router.post("/bot/flows", status_code=201)
def create_flow(body: FlowIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _flow(flows.save_flow(rt, actor, definition=body.definition, source=body.source, fmt=body.format,
                                 is_active=body.is_active))


@router.get("/bot/flows/{flow_id}")
def get_flow(flow_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _flow(flows.get_flow(rt, actor, flow_id))


@router.put("/bot/flows/{flow_id}")
def update_flow(flow_id: IdPath, body: FlowIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _flow(flows.save_flow(rt, actor, definition=body.definition, source=body.source, fmt=body.format,
                                 is_active=body.is_active, flow_id=flow_id))


@router.delete("/bot/flows/{flow_id}", status_code=204)
def delete_flow(flow_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> None:
    flows.delete_flow(rt, actor, flow_id)


@router.put("/conversations/{conversation_id}/bot")
def set_bot(conversation_id: IdPath, body: BotStateIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Hand the conversation back to the bot (``active: true``) or keep it with people (``false``)."""
    return {"state": flows.set_bot(rt, actor, conversation_id, active=body.active)}


@router.get("/booking/resources")
def list_resources(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [_resource(r) for r in bookings.list_resources(rt, actor)]


@router.post("/booking/resources", status_code=201)
def create_resource(body: ResourceIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _resource(bookings.create_resource(rt, actor, name=body.name, capacity=body.capacity,
                                              slot_minutes=body.slot_minutes, hours=body.hours,
                                              closed_dates=body.closed_dates, timezone=body.timezone,
                                              capacity_unit=body.capacity_unit,
                                              reminder_minutes=body.reminder_minutes))


@router.get("/booking/resources/{resource_id}/availability")
def availability(resource_id: IdPath, rt: RuntimeDep, actor: ActorDep, day: date | None = None) -> list[dict[str, Any]]:
    """Free units per slot on ``day`` (default: today)."""
    return [{"starts_at": sl.starts_at.isoformat(), "time": sl.label, "free": sl.free}
            for sl in bookings.availability(rt, actor, resource_id, day or rt.clock.now().date())]


@router.get("/bookings")
def list_bookings(rt: RuntimeDep, actor: ActorDep, resource_id: IdQuery = None,
                  contact_id: IdQuery = None) -> list[dict[str, Any]]:
    return [_booking(b) for b in bookings.list_bookings(rt, actor, resource_id=resource_id, contact_id=contact_id)]


@router.post("/bookings", status_code=201)
def create_booking(body: BookingIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _booking(bookings.book(rt, actor, body.resource_id, body.starts_at, party_size=body.party_size,
                                  name=body.name))


@router.post("/bookings/{booking_id}/cancel")
def cancel_booking(booking_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _booking(bookings.cancel(rt, actor, booking_id))


@router.post("/bookings/{booking_id}/reschedule")
def reschedule_booking(booking_id: IdPath, body: BookingMoveIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """Move a booking to another slot (taken first: a full slot leaves the booking where it was)."""
    return _booking(bookings.reschedule(rt, actor, booking_id, body.starts_at))


@router.get("/catalog/products")
def list_products(rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [_product(p) for p in catalog.list_products(rt, actor)]


@router.post("/catalog/products", status_code=201)
def create_product(body: ProductIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _product(catalog.create_product(rt, actor, sku=body.sku, name=body.name, price_minor=body.price_minor,
                                           currency=body.currency, description=body.description, stock=body.stock))


@router.post("/catalog/import")
def import_products(body: CsvIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return {"imported": catalog.import_products_csv(rt, actor, body.csv)}


@router.get("/orders")
def list_orders(rt: RuntimeDep, actor: ActorDep, contact_id: IdQuery = None) -> list[dict[str, Any]]:
    return [_order(o) for o in catalog.list_orders(rt, actor, contact_id=contact_id)]


@router.get("/orders/{order_id}")
def get_order(order_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return _order(catalog.get_order(rt, actor, order_id))


@router.get("/payments/account")
def get_payment_account(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    acct = payments.get_account(rt, actor)
    if acct is None:
        return {"configured": False}
    return {"configured": True, "provider": acct.provider, "api_base": acct.api_base,
            "webhook_url": payments.webhook_url(rt, acct)}


@router.put("/payments/account")
def put_payment_account(body: PaymentAccountIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    acct = payments.set_account(rt, actor, api_base=body.api_base, secret_key=body.secret_key,
                                webhook_secret=body.webhook_secret)
    return {"configured": True, "provider": acct.provider, "api_base": acct.api_base,
            "webhook_url": payments.webhook_url(rt, acct)}


@public_router.post("/payments/webhook/{public_id}")
async def payment_webhook(public_id: str, request: Request, rt: RuntimeDep) -> dict[str, str]:
    """The payment provider's webhook: signature verified over the raw body; an order is paid only here."""
    body = await request.body()
    from starlette.concurrency import run_in_threadpool

    outcome = await run_in_threadpool(payments.handle_webhook, rt, public_id, body, dict(request.headers))
    return {"status": outcome}
