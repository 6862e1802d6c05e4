"""The flow's http step calls the business's endpoint, signed; its answer fills slots, a failure goes
to ``error_next`` (the endpoint is a real local HTTP server that checks the signature). And the FAQ
knowledge list answers questions outside and inside a flow."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from crocevia.automation.http_call import SIGNATURE_HEADER
from tests.automation.test_bot_e2e import Chat
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox

SECRET = "shared-secret-of-the-shop"


class _Shop(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        parts = dict(p.split("=", 1) for p in self.headers.get(SIGNATURE_HEADER, "").split(","))
        expected = hmac.new(SECRET.encode(), f"{parts.get('t')}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            self._answer(401, {"error": "bad signature"})
            return
        payload = json.loads(body)
        type(self).received.append(payload)
        if self.path == "/broken":
            self._answer(500, {"error": "down"})
            return
        self._answer(200, {"points": 120 if payload["slots"].get("card") == "A-77" else 0})

    def _answer(self, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Shop.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _flow(url: str) -> dict[str, Any]:
    return {"name": "punti", "triggers": {"keywords": ["punti", "points"]}, "start": "card", "steps": [
        {"id": "card", "type": "ask", "slot": "card", "prompt": {"it": "Numero della tessera?", "en": "Card number?"},
         "next": "ask_shop"},
        {"id": "ask_shop", "type": "http", "url": url, "secret": SECRET, "timeout": 5, "save": {"points": "points"},
         "next": "tell", "error_next": "sorry"},
        {"id": "tell", "type": "end", "text": {"it": "Hai {points} punti.", "en": "You have {points} points."}},
        {"id": "sorry", "type": "end", "text": {"it": "Il servizio punti non risponde, riprova più tardi.",
                                                "en": "The points service is not answering, try later."}},
    ]}


def test_the_http_step_sends_signed_slots_and_the_answer_fills_the_reply(
        hub: Hub, emu: httpx.Client, emulator: Any, shop: str) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    ok = api.post("/api/v1/bot/flows", json={"definition": _flow(f"{shop}/points")})
    assert ok.status_code == 201, ok.text
    mario = Chat(hub, channel, emu, "+393331234567")
    assert "tessera" in mario.say("quanti punti ho?")[0]["text"]
    assert mario.say("A-77")[0]["text"] == "Hai 120 punti."
    assert [(p["flow"], p["step"], p["slots"]["card"]) for p in _Shop.received] == [("punti", "ask_shop", "A-77")]

    broken = api.put(f"/api/v1/bot/flows/{ok.json()['id']}", json={"definition": _flow(f"{shop}/broken")})
    assert broken.status_code == 200, broken.text
    mario.say("punti")
    assert "non risponde" in mario.say("A-77")[0]["text"]


def test_an_http_step_needs_a_real_url_and_a_secret(hub: Hub) -> None:
    w = new_workspace(hub.rt)
    api = hub.client(api_token(hub.rt, w.owner))
    flow = _flow("ftp://shop.example/points")
    resp = api.post("/api/v1/bot/flows", json={"definition": flow})
    assert resp.status_code == 400 and resp.json()["field"] == "definition.steps.1.url", resp.text
    flow = _flow("https://shop.example/points")
    flow["steps"][1]["secret"] = "short"
    resp = api.post("/api/v1/bot/flows", json={"definition": flow})
    assert resp.status_code == 400 and resp.json()["field"] == "definition.steps.1.secret", resp.text


def test_faq_answers_outside_a_flow_and_in_the_middle_of_one_without_losing_the_question(
        hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    from tests.automation.test_bot_e2e import setup_restaurant

    channel, _ = setup_restaurant(hub, emu, emulator)
    emma = Chat(hub, channel, emu, "+447700900123")
    answer = emma.say("Hi, do you have vegan options?")
    assert [a["text"] for a in answer] == [
        "Yes: pizza marinara, pasta with tomato sauce and grilled vegetables are vegan."]
    emma.say("I would like to book a table")
    assert "For when?" in emma.press("book", "Book a table")[0]["text"]
    # Asked for a date, she asks about parking: the answer, then the same question again.
    both = emma.say("is there parking nearby?")
    assert [a["text"] for a in both] == [
        "There is free parking 50 metres away, in Via Roma.\n\nFor when? (e.g. tomorrow, saturday, 24/12)"]
    assert "For how many people?" in emma.say("tomorrow")[0]["text"]
