"""Capacity under concurrent bookings (both engines), and flow definitions refused with the field named."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient

from crocevia.automation.samples import RESTAURANT_FLOW, RESTAURANT_HOURS
from crocevia.errors import Conflict
from crocevia.runtime import Runtime
from crocevia.services import bookings
from tests.api.support import Api, assert_problem, make_app
from tests.conftest import Workspace, api_token


def test_parallel_bookings_of_the_last_table_one_wins_the_rest_are_refused(rt: Runtime, ws: Workspace) -> None:
    res = bookings.create_resource(rt, ws.owner, name="Tavoli", capacity=2, slot_minutes=60, hours=RESTAURANT_HOURS,
                                   closed_dates=[], timezone="Europe/Rome")
    tomorrow = (rt.clock.now() + timedelta(days=1)).date()
    slot = bookings.availability(rt, ws.owner, res.id, tomorrow)[0]
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            bookings.book(rt, ws.owner, res.id, slot.starts_at, party_size=2, name=f"cliente {i}")
            outcomes.append("booked")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["booked"] * 2 + ["slot_full"] * 6
    assert [b.status for b in bookings.list_bookings(rt, ws.owner)] == ["confirmed", "confirmed"]
    assert bookings.availability(rt, ws.owner, res.id, tomorrow)[0].free == 0


def test_flow_definitions_are_validated_with_the_field_and_line_named(rt: Runtime, ws: Workspace) -> None:
    api = Api(TestClient(make_app(rt)), api_token(rt, ws.owner))
    broken = RESTAURANT_FLOW.replace("next: people", "next: persone")
    body = assert_problem(api.post("/api/v1/bot/flows", json={"source": broken}), 400, "source.steps.1.next")
    assert "names no step: 'persone'" in body["detail"]
    assert body["line"] == broken.splitlines().index("    next: persone") + 1
    bad_kind = {"name": "x", "start": "a", "steps": [{"id": "a", "type": "ask", "slot": "s", "prompt": "?",
                                                       "kind": "colour"}]}
    assert_problem(api.post("/api/v1/bot/flows", json={"definition": bad_kind}), 400, "definition.steps.0.kind")
    assert_problem(api.post("/api/v1/bot/flows", json={"source": "name: [unclosed"}), 400, "source")

    created = api.ok("POST", "/api/v1/bot/flows", 201, json={"source": RESTAURANT_FLOW})
    assert (created["name"], created["version"]) == ("ristorante", 1)
    updated = api.ok("PUT", f"/api/v1/bot/flows/{created['id']}", json={"source": RESTAURANT_FLOW,
                                                                        "is_active": False})
    assert (updated["version"], updated["is_active"]) == (2, False)
    assert assert_problem(api.post("/api/v1/bot/flows", json={"source": RESTAURANT_FLOW}), 409)["code"] == "conflict"
