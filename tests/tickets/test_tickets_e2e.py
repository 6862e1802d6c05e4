"""End to end on the real hub: a customer's conversation becomes a ticket, its status changes, and
the customer hears about it in the same app (the provider emulator records every send)."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
from tests.channels.test_end_to_end import SPECS
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for

from crocevia.services import channels


def sent_texts(emu: httpx.Client, provider: str = "sandbox") -> list[str]:
    return [str(a["body"].get("text", a["body"])) for a in emu.get("/_emulator/accepted",
                                                                  params={"provider": provider}).json()]


def wait_for_text(emu: httpx.Client, fragment: str, provider: str = "sandbox") -> str:
    found = wait_for(lambda: [t for t in sent_texts(emu, provider) if fragment in t], timeout=15,
                     what=f"the customer to receive {fragment!r}")
    assert len(found) == 1, found  # exactly once
    return str(found[0])


def test_a_conversation_becomes_a_ticket_and_the_customer_is_told_each_step(hub: Hub, emu: httpx.Client,
                                                                            emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    post_inbound(hub, channel, [text_event("t-1", "La lavatrice perde acqua")])
    conv = api.get("/api/v1/conversations").json()["items"][0]

    resp = api.post(f"/api/v1/conversations/{conv['id']}/ticket", json={"priority": "high"})
    assert resp.status_code == 201, resp.text
    ticket = resp.json()
    assert ticket["number"] == 1 and ticket["status"] == "new"
    assert ticket["subject"] == "La lavatrice perde acqua" and ticket["conversation_ids"] == [conv["id"]]
    wait_for_text(emu, "Abbiamo aperto il ticket n. 1")

    moved = api.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "open"}).json()
    assert moved["customer_update"]["told"] is True and moved["customer_update"]["via"] == "text"
    assert wait_for_text(emu, "ora è «in lavorazione»") == "Aggiornamento sul ticket n. 1: ora è «in lavorazione»."

    # The customer asks where things stand: the bot answers from the ticket, in the same chat.
    post_inbound(hub, channel, [text_event("t-2", "Buongiorno, a che punto è il mio ticket?")])
    wait_for_text(emu, "Il ticket n. 1 («La lavatrice perde acqua») è «in lavorazione».")

    api.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "solved"})
    survey = wait_for_text(emu, "ora è «risolto»")
    assert "da 1 (male) a 5" in survey
    post_inbound(hub, channel, [text_event("t-3", "5")])
    wait_for_text(emu, "Grazie per il voto (5/5)!")
    assert wait_for(lambda: api.get(f"/api/v1/tickets/{ticket['id']}").json()["csat_score"] == 5, what="CSAT")
    kinds = [e["kind"] for e in api.get(f"/api/v1/tickets/{ticket['id']}/events").json()]
    assert kinds.count("customer_told") == 5 and "csat" in kinds


def test_an_english_speaker_is_told_in_english_and_only_about_their_own_tickets(hub: Hub, emu: httpx.Client,
                                                                                emulator) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    post_inbound(hub, channel, [text_event("e-1", "My order arrived broken", sender="+447700900123")])
    post_inbound(hub, channel, [text_event("e-2", "Il pacco non è arrivato", sender="+393470000001")])
    convs = {c["contact"]["phone"]: c for c in api.get("/api/v1/conversations").json()["items"]}
    english = convs["+447700900123"]
    api.patch(f"/api/v1/contacts/{english['contact']['id']}", json={"language": "en"}).raise_for_status()
    italian_ticket = api.post(f"/api/v1/conversations/{convs['+393470000001']['id']}/ticket", json={}).json()
    mine = api.post(f"/api/v1/conversations/{english['id']}/ticket",
                    json={"subject": "Broken order", "notify_customer": False}).json()
    api.post(f"/api/v1/tickets/{mine['id']}/status", json={"status": "pending"})
    wait_for_text(emu, f"Update on ticket no. {mine['number']}: it is now “waiting for your reply”.")

    post_inbound(hub, channel, [text_event("e-3", f"what's the status of ticket {italian_ticket['number']}?",
                                           sender="+447700900123")])
    wait_for_text(emu, f"I can't find ticket no. {italian_ticket['number']} among yours.")
    assert not [t for t in sent_texts(emu) if "Il pacco" in t and "+44" in t]


def _connect(hub: Hub, w: Any, emu: httpx.Client, emulator_url: str, kind: str) -> Any:
    kit = importlib.import_module(f"crocevia.channels.{kind}.testkit")
    creds = dict(kit.config().credentials)
    channel = channels.create_channel(hub.rt, w.owner, kind=kind, name=kind, credentials=creds,
                                      settings={"api_base": emulator_url, "max_clock_skew_seconds": 0})
    cfg = channels.config_for(hub.rt, channel)
    emu.post(f"/_emulator/accounts/{SPECS[kind].provider}", json=SPECS[kind].account(creds, cfg.webhook_url))
    # The fixture's message is days old: the customer last wrote long ago, the window is closed.
    req = kit.signed_request((kit.FIXTURES / SPECS[kind].fixture).read_bytes(), cfg, SPECS[kind].fixture)
    resp = httpx.request(req.method, f"{hub.url}/webhooks/{kind}/{channel.public_id}", params=dict(req.query),
                         headers=dict(req.headers), content=req.body)
    assert resp.status_code == 200, resp.text
    return channel


def test_whatsapp_window_closed_the_customer_gets_the_status_template(hub: Hub, emu: httpx.Client,
                                                                      emulator) -> None:
    w = new_workspace(hub.rt)
    _connect(hub, w, emu, emulator.url, "whatsapp")
    api = hub.client(api_token(hub.rt, w.owner))
    conv = api.get("/api/v1/conversations").json()["items"][0]
    assert api.get(f"/api/v1/conversations/{conv['id']}").json()["window"]["open"] is False
    ticket = api.post(f"/api/v1/conversations/{conv['id']}/ticket",
                      json={"subject": "Rimborso", "notify_customer": False}).json()
    for status, label in (("open", "in lavorazione"), ("on_hold", "in attesa di un fornitore")):
        update = api.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": status}).json()
        assert update["customer_update"]["via"] == "template", update

        def template_sent(label: str = label) -> list[dict[str, Any]]:
            return [a for a in emu.get("/_emulator/accepted", params={"provider": "whatsapp"}).json()
                    if a["body"].get("type") == "template" and label in str(a["body"])]

        sent = wait_for(template_sent, timeout=15, what=f"the WhatsApp template for {status}")
        assert len(sent) == 1
        assert sent[0]["body"]["template"]["name"] == "ticket_status_update"
        assert str(ticket["number"]) in str(sent[0]["body"]["template"])


def test_no_template_on_the_channel_the_history_says_why_the_customer_was_not_told(hub: Hub, emu: httpx.Client,
                                                                                   emulator) -> None:
    w = new_workspace(hub.rt)
    _connect(hub, w, emu, emulator.url, "messenger")
    api = hub.client(api_token(hub.rt, w.owner))
    conv = api.get("/api/v1/conversations").json()["items"][0]
    ticket = api.post(f"/api/v1/conversations/{conv['id']}/ticket", json={"subject": "Reso"}).json()
    update = api.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "open"}).json()
    assert update["status"] == "open"  # the change itself stands
    assert update["customer_update"]["told"] is False
    assert "window" in update["customer_update"]["reason"]
    not_told = [e for e in api.get(f"/api/v1/tickets/{ticket['id']}/events").json()
                if e["kind"] == "customer_not_told"]
    assert len(not_told) == 2 and not_told[0]["data"]["rule"] == "messenger_24h"  # created + status change
    assert emu.get("/_emulator/accepted", params={"provider": "messenger"}).json() == []
