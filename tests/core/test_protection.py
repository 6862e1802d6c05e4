"""Data-leak protection on the pipeline: a customer's card number is never readable by an agent
without the reveal right — not in the API, exports, search, outgoing webhooks or logs — and agents
can never send a card number or a password out."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for

from crocevia.channels.emulator.server import serve_in_thread
from crocevia.domain.enums import Role
from crocevia.services import accounts, channels

CARD = "4242 4242 4242 4242"
MASKED_CARD = "•••• •••• •••• 4242"


def _agent_token(hub: Hub, w: Any, channel_id: int) -> str:
    agent = accounts.create_user(hub.rt, w.owner, email=f"agent-{w.id}@example.com", name="Anna", role=Role.AGENT,
                                 password="password-123")
    channels.set_members(hub.rt, w.owner, channel_id, [agent.id])
    _, token = accounts.create_api_token(hub.rt, accounts.Actor(workspace_id=w.id, user_id=agent.id,
                                                                role=Role.AGENT), name="agent")
    return token


def test_card_from_customer_is_masked_everywhere_and_revealed_only_to_allowed_roles(
    hub: Hub, emu: httpx.Client, emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    received: list[bytes] = []

    async def receiver(request: Request) -> Response:
        received.append(await request.body())
        return Response("ok")

    crm = serve_in_thread(Starlette(routes=[Route("/hook", receiver, methods=["POST"])]))
    try:
        w = new_workspace(hub.rt)
        channel = connect_sandbox(hub, w, emu, emulator.url)
        owner = hub.client(api_token(hub.rt, w.owner))
        owner.post("/api/v1/webhooks", json={"url": f"{crm.url}/hook", "events": ["message.created"]})
        agent = hub.client(_agent_token(hub, w, channel.id))

        text = f"Ecco la mia carta {CARD}, scade 12/27. La password è Tr0ub4dor&3"
        assert post_inbound(hub, channel, [text_event("card-1", text)]).status_code == 200

        conv = agent.get("/api/v1/conversations").json()["items"][0]
        assert CARD not in conv["last_message_preview"]
        msg = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"][0]
        assert MASKED_CARD in msg["text"]
        assert "[PASSWORD]" in msg["text"] and "Tr0ub4dor" not in msg["text"]
        assert "4242424242424242" not in json.dumps(msg) and CARD not in json.dumps(msg)
        # Search indexes the stored (masked) text: the number cannot be found. (Its last four digits
        # stay visible, hence findable, by design: with this test card every group is "4242".)
        assert agent.get("/api/v1/conversations", params={"q": "4242424242424242"}).json()["items"] == []
        # Outgoing webhooks carry the masked text only.
        wait_for(lambda: received, what="the CRM webhook")
        assert all(CARD not in json.dumps(json.loads(body), ensure_ascii=False) for body in received)
        assert MASKED_CARD in json.loads(received[0])["data"]["message"]["text"]
        # The agent may not reveal; the owner may, and that is audited.
        denied = agent.post(f"/api/v1/messages/{msg['id']}/reveal")
        assert denied.status_code == 403
        revealed = owner.post(f"/api/v1/messages/{msg['id']}/reveal")
        assert revealed.status_code == 200 and CARD in revealed.json()["text"]
        # The findings audit names what was found, never the value.
        report = owner.get("/api/v1/dlp/report").json()
        assert report["by_label"]["CREDIT_CARD"] == 1 and report["by_label"]["PASSWORD"] == 1
        rows = list(csv.DictReader(io.StringIO(owner.get("/api/v1/dlp/findings.csv").text)))
        assert {r["label"] for r in rows} == {"CREDIT_CARD", "PASSWORD"}
        assert all(CARD not in r["excerpt"] for r in rows)
        assert agent.get("/api/v1/dlp/findings").status_code == 403
    finally:
        crm.stop()
    assert not [r for r in caplog.records if CARD in r.getMessage() or "Tr0ub4dor" in r.getMessage()]


def test_agent_cannot_send_a_card_number_and_is_offered_a_payment_link(hub: Hub, emu: httpx.Client,
                                                                       emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    agent = hub.client(_agent_token(hub, w, channel.id))
    post_inbound(hub, channel, [text_event("c-2", "Posso pagare con carta?")])
    conv = agent.get("/api/v1/conversations").json()["items"][0]
    resp = agent.post(f"/api/v1/conversations/{conv['id']}/messages",
                      json={"text": f"Usi pure questa carta: {CARD}"})
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["rule"] == "dlp_block" and problem["labels"] == ["CREDIT_CARD"]
    assert "payment link" in problem["alternatives"]["CREDIT_CARD"]
    assert CARD not in resp.text
    msgs = agent.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"]
    assert len(msgs) == 1  # nothing was queued
    assert emu.get("/_emulator/requests").json() == []
    # The floor cannot be lowered by a workspace rule.
    owner = hub.client(api_token(hub.rt, w.owner))
    weaken = owner.put("/api/v1/dlp/rules", json={"direction": "outbound", "label": "CREDIT_CARD", "action": "allow"})
    assert weaken.status_code == 400 and weaken.json()["field"] == "action"


def test_rules_per_channel_and_notes(hub: Hub, emu: httpx.Client, emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    owner = hub.client(api_token(hub.rt, w.owner))
    # This business wants IBANs from customers masked on this channel.
    put = owner.put("/api/v1/dlp/rules", json={"direction": "inbound", "label": "IBAN", "action": "mask",
                                                "channel_id": channel.id})
    assert put.status_code == 200
    assert {"direction": "inbound", "label": "IBAN", "action": "mask", "alert": False,
            "channel_id": channel.id} in put.json()
    post_inbound(hub, channel, [text_event("c-3", "IBAN per il rimborso: IT60 X054 2811 1010 0000 0123 456")])
    conv = owner.get("/api/v1/conversations").json()["items"][0]
    msg = owner.get(f"/api/v1/conversations/{conv['id']}/messages").json()["items"][0]
    assert "0123 456" not in msg["text"] and msg["text"].endswith("•• ••• 3 456"[-5:])
    assert msg["content"]["dlp"]["masked"] == ["IBAN"]
    note = owner.post(f"/api/v1/conversations/{conv['id']}/notes",
                      json={"text": f"il cliente ha dettato la carta {CARD}"}).json()
    assert MASKED_CARD in note["text"]
    assert CARD in owner.post(f"/api/v1/notes/{note['id']}/reveal").json()["text"]


def test_scan_api_matches_the_cli_contract(hub: Hub) -> None:
    w = new_workspace(hub.rt)
    api = hub.client(api_token(hub.rt, w.owner))
    one = api.post("/api/v1/dlp/scan", json={"text": f"carta {CARD}"}).json()
    assert one["spans"][0]["label"] == "CREDIT_CARD"
    assert (one["spans"][0]["start"], one["spans"][0]["end"]) == (6, 6 + len(CARD))
    assert set(one["spans"][0]) == {"start", "end", "label", "score", "detector"}
    many = api.post("/api/v1/dlp/scan", json={"texts": ["ciao", "mario@example.com"]}).json()
    assert [len(r["spans"]) for r in many["results"]] == [0, 1]
    bad = api.post("/api/v1/dlp/scan", json={})
    assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")


def test_a_business_adds_its_own_detector_without_forking(rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from crocevia.channels.base import InboundMessage
    from crocevia.domain.enums import MessageKind
    from crocevia.services import ingest, protection
    from crocevia.storage.tables import Message

    spec = tmp_path / "detectors.json"
    spec.write_text(json.dumps([{"name": "employee_id", "label": "EMPLOYEE_ID", "pattern": r"\bEMP-\d{6}\b",
                                 "context": ["matricola", "badge"], "score": 0.9}]))
    rt.settings.dlp_custom_detectors = spec
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials={
        "account_id": "a", "api_key": "key-12345678", "webhook_secret": "whsec-1234567"})
    protection.set_rule(rt, w.owner, direction="inbound", label="EMPLOYEE_ID", action="mask")
    res = ingest.ingest(rt, channel, [InboundMessage(external_message_id="e1", sender_id="u1", kind=MessageKind.TEXT,
                                                     text="la mia matricola è EMP-123456")])
    with rt.db.read() as s:
        text = s.scalar(select(Message.text).where(Message.id == res.stored[0]))
    assert text == "la mia matricola è •••-••••••"
