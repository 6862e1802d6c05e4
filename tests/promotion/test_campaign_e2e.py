"""A campaign end to end on the real hub: the segment's consenting contacts get exactly one message
each, an opted-out contact ("ANNULLA" in chat) is skipped with the reason recorded, and CSAT/NPS
answers typed in chat are scored."""

from __future__ import annotations

import time
from typing import Any

import httpx
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, wait_for

PEOPLE = {"Anna Bianchi": "+393331111111", "Bruno Verdi": "+393332222222", "Carla Neri": "+393333333333",
          "Dario Gialli": "+393334444444", "Eva Rosa": "+393335555555"}
_seq = iter(range(1, 10_000))


def say(hub: Hub, channel: Any, name: str, text: str) -> None:
    event = {"type": "message", "id": f"in-{next(_seq)}-{time.monotonic_ns()}", "from": PEOPLE[name], "name": name,
             "text": text, "timestamp": int(time.time())}
    assert post_inbound(hub, channel, [event]).status_code == 200


def accepted_texts(emu: httpx.Client) -> list[tuple[str, str]]:
    return [(a["body"]["to"], a["body"].get("text", "")) for a in
            emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json()]


def test_campaign_reaches_consenting_segment_once_and_surveys_are_scored(hub: Hub, emu: httpx.Client,
                                                                         emulator: Any) -> None:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    for name in PEOPLE:
        say(hub, channel, name, "Buongiorno")
    contacts = {c["name"]: c["id"] for c in api.get("/api/v1/contacts").json()["items"]}
    assert set(contacts) == set(PEOPLE)
    for name in ("Anna Bianchi", "Bruno Verdi", "Carla Neri", "Eva Rosa"):
        assert api.patch(f"/api/v1/contacts/{contacts[name]}", json={"tags": ["vino"], "language": "it"}).is_success
    api.patch(f"/api/v1/contacts/{contacts['Dario Gialli']}", json={"tags": ["birra"]})
    for name in ("Anna Bianchi", "Bruno Verdi", "Carla Neri", "Dario Gialli"):  # Eva never opted in
        resp = api.post(f"/api/v1/contacts/{contacts[name]}/consents",
                        json={"channel_id": channel.id, "status": "opted_in", "source": "web form"})
        assert resp.status_code == 201, resp.text
    # Carla unsubscribes by writing ANNULLA in the chat: takes effect at once, with proof.
    say(hub, channel, "Carla Neri", "ANNULLA")
    carla = api.get(f"/api/v1/contacts/{contacts['Carla Neri']}/consents").json()
    assert carla["current"][0]["status"] == "opted_out"
    assert any(h["status"] == "opted_out" and h["source"] == "reply:ANNULLA" for h in carla["history"]), carla

    # The segment: a live count before saving, then saved.
    filt = {"tags_any": ["vino"]}
    assert api.post("/api/v1/segments/preview", json={"filter": filt}).json()["count"] == 4
    seg = api.post("/api/v1/segments", json={"name": "Amanti del vino", "filter": filt}).json()
    tpl = api.post("/api/v1/templates", json={"name": "Degustazione", "variants": {
        "it": {"text": "Ciao {{first_name}}, sabato degustazione in cantina! https://trattoria.example/vini"},
        "en": {"text": "Hi {{first_name}}, wine tasting on Saturday!"}}}).json()
    preview = api.get(f"/api/v1/templates/{tpl['id']}/preview", params={"contact_id": contacts["Anna Bianchi"]})
    assert preview.json()["text"] == "Ciao Anna, sabato degustazione in cantina! https://trattoria.example/vini"

    camp = api.post("/api/v1/campaigns", json={"name": "Sabato", "segment_id": seg["id"], "template_id": tpl["id"],
                                              "channel_ids": [channel.id]}).json()
    assert api.post(f"/api/v1/campaigns/{camp['id']}/start").json()["status"] == "running"
    wait_for(lambda: api.get(f"/api/v1/campaigns/{camp['id']}").json()["status"] == "done", timeout=30,
             what="the campaign to finish")
    # Every message the campaign queued has gone out (and come back delivered): the emulator's list is final.
    wait_for(lambda: api.get(f"/api/v1/campaigns/{camp['id']}/progress").json()["funnel"]["delivered"] == 2,
             timeout=30, what="both campaign messages delivered")
    got = accepted_texts(emu)
    assert sorted(to for to, _ in got) == [PEOPLE["Anna Bianchi"], PEOPLE["Bruno Verdi"]]
    anna_text = next(text for to, text in got if to == PEOPLE["Anna Bianchi"])
    assert anna_text.startswith("Ciao Anna, sabato degustazione in cantina! ") and "STOP" in anna_text
    # The link is a short link served by the hub: Anna's click is counted, then she lands on the page.
    short = next(word for word in anna_text.split() if "/l/" in word)
    assert short.startswith(hub.url)
    hop = httpx.get(short, follow_redirects=False)
    assert (hop.status_code, hop.headers["location"]) == (302, "https://trattoria.example/vini")

    rec = api.get(f"/api/v1/campaigns/{camp['id']}/recipients").json()["items"]
    by_contact = {r["contact_id"]: r for r in rec}
    assert set(by_contact) == {contacts[n] for n in ("Anna Bianchi", "Bruno Verdi", "Carla Neri", "Eva Rosa")}
    assert by_contact[contacts["Carla Neri"]]["status"] == "skipped"
    assert by_contact[contacts["Carla Neri"]]["reason"] == "opted_out"
    assert by_contact[contacts["Eva Rosa"]]["reason"] == "no_consent"
    progress = api.get(f"/api/v1/campaigns/{camp['id']}/progress").json()
    assert progress["recipients"] == {"pending": 0, "sent": 2, "skipped": 2, "total": 4}
    assert progress["skipped_reasons"] == {"opted_out": 1, "no_consent": 1}
    assert (progress["funnel"]["queued"], progress["funnel"]["clicked"], progress["funnel"]["opted_out"]) == (2, 1, 1)
    csv_text = api.get(f"/api/v1/campaigns/{camp['id']}/export.csv").text
    assert csv_text.count("\n") == 5 and "opted_out" in csv_text

    # NPS by campaign: Anna answers in words, Bruno with a number; Anna explains her score.
    emu.post("/_emulator/reset")
    nps = api.post("/api/v1/campaigns", json={"name": "NPS", "segment_id": seg["id"], "survey_kind": "nps",
                                             "channel_ids": [channel.id]}).json()
    api.post(f"/api/v1/campaigns/{nps['id']}/start")
    wait_for(lambda: len(accepted_texts(emu)) >= 2, timeout=30, what="the NPS questions")
    assert all("Da 0 a 10" in text for _, text in accepted_texts(emu))
    say(hub, channel, "Anna Bianchi", "nove")
    say(hub, channel, "Bruno Verdi", "6")
    wait_for(lambda: api.get("/api/v1/surveys/results", params={"kind": "nps"}).json()["answered"] == 2,
             what="two NPS answers")
    wait_for(lambda: sum("motivo principale" in t for _, t in accepted_texts(emu)) == 2, timeout=20,
             what="the follow-up questions")
    say(hub, channel, "Anna Bianchi", "Vini ottimi e personale gentile")
    results = wait_for(lambda: (r := api.get("/api/v1/surveys/results", params={"kind": "nps"}).json())
                       ["comments"] and r, what="Anna's comment")
    assert results["score"] == 0.0  # one promoter (9), one detractor (6)
    assert {d["score"]: d["count"] for d in results["distribution"]}[9] == 1
    assert results["comments"][0]["comment"] == "Vini ottimi e personale gentile"
    assert api.get(f"/api/v1/campaigns/{nps['id']}/progress").json()["funnel"]["replied"] == 2

    # CSAT after resolution: the agent resolves, the customer answers "5/5".
    api.put("/api/v1/surveys/settings", json={"csat_on_resolve": True, "follow_up": False})
    conv = next(c for c in api.get("/api/v1/conversations", params={"q": "Dario"}).json()["items"])
    assert api.post(f"/api/v1/conversations/{conv['id']}/status", json={"status": "resolved"}).is_success
    wait_for(lambda: any(to == PEOPLE["Dario Gialli"] and "da 1" in t for to, t in accepted_texts(emu)),
             timeout=20, what="the CSAT question")
    say(hub, channel, "Dario Gialli", "5/5")
    csat = wait_for(lambda: (r := api.get("/api/v1/surveys/results", params={"kind": "csat"}).json())
                    ["answered"] == 1 and r, what="the CSAT answer")
    assert csat["score"] == 100.0 and csat["average"] == 5
