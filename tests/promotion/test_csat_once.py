"""One CSAT per resolution, on the real hub: with both the ticket's CSAT (asked in the "solved" update)
and the conversation's CSAT (asked on resolve) switched on, the customer is asked once, whichever
comes first, and their answer is scored once, by whoever asked."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from tests.conftest import Hub, api_token, new_workspace
from tests.core.test_pipeline import connect_sandbox, post_inbound, text_event, wait_for

from crocevia.storage.tables import Task

RATING = ("da 1 (", "from 1 (")  # both questions: "da 1 (male) a 5", "da 1 (pessima) a 5"


def rating_questions(emu: httpx.Client) -> list[str]:
    accepted = emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json()
    texts = [str(a["body"].get("text", "")) for a in accepted]
    return [t for t in texts if any(r in t for r in RATING)]


def survey_tasks_settled(hub: Hub, workspace_id: int) -> bool:
    with hub.rt.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Task).where(
            Task.workspace_id == workspace_id, Task.kind == "survey.ask", Task.status == "pending")) or 0) == 0


def _setup(hub: Hub, emu: httpx.Client, emulator: Any, event: str) -> tuple[Any, httpx.Client, dict[str, Any],
                                                                            dict[str, Any]]:
    w = new_workspace(hub.rt)
    channel = connect_sandbox(hub, w, emu, emulator.url)
    api = hub.client(api_token(hub.rt, w.owner))
    assert api.put("/api/v1/surveys/settings", json={"csat_on_resolve": True, "follow_up": False}).is_success
    post_inbound(hub, channel, [text_event(event, "La lavatrice perde acqua")])
    conv = api.get("/api/v1/conversations").json()["items"][0]
    ticket = api.post(f"/api/v1/conversations/{conv['id']}/ticket", json={}).json()
    return (w, channel), api, conv, ticket


def test_ticket_solved_then_conversation_resolved_asks_once(hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    (w, channel), api, conv, ticket = _setup(hub, emu, emulator, "once-a-1")
    api.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "solved"})
    wait_for(lambda: rating_questions(emu), what="the ticket's CSAT question")
    assert api.post(f"/api/v1/conversations/{conv['id']}/status", json={"status": "resolved"}).is_success
    wait_for(lambda: survey_tasks_settled(hub, w.id), what="the survey task to run")
    questions = rating_questions(emu)
    assert len(questions) == 1 and "ticket" in questions[0], questions

    post_inbound(hub, channel, [text_event("once-a-2", "5")])
    assert wait_for(lambda: api.get(f"/api/v1/tickets/{ticket['id']}").json()["csat_score"] == 5, what="CSAT")
    assert api.get("/api/v1/surveys/results", params={"kind": "csat"}).json()["asked"] == 0
    assert len(rating_questions(emu)) == 1


def test_conversation_resolved_then_ticket_solved_asks_once(hub: Hub, emu: httpx.Client, emulator: Any) -> None:
    (_w, channel), api, conv, ticket = _setup(hub, emu, emulator, "once-b-1")
    assert api.post(f"/api/v1/conversations/{conv['id']}/status", json={"status": "resolved"}).is_success
    wait_for(lambda: rating_questions(emu), what="the conversation's CSAT question")
    moved = api.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "solved"}).json()
    assert moved["customer_update"]["told"] is True  # the customer still hears the ticket is solved...
    told = wait_for(lambda: [a for a in emu.get("/_emulator/accepted", params={"provider": "sandbox"}).json()
                             if "risolto" in str(a["body"].get("text", ""))], what="the solved update")
    assert not any(r in told[0]["body"]["text"] for r in RATING)  # ...without a second rating question
    assert len(rating_questions(emu)) == 1

    post_inbound(hub, channel, [text_event("once-b-2", "5")])
    csat = wait_for(lambda: (r := api.get("/api/v1/surveys/results", params={"kind": "csat"}).json())
                    ["answered"] == 1 and r, what="the survey answer")
    assert csat["score"] == 100.0
    assert api.get(f"/api/v1/tickets/{ticket['id']}").json()["csat_score"] is None  # scored once, by the survey
