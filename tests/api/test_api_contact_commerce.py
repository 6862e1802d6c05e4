"""A contact's bookings and orders, as the inbox's contact panel asks for them: ``contact_id`` on
``GET /bookings`` and ``GET /orders`` lists that contact's only, and never another workspace's."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.support import Api, assert_problem, create_channel, receive
from tests.conftest import api_token, new_workspace

from crocevia.automation.samples import RESTAURANT_HOURS
from crocevia.runtime import Runtime
from crocevia.services import bookings, catalog
from crocevia.storage.tables import BookingResource, Conversation, Product


@pytest.fixture
def owner(rt: Runtime, http: TestClient) -> Api:
    return Api(http, api_token(rt, new_workspace(rt, slug=f"shop-{uuid.uuid4().hex[:8]}").owner))


def _book(rt: Runtime, resource_id: int, conv: dict[str, Any], starts_at: str, party: int) -> int:
    with rt.db.transaction() as s:
        res = s.get(BookingResource, resource_id)
        assert res is not None
        return bookings.book_in(s, rt, res, datetime.fromisoformat(starts_at), party_size=party,
                                name=conv["contact"]["name"], contact_id=conv["contact"]["id"],
                                conversation_id=conv["id"]).id


def _order(rt: Runtime, conv: dict[str, Any], product_id: int, quantity: int) -> int:
    with rt.db.transaction() as s:
        c, p = s.get(Conversation, conv["id"]), s.get(Product, product_id)
        assert c is not None and p is not None
        return catalog.place_order_in(s, rt, c, [(p, quantity)], "it").id


def test_bookings_and_orders_filtered_by_contact(rt: Runtime, http: TestClient, owner: Api) -> None:
    channel = create_channel(owner)
    anna = receive(owner, channel, "Vorrei prenotare", "+393332000001", "Anna Tavoli")
    bruno = receive(owner, channel, "Un tavolo per due", "+393332000002", "Bruno Tavoli")
    res = owner.ok("POST", "/api/v1/booking/resources", 201,
                   json={"name": "Sala", "capacity": 5, "hours": RESTAURANT_HOURS})
    day = (rt.clock.now() + timedelta(days=2)).date().isoformat()
    slots = owner.ok("GET", f"/api/v1/booking/resources/{res['id']}/availability", params={"day": day})
    anna_bookings = [_book(rt, res["id"], anna, slots[0]["starts_at"], 2),
                     _book(rt, res["id"], anna, slots[1]["starts_at"], 4)]
    bruno_booking = _book(rt, res["id"], bruno, slots[0]["starts_at"], 2)
    walk_in = owner.ok("POST", "/api/v1/bookings", 201, json={"resource_id": res["id"],
                                                             "starts_at": slots[1]["starts_at"], "name": "Walk-in"})
    pizza = owner.ok("POST", "/api/v1/catalog/products", 201, json={"sku": "pz", "name": "Pizza", "price_minor": 850})
    anna_order, bruno_order = _order(rt, anna, pizza["id"], 2), _order(rt, bruno, pizza["id"], 1)

    listed = owner.ok("GET", "/api/v1/bookings", params={"contact_id": anna["contact"]["id"]})
    assert [b["id"] for b in listed] == anna_bookings
    assert [(b["contact_id"], b["party_size"]) for b in listed] == [(anna["contact"]["id"], 2),
                                                                    (anna["contact"]["id"], 4)]
    assert [b["id"] for b in owner.ok("GET", "/api/v1/bookings", params={"contact_id": bruno["contact"]["id"]})] \
        == [bruno_booking]
    everyone = {b["id"] for b in owner.ok("GET", "/api/v1/bookings")}
    assert everyone == {*anna_bookings, bruno_booking, walk_in["id"]}
    both = owner.ok("GET", "/api/v1/bookings", params={"contact_id": anna["contact"]["id"], "resource_id": res["id"]})
    assert [b["id"] for b in both] == anna_bookings

    orders = owner.ok("GET", "/api/v1/orders", params={"contact_id": anna["contact"]["id"]})
    assert [(o["id"], o["total_minor"], o["status"]) for o in orders] == [(anna_order, 1700, "pending")]
    assert [o["id"] for o in owner.ok("GET", "/api/v1/orders")] == [bruno_order, anna_order]

    # Another workspace asking for this contact sees nothing of it.
    stranger = Api(http, api_token(rt, new_workspace(rt, slug=f"other-{uuid.uuid4().hex[:8]}").owner))
    assert stranger.ok("GET", "/api/v1/bookings", params={"contact_id": anna["contact"]["id"]}) == []
    assert stranger.ok("GET", "/api/v1/orders", params={"contact_id": anna["contact"]["id"]}) == []
    # A malformed id is the caller's mistake, named.
    assert_problem(owner.get("/api/v1/bookings", params={"contact_id": "anna"}), 422, "contact_id")
    assert_problem(owner.get("/api/v1/orders", params={"contact_id": 0}), 422, "contact_id")
