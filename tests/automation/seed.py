"""Seeds one of each automation object for the API tenancy tests (tests/api/support.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crocevia.automation.samples import RESTAURANT_FLOW, RESTAURANT_HOURS
from crocevia.runtime import Runtime
from crocevia.services import catalog
from crocevia.storage.tables import Conversation, Product

MINIMAL_FLOW = {"name": "minimo", "start": "a", "steps": [{"id": "a", "type": "end", "text": "ciao"}]}


def seed_automation(rt: Runtime, owner: Any, conversation_id: int, marker: str) -> dict[str, int]:
    flow = owner.ok("POST", "/api/v1/bot/flows", 201, json={
        "source": RESTAURANT_FLOW.replace("name: ristorante", f"name: ristorante-{marker}"), "is_active": False})
    res = owner.ok("POST", "/api/v1/booking/resources", 201, json={"name": f"Tavoli {marker}", "capacity": 3,
                                                                   "hours": RESTAURANT_HOURS})
    day = (rt.clock.now() + timedelta(days=1)).date().isoformat()
    slot = owner.ok("GET", f"/api/v1/booking/resources/{res['id']}/availability", params={"day": day})[0]
    booking = owner.ok("POST", "/api/v1/bookings", 201, json={"resource_id": res["id"], "starts_at": slot["starts_at"],
                                                              "name": f"Cliente {marker}"})
    product = owner.ok("POST", "/api/v1/catalog/products", 201, json={"sku": marker.lower(), "name": f"Pizza {marker}",
                                                                      "price_minor": 850})
    with rt.db.transaction() as s:
        conv = s.get(Conversation, conversation_id)
        p = s.get(Product, product["id"])
        assert conv is not None and p is not None
        order = catalog.place_order_in(s, rt, conv, [(p, 1)], "it")
        order_id = order.id
    return {"flow_id": flow["id"], "resource_id": res["id"], "booking_id": booking["id"], "order_id": order_id}
