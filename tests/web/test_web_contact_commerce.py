"""The contact panel lists the customer's bookings and orders (issue 5, "orders and bookings once those
exist"), in the agent's language, and only that customer's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from tests.browser_support import browser_fixture
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event
from tests.web.ui import PASSWORD, expect, sign_in

from crocevia.automation.samples import RESTAURANT_HOURS
from crocevia.domain.enums import Role
from crocevia.services import accounts, bookings, catalog, channels
from crocevia.storage.tables import BookingResource, Conversation, Product

pytestmark = pytest.mark.browser
browser = browser_fixture()


def test_the_contact_panel_lists_bookings_and_orders(browser: Any, hub: Hub, emu: httpx.Client,
                                                     emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    post_inbound(hub, channel, [{**text_event("cc-1", "Vorrei prenotare", "+393334000001"), "name": "Anna Sala"},
                                {**text_event("cc-2", "Anch'io", "+393334000002"), "name": "Bruno Altro"}])
    api = hub.client(api_token(hub.rt, w.owner))
    convs = {c["contact"]["name"]: c for c in api.get("/api/v1/conversations").json()["items"]}
    res = bookings.create_resource(hub.rt, w.owner, name="Sala grande", capacity=5, slot_minutes=60,
                                   hours=RESTAURANT_HOURS, closed_dates=[], timezone="Europe/Rome")
    day = hub.rt.clock.now().date() + timedelta(days=3)
    evening = bookings.availability(hub.rt, w.owner, res.id, day)[0].starts_at  # 19:00 in Rome
    pizza = catalog.create_product(hub.rt, w.owner, sku="pz", name="Pizza margherita", price_minor=850,
                                   currency="EUR")
    with hub.rt.db.transaction() as s:
        for name, party in (("Anna Sala", 4), ("Bruno Altro", 7)):
            conv, room = s.get(Conversation, convs[name]["id"]), s.get(BookingResource, res.id)
            assert conv is not None and room is not None
            bookings.book_in(s, hub.rt, room, evening, party_size=party, name=name, contact_id=conv.contact_id,
                             conversation_id=conv.id)
            if name == "Anna Sala":
                product = s.get(Product, pizza.id)
                assert product is not None
                order_id = catalog.place_order_in(s, hub.rt, conv, [(product, 2)], "it").id

    # An agent whose profile says Italian (sign-in page in English: the profile wins once in).
    gino = accounts.create_user(hub.rt, w.owner, email=f"gino@{w.owner_email.split('@')[1]}", name="Gino Verdi",
                                role=Role.AGENT, password=PASSWORD, language="it")
    channels.set_members(hub.rt, w.owner, channel.id, [gino.id])
    page = sign_in(browser, hub, gino.email)
    page.goto(f"{hub.url}/ui/conversations/{convs['Anna Sala']['id']}")
    panel = page.get_by_test_id("contact-panel")
    expect()(panel).to_contain_text("Anna Sala")
    booked = panel.get_by_test_id("contact-bookings").get_by_role("listitem")
    expect()(booked).to_have_count(1)  # Anna's only: Bruno's party of 7 is his
    expect()(booked).to_contain_text("Sala grande")
    expect()(booked).to_contain_text("4 persone")
    expect()(booked).to_contain_text("19:00")
    expect()(booked).to_contain_text("Confermata")
    ordered = panel.get_by_test_id("contact-orders").get_by_role("listitem")
    expect()(ordered).to_have_count(1)
    expect()(ordered).to_contain_text(f"#{order_id}")
    expect()(ordered).to_contain_text("17,00")
    expect()(ordered).to_contain_text("2× Pizza margherita")
    expect()(ordered).to_contain_text("In attesa di pagamento")
    expect()(panel.get_by_role("heading", name="Prenotazioni")).to_be_visible()

    # Bruno has a booking and no order: no empty "Orders" section.
    page.goto(f"{hub.url}/ui/conversations/{convs['Bruno Altro']['id']}")
    expect()(panel).to_contain_text("Bruno Altro")
    expect()(panel.get_by_test_id("contact-bookings")).to_contain_text("7 persone")
    expect()(panel.get_by_test_id("contact-orders")).to_have_count(0)
    page.context.close()
