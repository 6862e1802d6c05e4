"""A customer chats with the restaurant bot over a real channel (sandbox + emulator) on the real hub:
books a table by buttons, orders and pays through the Stripe emulator, asks for a person."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from crocevia.automation.samples import RESTAURANT_FLOW, RESTAURANT_HOURS
from crocevia.storage.tables import Task
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for


def button_event(msg_id: str, button_id: str, title: str, sender: str = "+393331234567") -> dict[str, Any]:
    return {"type": "message", "id": msg_id, "from": sender, "name": "Mario Rossi", "text": title,
            "button": {"id": button_id, "title": title}, "timestamp": int(time.time())}


class Chat:
    """One customer on the sandbox channel; ``say``/``press`` return the bot's new replies."""

    def __init__(self, hub: Hub, channel: Any, emu: httpx.Client, sender: str) -> None:
        self.hub, self.channel, self.emu, self.sender = hub, channel, emu, sender

    def _replies(self) -> list[dict[str, Any]]:
        got = self.emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json()
        return [a["body"] for a in got if a["body"]["to"] == self.sender]

    def _send(self, event: dict[str, Any], expect: int) -> list[dict[str, Any]]:
        before = len(self._replies())
        assert post_inbound(self.hub, self.channel, [event]).status_code == 200
        wait_for(lambda: len(self._replies()) >= before + expect, timeout=20, what="the bot's reply")
        return self._replies()[before:]

    def say(self, text: str, expect: int = 1) -> list[dict[str, Any]]:
        return self._send(text_event(f"in-{uuid.uuid4().hex[:10]}", text, self.sender), expect)

    def press(self, button_id: str, title: str, expect: int = 1) -> list[dict[str, Any]]:
        return self._send(button_event(f"in-{uuid.uuid4().hex[:10]}", button_id, title, self.sender), expect)


def setup_restaurant(hub: Hub, emu: httpx.Client, emulator: Any) -> tuple[Any, httpx.Client]:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    resp = api.post("/api/v1/bot/flows", json={"source": RESTAURANT_FLOW})
    assert resp.status_code == 201, resp.text
    resp = api.post("/api/v1/booking/resources", json={"name": "Tavoli", "capacity": 1, "slot_minutes": 60,
                                                       "hours": RESTAURANT_HOURS})
    assert resp.status_code == 201, resp.text
    return channel, api


def test_customer_books_the_last_table_by_buttons_and_a_second_customer_is_refused_politely(
        hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    channel, api = setup_restaurant(hub, emu, emulator)
    mario = Chat(hub, channel, emu, "+393331234567")

    menu = mario.say("Ciao, vorrei prenotare un tavolo")[0]
    assert "Cosa desideri?" in menu["text"]
    assert [b["id"] for b in menu["buttons"]] == ["book", "order", "human"]
    assert "Per quando?" in mario.press("book", "Prenota un tavolo")[0]["text"]
    assert "Per quante persone?" in mario.say("domani")[0]["text"]
    offer = mario.say("siamo in 4")[0]
    assert "orari liberi" in offer["text"]
    assert [b["title"] for b in offer["buttons"]] == ["19:00", "20:00"]
    eight = offer["buttons"][1]["id"]
    confirmation = mario.press(eight, "20:00")[0]["text"]
    assert "Prenotato! Tavolo per 4" in confirmation and "20:00" in confirmation and "ANNULLA" in confirmation

    booked = api.get("/api/v1/bookings").json()
    assert [(b["status"], b["party_size"], datetime.fromisoformat(b["starts_at"])) for b in booked] == [
        ("confirmed", 4, datetime.fromisoformat(eight))]
    day = datetime.fromisoformat(eight).date().isoformat()
    rid = booked[0]["resource_id"]
    free = api.get(f"/api/v1/booking/resources/{rid}/availability", params={"day": day}).json()
    assert [(s["time"], s["free"]) for s in free] == [("19:00", 1), ("20:00", 0)]

    # An English-speaking customer only sees the free time, and after picking it too late is told so.
    anna = Chat(hub, channel, emu, "+393339999999")
    assert "What would you like?" in anna.say("Hi, I would like to book a table")[0]["text"]
    anna.press("book", "Book a table")
    anna.say("tomorrow")
    offer = anna.say("2 people")[0]
    assert [b["title"] for b in offer["buttons"]] == ["19:00"]
    # Meanwhile the 19:00 table goes to someone on the phone (through the API).
    taken = api.post("/api/v1/bookings", json={"resource_id": rid, "starts_at": offer["buttons"][0]["id"],
                                               "party_size": 2, "name": "Telefono"})
    assert taken.status_code == 201, taken.text
    again = api.post("/api/v1/bookings", json={"resource_id": rid, "starts_at": offer["buttons"][0]["id"]})
    assert again.status_code == 409 and again.json()["code"] == "slot_full"
    refused = anna.press(offer["buttons"][0]["id"], "19:00")[0]["text"]
    assert "another customer just took that time" in refused
    assert len([b for b in api.get("/api/v1/bookings").json() if b["status"] == "confirmed"]) == 2

    # Mario cancels with the keyword: the table is free again.
    assert "è annullata" in mario.say("ANNULLA")[0]["text"]
    free = api.get(f"/api/v1/booking/resources/{rid}/availability", params={"day": day}).json()
    assert [(s["time"], s["free"]) for s in free] == [("19:00", 0), ("20:00", 1)]


def test_order_payment_link_and_verified_webhook_confirm_the_order_in_chat(
        hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    channel, api = setup_restaurant(hub, emu, emulator)
    assert api.post("/api/v1/catalog/import", json={
        "csv": "sku,name,price,currency,stock\npizza,Pizza Margherita,8.50,EUR,10\ntiramisu,Tiramisù,5,EUR,\n"
    }).json() == {"imported": 2}
    acct = api.put("/api/v1/payments/account", json={"api_base": emulator.url, "secret_key": "sk_test_crocevia1",
                                                      "webhook_secret": "whsec_crocevia1"}).json()
    emu.post("/_emulator/accounts/stripe", json={"account_id": "acct_1", "api_key": "sk_test_crocevia1",
                                                 "webhook_secret": "whsec_crocevia1",
                                                 "webhook_url": acct["webhook_url"]})
    lucia = Chat(hub, channel, emu, "+393335555555")
    lucia.say("ciao")
    menu = lucia.press("order", "Ordina")[0]
    assert [b["id"] for b in menu["buttons"]] == ["pizza", "tiramisu"]
    assert menu["buttons"][0]["title"].startswith("Pizza Margherita")
    assert "Quante porzioni?" in lucia.press("pizza", "Pizza Margherita")[0]["text"]
    placed, link = lucia.say("2", expect=2)
    assert "17.00 EUR" in placed["text"]
    assert "paga qui" in link["text"]
    order = api.get("/api/v1/orders").json()[0]
    assert (order["status"], order["total_minor"], order["currency"]) == ("pending", 1700, "EUR")
    assert order["payment_url"] in link["text"]
    assert [p["stock"] for p in api.get("/api/v1/catalog/products").json()] == [8, None]

    # A forged webhook (bad signature) changes nothing.
    forged = httpx.post(acct["webhook_url"], content=b'{"type":"checkout.session.completed"}',
                        headers={"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"})
    assert forged.status_code == 401 and forged.json()["code"] == "signature_invalid"
    assert api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "pending"

    # The customer pays on the provider's page: its signed webhook marks the order paid, and the bot says so.
    checkout_id = order["payment_url"].rsplit("/", 1)[1]
    assert emu.post(f"/_emulator/stripe/pay/{checkout_id}").status_code == 200
    wait_for(lambda: api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "paid", timeout=20,
             what="the order to be paid")
    wait_for(lambda: any("Pagamento ricevuto" in r["text"] for r in lucia._replies()), timeout=20,
             what="the payment confirmation in chat")
    assert "pagato" in lucia.say("qual è lo stato ordine?")[0]["text"]


def test_customer_asks_for_a_person_and_the_bot_falls_silent_until_handed_back(
        hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    channel, api = setup_restaurant(hub, emu, emulator)
    paolo = Chat(hub, channel, emu, "+393337777777")
    paolo.say("Buonasera, vorrei prenotare")
    paolo.press("book", "Prenota un tavolo")
    assert "colleg" in paolo.say("posso parlare con un operatore?")[0]["text"]
    conv = api.get("/api/v1/conversations").json()["items"][0]
    assert conv["status"] == "open" and conv["assignee_id"] is None and "handoff" in conv["labels"]

    replies_before = len(paolo._replies())
    post_inbound(hub, channel, [text_event("in-after-handoff", "ci siete?", paolo.sender)])

    def bot_task_done() -> bool:
        with hub.rt.db.read() as s:
            return any(t.status == "done" for t in s.scalars(select(Task).where(Task.kind == "bot.inbound"))
                       if t.payload["message_id"] == max_message_id(api, conv["id"]))

    wait_for(bot_task_done, timeout=20, what="the bot task for the message after the handoff")
    assert len(paolo._replies()) == replies_before  # a person answers now, not the bot

    assert api.put(f"/api/v1/conversations/{conv['id']}/bot", json={"active": True}).json() == {"state": "idle"}
    assert "Cosa desideri?" in paolo.say("prenota")[0]["text"]


def max_message_id(api: httpx.Client, conversation_id: int) -> int:
    return max(m["id"] for m in api.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
               if m["direction"] == "in")
