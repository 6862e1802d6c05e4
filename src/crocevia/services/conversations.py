"""Conversations: the inbox list (filters, keyset pagination), assignment, status, labels, notes."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from crocevia.dlp.policy import Direction as DlpDirection
from crocevia.domain.enums import ConversationStatus, Role
from crocevia.errors import NotFound, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import get_user
from crocevia.services.actor import Actor
from crocevia.services.events import emit
from crocevia.services.labels import carrying, clean_name, ensure_in
from crocevia.services.protection import protect
from crocevia.services.protection import record as record_protection
from crocevia.services.serialize import conversation_dict, note_dict
from crocevia.services.ticket_rules_hook import labels_added_in
from crocevia.storage import fulltext
from crocevia.storage.tables import Contact, Conversation, Message, Note, Team, User

FILTER_BATCH = 500


def get_conversation_in(s: Session, actor: Actor, conversation_id: int) -> Conversation:
    conv = s.get(Conversation, conversation_id)
    if conv is None or conv.workspace_id != actor.workspace_id or not actor.can_see_channel(conv.channel_id):
        raise NotFound("conversation not found")
    return conv


def get_conversation(rt: Runtime, actor: Actor, conversation_id: int) -> Conversation:
    with rt.db.read() as s:
        return get_conversation_in(s, actor, conversation_id)


@dataclass(frozen=True)
class ConversationFilter:
    assignee: str = "all"  # all | mine | unassigned
    status: str | None = None
    channel_id: int | None = None
    label: str | None = None
    team_id: int | None = None
    contact_id: int | None = None
    q: str = ""


@dataclass(frozen=True)
class ConversationPage:
    items: list[tuple[Conversation, Contact]]
    next_cursor: str | None


def encode_cursor(last_activity_at: datetime, conv_id: int) -> str:
    raw = json.dumps([last_activity_at.isoformat(), conv_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, conv_id = json.loads(raw)
        return datetime.fromisoformat(at), int(conv_id)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("cursor is not one this API gave out", field="cursor") from exc


def _filtered(actor: Actor, f: ConversationFilter, dialect: str) -> Select[Conversation, Contact]:
    stmt = (
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.workspace_id == actor.workspace_id)
    )
    if actor.channel_ids is not None:
        stmt = stmt.where(Conversation.channel_id.in_(sorted(actor.channel_ids) or [-1]))
    if f.assignee == "mine":
        stmt = stmt.where(Conversation.assignee_id == actor.user_id)
    elif f.assignee == "unassigned":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    elif f.assignee != "all":
        raise ValidationFailed("assignee must be all, mine or unassigned", field="assignee")
    if f.status:
        try:
            ConversationStatus(f.status)
        except ValueError as exc:
            raise ValidationFailed("status must be open, pending, snoozed or resolved", field="status") from exc
        stmt = stmt.where(Conversation.status == f.status)
    if f.channel_id is not None:
        stmt = stmt.where(Conversation.channel_id == f.channel_id)
    if f.team_id is not None:
        stmt = stmt.where(Conversation.team_id == f.team_id)
    if f.contact_id is not None:
        stmt = stmt.where(Conversation.contact_id == f.contact_id)
    if f.q:
        # Contacts by substring (few rows); message text through the full-text index (millions of
        # rows): every word of q starts a word of one message, case and accents aside (storage/fulltext).
        like = f"%{f.q.lower()}%"
        found = [func.lower(Contact.name).like(like), Contact.phone_e164.like(f"%{f.q}%"), Contact.email.like(like)]
        if terms := fulltext.words(f.q):
            found.append(Conversation.id.in_(fulltext.matching_messages(dialect, actor.workspace_id, terms)))
        stmt = stmt.where(or_(*found))
    return stmt


def _after(stmt: Select[Conversation, Contact], key: tuple[datetime, int]) -> Select[Conversation, Contact]:
    """Rows after ``key`` in inbox order (newest activity first, then highest id)."""
    at, cid = key
    return stmt.where(
        or_(Conversation.last_activity_at < at, and_(Conversation.last_activity_at == at, Conversation.id < cid))
    )


def list_conversations(
    rt: Runtime, actor: Actor, f: ConversationFilter, *, cursor: str | None = None, limit: int = 25
) -> ConversationPage:
    """Newest activity first; the cursor is (last_activity_at, id) so pages never skip or repeat."""
    limit = max(1, min(limit, 200))
    base = _filtered(actor, f, rt.db.engine.dialect.name)
    label = f.label.strip().lower() if f.label else ""
    if label:
        # Labels are a JSON list: SQL narrows to rows whose JSON text holds the quoted name
        # (portable on both engines, so a rare label does not read the whole inbox), and
        # Python checks each exactly, below. Read in batches until the page is full.
        base = base.where(carrying(actor.workspace_id, label))
    stmt = _after(base, decode_cursor(cursor)) if cursor else base
    order = (Conversation.last_activity_at.desc(), Conversation.id.desc())
    with rt.db.read() as s:
        if f.label:
            rows: list[tuple[Conversation, Contact]] = []
            while len(rows) <= limit:
                batch = [(c, p) for c, p in s.execute(stmt.order_by(*order).limit(FILTER_BATCH)).all()]
                rows += [(c, p) for c, p in batch if label in (c.labels or [])]
                if len(batch) < FILTER_BATCH:
                    break
                stmt = _after(base, (batch[-1][0].last_activity_at, batch[-1][0].id))
        else:
            rows = [(c, p) for c, p in s.execute(stmt.order_by(*order).limit(limit + 1)).all()]
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1][0].last_activity_at, items[-1][0].id) if len(rows) > limit else None
    return ConversationPage(items, next_cursor)


def _changed(s: Session, actor: Actor, conv: Conversation, what: str) -> None:
    emit(s, "conversation.updated", actor.workspace_id, {**conversation_dict(conv), "change": what,
                                                          "by_user_id": actor.user_id}, channel_id=conv.channel_id)


def assign(
    rt: Runtime, actor: Actor, conversation_id: int, *, assignee_id: int | None, team_id: int | None = None
) -> Conversation:
    actor.require_write()
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        if assignee_id is not None:
            user = get_user(s, actor, assignee_id, field="assignee_id")
            if not user.is_active or Role(user.role) is Role.VIEWER:
                raise ValidationFailed("this user cannot take conversations", field="assignee_id")
            from crocevia.services.accounts import actor_for_user

            if not actor_for_user(s, user).can_see_channel(conv.channel_id):
                raise ValidationFailed("this user is not a member of the conversation's inbox",
                                       field="assignee_id")
        if team_id is not None:
            team = s.get(Team, team_id)
            if team is None or team.workspace_id != actor.workspace_id:
                raise NotFound("team not found", field="team_id")
        conv.assignee_id = assignee_id
        if team_id is not None:
            conv.team_id = team_id
        _changed(s, actor, conv, "assignment")
        return conv


def set_status(
    rt: Runtime, actor: Actor, conversation_id: int, *, status: str, snoozed_until: datetime | None = None
) -> Conversation:
    actor.require_write()
    try:
        new = ConversationStatus(status)
    except ValueError as exc:
        raise ValidationFailed("status must be open, pending, snoozed or resolved", field="status") from exc
    if new is ConversationStatus.SNOOZED and (snoozed_until is None or snoozed_until <= rt.clock.now()):
        raise ValidationFailed("snoozing needs a future snoozed_until", field="snoozed_until")
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        previous = conv.status
        conv.status = new.value
        conv.snoozed_until = snoozed_until if new is ConversationStatus.SNOOZED else None
        _changed(s, actor, conv, "status")
        if new is ConversationStatus.RESOLVED and previous != new.value:
            emit(s, "conversation.resolved", actor.workspace_id, conversation_dict(conv), channel_id=conv.channel_id)
            from crocevia.services.surveys import on_resolved_in  # CSAT after resolution (issue 7)

            on_resolved_in(s, conv, rt.clock.now())
            from crocevia.services.analytics import record_resolution  # resolution time (issue 9)

            record_resolution(s, conv, rt.clock.now())
        return conv


def set_labels(rt: Runtime, actor: Actor, conversation_id: int, labels: list[str]) -> Conversation:
    actor.require_write()
    clean = sorted({clean_name(lbl, field="labels") for lbl in labels if lbl.strip()})
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        ensure_in(s, conv.workspace_id, clean)  # a new name joins the catalogue, with a colour
        before, conv.labels = list(conv.labels or []), clean
        _changed(s, actor, conv, "labels")
        # "Label added" automation rules (issue 8) run after commit, from a durable task.
        labels_added_in(s, workspace_id=conv.workspace_id, conversation_id=conv.id, before=before, after=clean)
        return conv


def mark_read(rt: Runtime, actor: Actor, conversation_id: int) -> None:
    # The unread count is the team's shared state (it drives the inbox), so it is a write.
    actor.require_write()
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        if conv.unread_count:
            conv.unread_count = 0
            _changed(s, actor, conv, "read")


def wake_snoozed(rt: Runtime) -> int:
    """Reopen conversations whose snooze has run out (called by the scheduler)."""
    now = rt.clock.now()
    with rt.db.transaction() as s:
        convs = list(s.scalars(select(Conversation).where(
            Conversation.status == ConversationStatus.SNOOZED.value, Conversation.snoozed_until <= now)))
        for conv in convs:
            conv.status, conv.snoozed_until = ConversationStatus.OPEN.value, None
            emit(s, "conversation.updated", conv.workspace_id, {**conversation_dict(conv), "change": "unsnoozed"},
                 channel_id=conv.channel_id)
        return len(convs)


# -- notes ----------------------------------------------------------------------------------
MENTION_RE = re.compile(r"@([\w.+-]+@[\w-]+\.[\w.]+|[\w.-]+)")


def add_note(rt: Runtime, actor: Actor, conversation_id: int, text: str) -> Note:
    actor.require_write()
    if not text.strip():
        raise ValidationFailed("a note needs text", field="text")
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        mentions = _resolve_mentions(s, actor, text)
        protected = protect(s, workspace_id=actor.workspace_id, channel_id=conv.channel_id, direction=DlpDirection.NOTE,
                            text=text, custom=rt.settings.dlp_custom_detectors)
        note = Note(workspace_id=actor.workspace_id, conversation_id=conv.id, author_user_id=actor.user_id,
                    text=protected.text, mentions=mentions, created_at=rt.clock.now())
        s.add(note)
        s.flush()
        record_protection(s, protected, workspace_id=actor.workspace_id, conversation_id=conv.id, note_id=note.id,
                          agent_user_id=actor.user_id, box_encrypt=rt.box.encrypt)
        emit(s, "note.created", actor.workspace_id, note_dict(note), channel_id=conv.channel_id)
        for uid in mentions:
            emit(s, "user.mentioned", actor.workspace_id,
                 {"user_id": uid, "conversation_id": conv.id, "note_id": note.id, "by_user_id": actor.user_id},
                 channel_id=conv.channel_id)
        return note


def _resolve_mentions(s: Session, actor: Actor, text: str) -> list[int]:
    handles = {m.lower() for m in MENTION_RE.findall(text)}
    if not handles:
        return []
    users = s.scalars(select(User).where(User.workspace_id == actor.workspace_id))
    found = []
    for u in users:
        first = u.name.split()[0].lower() if u.name else ""
        if u.email.lower() in handles or u.email.split("@")[0].lower() in handles or first in handles:
            found.append(u.id)
    return sorted(found)


def list_notes(rt: Runtime, actor: Actor, conversation_id: int) -> list[Note]:
    with rt.db.read() as s:
        get_conversation_in(s, actor, conversation_id)
        return list(s.scalars(select(Note).where(Note.conversation_id == conversation_id).order_by(Note.id)))


def last_directions(rt: Runtime, actor: Actor, conversation_ids: list[int]) -> dict[int, str]:
    """Who wrote last ("in" customer / "out" us) in each conversation of a page, so the list can say
    whether the customer is waiting. One grouped query per page, by the messages' primary key."""
    if not conversation_ids:
        return {}
    with rt.db.read() as s:
        latest = (
            select(func.max(Message.id))
            .where(Message.workspace_id == actor.workspace_id, Message.conversation_id.in_(conversation_ids))
            .group_by(Message.conversation_id)
        )
        rows = s.execute(select(Message.conversation_id, Message.direction).where(Message.id.in_(latest))).all()
    return {int(cid): str(direction) for cid, direction in rows}
