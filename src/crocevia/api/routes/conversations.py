"""Conversations, their messages and notes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header

from crocevia.api.deps import ActorDep, IdPath, IdQuery, RuntimeDep
from crocevia.api.schemas import AssignIn, LabelsIn, MessageIn, NoteIn, StatusIn
from crocevia.services import contacts, conversations, messages
from crocevia.services.conversations import ConversationFilter
from crocevia.services.messages import SendRequest
from crocevia.services.serialize import conversation_dict, message_dict, note_dict

router = APIRouter(tags=["conversations"])


@router.get("/conversations")
def list_conversations(
    rt: RuntimeDep, actor: ActorDep, assignee: str = "all", status: str | None = None,
    channel_id: IdQuery = None, label: str | None = None, team_id: IdQuery = None,
    contact_id: IdQuery = None, q: str = "", cursor: str | None = None, limit: int = 25,
) -> dict[str, Any]:
    f = ConversationFilter(assignee=assignee, status=status, channel_id=channel_id, label=label, team_id=team_id,
                           contact_id=contact_id, q=q)
    page = conversations.list_conversations(rt, actor, f, cursor=cursor, limit=limit)
    directions = conversations.last_directions(rt, actor, [c.id for c, _ in page.items])
    return {
        "items": [{**conversation_dict(c), "contact": {"id": p.id, "name": p.name, "phone": p.phone_e164},
                   "last_message_direction": directions.get(c.id)}
                  for c, p in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/conversations/{conversation_id}")
def get_conversation(conversation_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    conv = conversations.get_conversation(rt, actor, conversation_id)
    out = conversation_dict(conv)
    out["contact"] = contacts.contact_dict(contacts.get_contact(rt, actor, conv.contact_id))
    out["window"] = messages.window_state(rt, actor, conversation_id)
    return out


@router.post("/conversations/{conversation_id}/assign")
def assign(conversation_id: IdPath, body: AssignIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return conversation_dict(conversations.assign(rt, actor, conversation_id, assignee_id=body.assignee_id,
                                                  team_id=body.team_id))


@router.post("/conversations/{conversation_id}/status")
def set_status(conversation_id: IdPath, body: StatusIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return conversation_dict(conversations.set_status(rt, actor, conversation_id, status=body.status,
                                                      snoozed_until=body.snoozed_until))


@router.put("/conversations/{conversation_id}/labels")
def set_labels(conversation_id: IdPath, body: LabelsIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return conversation_dict(conversations.set_labels(rt, actor, conversation_id, body.labels))


@router.post("/conversations/{conversation_id}/read", status_code=204)
def mark_read(conversation_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> None:
    conversations.mark_read(rt, actor, conversation_id)


@router.get("/conversations/{conversation_id}/messages")
def list_messages(conversation_id: IdPath, rt: RuntimeDep, actor: ActorDep, before: IdQuery = None,
                  limit: int = 50) -> dict[str, Any]:
    page = messages.list_messages(rt, actor, conversation_id, before=before, limit=limit)
    return {"items": [message_dict(m) for m in page.items], "next_cursor": page.next_cursor}


@router.post("/conversations/{conversation_id}/messages", status_code=202)
def send_message(
    conversation_id: IdPath, body: MessageIn, rt: RuntimeDep, actor: ActorDep,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key", max_length=200),
) -> dict[str, Any]:
    """Queue a reply. 202: it is stored and will be sent; follow its status on the message."""
    req = SendRequest(text=body.text, buttons=[b.model_dump() for b in body.buttons], template=body.template,
                      attachment_id=body.attachment_id, tag=body.tag,
                      idempotency_key=idempotency_key or body.idempotency_key)
    return message_dict(messages.send_message(rt, actor, conversation_id, req))


@router.get("/messages/{message_id}")
def get_message(message_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return message_dict(messages.get_message(rt, actor, message_id))


@router.get("/conversations/{conversation_id}/notes")
def list_notes(conversation_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [note_dict(n) for n in conversations.list_notes(rt, actor, conversation_id)]


@router.post("/conversations/{conversation_id}/notes", status_code=201)
def add_note(conversation_id: IdPath, body: NoteIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return note_dict(conversations.add_note(rt, actor, conversation_id, body.text))
