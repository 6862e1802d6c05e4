"""Inbound pipeline: channel-neutral events from an adapter → stored once → events after commit.

Idempotent on (channel, provider message id): a provider re-delivering a webhook finds its
message already stored and nothing changes. The caller acknowledges the provider only after
this returns, i.e. after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crocevia.automation.hooks import enqueue_bot_turn_in, ticket_bot_claims_in
from crocevia.channels.base import (
    IgnoredEvent,
    InboundEvent,
    InboundMessage,
    MessageEdit,
    Reaction,
    StatusUpdate,
    StatusUpTo,
)
from crocevia.dlp.findings import Finding
from crocevia.dlp.policy import Direction as DlpDirection
from crocevia.domain.enums import (
    AuthorType,
    ConsentStatus,
    ConversationStatus,
    Direction,
    MessageKind,
    MessageStatus,
)
from crocevia.jobs.tasks import enqueue_in as enqueue_task
from crocevia.runtime import Runtime
from crocevia.services import promotion_hooks
from crocevia.services.contacts import set_consent_in
from crocevia.services.events import emit
from crocevia.services.protection import Protected, protect, scan_ahead
from crocevia.services.protection import record as record_protection
from crocevia.services.serialize import conversation_dict, message_dict
from crocevia.services.surveys import open_survey_questions
from crocevia.services.ticket_rules_hook import enqueue_message_rules_in
from crocevia.storage.bulk_insert import RowInsert
from crocevia.storage.db import GroupCommit, lock_for_transaction
from crocevia.storage.fast import FastInStatement, FastStatement, allocate_ids, connection_of
from crocevia.storage.tables import Channel, Contact, ContactIdentity, Conversation, EarlyStatus, Message

log = logging.getLogger(__name__)

PREVIEW_LEN = 160
_KEYWORD_CONSENT = {"opt_out": ConsentStatus.OPTED_OUT, "opt_in": ConsentStatus.OPTED_IN}


@dataclass
class IngestResult:
    stored: list[int] = field(default_factory=list)  # new message ids
    duplicates: int = 0
    statuses: int = 0
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Delivery:
    """One webhook's events, on its channel: a caller of ``ingest``."""

    rt: Runtime
    channel: Channel
    events: list[InboundEvent]
    # What data-leak protection found in each event's text, scanned before the transaction
    # (``_scanned``); empty: scanned inside it.
    scans: tuple[list[Finding] | None, ...] = ()

    def scan_of(self, index: int) -> list[Finding] | None:
        return self.scans[index] if self.scans else None


def _scanned(rt: Runtime, channel: Channel, events: list[InboundEvent]) -> _Delivery:
    """The delivery, its messages' texts already scanned for sensitive data.

    Why here: this runs on the caller's thread (the event loop, for a webhook), while the one
    database writer that every webhook waits for then only applies the findings."""
    custom = rt.settings.dlp_custom_detectors
    return _Delivery(rt, channel, events, tuple(
        scan_ahead(ev.text, custom) if isinstance(ev, InboundMessage) else None for ev in events))


def ingest(rt: Runtime, channel: Channel, events: list[InboundEvent]) -> IngestResult:
    """Store a webhook's events atomically; returns once they are committed.

    The work joins the database's group commit (``Database.write_many``): webhooks arriving
    together are stored by one call in one transaction, and each caller returns only after
    that commit. Retried once if a twin delivery raced us from another process.
    """
    delivery = _scanned(rt, channel, events)
    for attempt in (1, 2):
        try:
            return rt.db.write_many(_ingest_deliveries, delivery)
        except IntegrityError:
            # Two deliveries of the same provider message raced; the retry sees the winner's row.
            if attempt == 2:
                raise
            log.info("ingest raced a duplicate delivery; retrying", extra={"channel_id": channel.id})
    raise AssertionError("unreachable")


async def ingest_async(rt: Runtime, channel: Channel, events: list[InboundEvent]) -> IngestResult:
    """``ingest`` for the event loop: the webhook route awaits the commit without a thread of its own."""
    delivery = _scanned(rt, channel, events)
    for attempt in (1, 2):
        try:
            return await rt.db.write_many_async(_ingest_deliveries, delivery)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("ingest raced a duplicate delivery; retrying", extra={"channel_id": channel.id})
    raise AssertionError("unreachable")


def _ingest_in(s: Session, rt: Runtime, channel: Channel, events: list[InboundEvent]) -> IngestResult:
    return _ingest_deliveries(s, [_Delivery(rt, channel, events)])[0]


def _ingest_deliveries(s: Session, deliveries: list[_Delivery]) -> list[IngestResult]:
    """Store the events of every delivery in this group commit: the customer messages of all of
    them together (set-wise, see ``_store_messages``), then the other events of each, in order."""
    results = [IngestResult() for _ in deliveries]
    if not deliveries:
        return results
    rt = deliveries[0].rt
    now = rt.clock.now()
    owners = [i for i, d in enumerate(deliveries) for ev in d.events if isinstance(ev, InboundMessage)]
    messages = [(d.channel, ev, d.scan_of(i)) for d in deliveries for i, ev in enumerate(d.events)
                if isinstance(ev, InboundMessage)]
    if messages:
        for owner, msg_id in zip(owners, _store_messages(s, rt, messages, now), strict=True):
            if msg_id is None:
                results[owner].duplicates += 1
            else:
                results[owner].stored.append(msg_id)
    for result, d in zip(results, deliveries, strict=True):
        channel = d.channel
        for event in d.events:
            if isinstance(event, StatusUpdate):
                result.statuses += _apply_status(s, channel, event, now)
            elif isinstance(event, StatusUpTo):
                result.statuses += _apply_status_up_to(s, channel, event)
            elif isinstance(event, Reaction):
                _apply_reaction(s, channel, event)
            elif isinstance(event, MessageEdit):
                _apply_edit(s, channel, event)
            elif isinstance(event, IgnoredEvent):
                log.info("ignored %s event", event.event_type, extra={"channel_id": channel.id})
                result.ignored.append(event.event_type)
    return results


# -- the new-message hot path ------------------------------------------------------------------
# Every webhook runs this, and webhooks arriving together are stored together: each step below is
# one statement for the whole group commit (per channel), not one per message. Statements are
# SQLAlchemy Core, built once; the ORM's unit of work and per-query expression building cost more
# than the database work itself here. The rare paths (statuses, reactions, edits, consent) stay on
# the ORM.
_M = cast(Table, Message.__table__)
_CI = cast(Table, ContactIdentity.__table__)
_CT = cast(Table, Contact.__table__)
_CV = cast(Table, Conversation.__table__)

# Provider message ids of a channel already stored (a re-delivery), and senders already known.
_SEEN = FastInStatement(lambda ids: select(_M.c.provider_message_id).where(
    _M.c.channel_id == bindparam("channel_id"), _M.c.direction == Direction.IN.value,
    _M.c.provider_message_id.in_(ids)))
_SENDERS = FastInStatement(lambda ids: select(_CI.c.external_id, _CI.c.contact_id).where(
    _CI.c.channel_id == bindparam("channel_id"), _CI.c.external_id.in_(ids)), one_row=True)
_CONV_COLUMNS = [_CV.c[name] for name in (
    "id", "workspace_id", "channel_id", "contact_id", "thread_key", "status", "assignee_id", "team_id", "labels",
    "snoozed_until", "last_activity_at", "last_inbound_at", "last_message_preview", "unread_count", "bot_active",
    "created_at")]
_CONV_NAMES = tuple(c.key for c in _CONV_COLUMNS)
# Group chats are one conversation per group, whoever writes; one-to-one per contact. The latest
# one counts (a resolved conversation is not reopened: a new one starts). Locked on PostgreSQL
# until commit, so what is written back below is computed from what no one else can change meanwhile
# (SQLite needs nothing: the writer holds the database's write lock).
_LATEST_DIRECT_CONVS = FastInStatement(lambda keys: select(*_CONV_COLUMNS).where(_CV.c.id.in_(
    select(func.max(_CV.c.id)).where(
        _CV.c.channel_id == bindparam("channel_id"), _CV.c.thread_key == "",
        _CV.c.contact_id.in_(keys)).group_by(_CV.c.contact_id),
)).order_by(_CV.c.id).with_for_update(), one_row=True)
_LATEST_GROUP_CONVS = FastInStatement(lambda keys: select(*_CONV_COLUMNS).where(_CV.c.id.in_(
    select(func.max(_CV.c.id)).where(
        _CV.c.channel_id == bindparam("channel_id"), _CV.c.thread_key.in_(keys)).group_by(_CV.c.thread_key),
)).order_by(_CV.c.id).with_for_update(), one_row=True)
# A conversation's new state after this group commit's messages (each value computed above).
_CONV_AFTER_INBOUND = FastStatement(update(_CV).where(_CV.c.id == bindparam("p_id")).values(
    status=bindparam("p_status"), snoozed_until=bindparam("p_snoozed_until"),
    last_activity_at=bindparam("p_last_activity_at"), last_inbound_at=bindparam("p_last_inbound_at"),
    last_message_preview=bindparam("p_preview"), unread_count=bindparam("p_unread_count")))
_WAKES_UP = (ConversationStatus.SNOOZED.value, ConversationStatus.PENDING.value)
# Both directions named, so the (channel, direction, provider id) unique index serves the lookup.
_FIND_REPLIED_TO = FastStatement(select(_M.c.id).where(
    _M.c.channel_id == bindparam("channel_id"),
    or_(_M.c.direction == Direction.IN.value, _M.c.direction == Direction.OUT.value),
    _M.c.provider_message_id == bindparam("provider_message_id")).limit(1))
_FIND_CONTACT_BY_PHONE = FastStatement(select(_CT.c.id).where(
    _CT.c.workspace_id == bindparam("workspace_id"), _CT.c.phone_e164 == bindparam("phone"),
    _CT.c.merged_into_id.is_(None)).limit(1))
_CONTACT_TOUCHES = "crocevia.ingest.contact_touches"  # session.info key
_TOUCH_CONTACTS = FastInStatement(
    lambda ids: update(_CT).where(_CT.c.id.in_(ids)).values(last_seen_at=bindparam("now")))
_INSERTS: dict[tuple[str, tuple[str, ...]], FastStatement] = {}  # (table, columns set) -> INSERT ... RETURNING id
_MESSAGE_KEYS = ("id", "workspace_id", "conversation_id", "channel_id", "direction", "author_type", "author_user_id",
                 "kind", "text", "content", "status", "failure_reason", "provider_message_id", "idempotency_key",
                 "reply_to_id", "created_at", "sent_at", "delivered_at", "read_at")
_MESSAGE_ROWS = RowInsert(_M, _MESSAGE_KEYS, rows_per_statement=GroupCommit.MAX_BATCH)
_message_values = attrgetter(*_MESSAGE_KEYS)


class _RowView(SimpleNamespace):
    """A row's values as attributes, for the serialisers (which only read attributes).

    Why not a transient ORM instance: building one costs more than the row's INSERT here.
    """


@dataclass
class _New:
    """A message not stored yet, its sender known."""

    channel: Channel
    ev: InboundMessage
    contact_id: int
    scan: list[Finding] | None  # what data-leak protection found in its text, if scanned already


@dataclass
class _Pending:
    """A new message between the reads and the writes of ``_store_messages``."""

    new: _New
    conv: _RowView
    conversation: dict[str, Any]  # the conversation as it is with this message on it (for the event)
    protected: Protected
    row: _RowView


def _store_messages(s: Session, rt: Runtime, items: list[tuple[Channel, InboundMessage, list[Finding] | None]],
                    now: datetime) -> list[int | None]:
    """Store new customer messages (``None`` for one already stored); returns their ids, in order."""
    # Core statements do not autoflush: write out whatever the ORM has pending first, so they see it.
    s.flush()
    conn = connection_of(s)
    at = now.isoformat()  # every event of the batch happened at its one ``now``
    seen, senders = _known(conn, items)
    news: list[_New | None] = []
    for channel, ev, scan in items:
        key = (channel.id, ev.external_message_id)
        if key in seen:  # a re-delivery, or the same message twice in this batch
            news.append(None)
            continue
        seen.add(key)
        sender = (channel.id, ev.sender_id)
        contact_id = senders[sender] = _contact_for(s, conn, channel, ev, senders.get(sender), now, at)
        news.append(_New(channel, ev, contact_id, scan))
    fresh = [n for n in news if n is not None]
    convs = _latest_conversations(conn, fresh)
    dirty: dict[int, _RowView] = {}
    # The new messages' ids are known before their rows exist: they go in together below, and a
    # reply to a message of this very batch finds it here.
    ids = allocate_ids(conn, _M, len(fresh))
    batch_ids = {(n.channel.id, n.ev.external_message_id): i for n, i in zip(fresh, ids, strict=True)}
    stored = [_pending(s, rt, conn, n, i, batch_ids, convs, dirty, now, at) for n, i in zip(fresh, ids, strict=True)]
    _insert_messages(conn, [p.row for p in stored])
    if dirty:
        _CONV_AFTER_INBOUND.many(conn, [
            {"p_id": c.id, "p_status": c.status, "p_snoozed_until": c.snoozed_until,
             "p_last_activity_at": c.last_activity_at, "p_last_inbound_at": c.last_inbound_at,
             "p_preview": c.last_message_preview, "p_unread_count": c.unread_count} for c in dirty.values()])
    waiting = open_survey_questions(conn, {(p.new.channel.id, p.new.contact_id) for p in stored})
    for p in stored:
        _after_stored(s, rt, p, (p.new.channel.id, p.new.contact_id) in waiting, now, at)
    stored_ids = iter(ids)
    return [None if n is None else next(stored_ids) for n in news]


def _pending(s: Session, rt: Runtime, conn: Connection, n: _New, message_id: int,
             batch_ids: dict[tuple[int, str], int], convs: dict[tuple[int, int | str], _RowView],
             dirty: dict[int, _RowView], now: datetime, at: str) -> _Pending:
    """A new message made ready for its row (inserted by the caller): protected, on its
    conversation, its reply resolved."""
    channel, ev = n.channel, n.ev
    content: dict[str, Any] = dict(ev.content)
    if ev.media:
        content["media"] = [
            {"provider_media_id": m.provider_media_id, "url": m.url, "mime_type": m.mime_type,
             "filename": m.filename, "caption": m.caption}
            for m in ev.media
        ]
    if ev.thread_id:
        content.setdefault("sender", {"id": ev.sender_id, "name": ev.sender_name})
    # Sensitive data is masked before the row exists, so nothing downstream ever sees it.
    protected = protect(s, workspace_id=channel.workspace_id, channel_id=channel.id, direction=DlpDirection.INBOUND,
                        text=ev.text, content=content, custom=rt.settings.dlp_custom_detectors,
                        text_findings=n.scan)
    text, content = protected.text, protected.content
    conv = _conversation_for(s, conn, convs, dirty, n, _preview(text, ev.kind), now, at)
    reply_to_id = None
    if ev.reply_to_external_id:
        reply_to_id = batch_ids.get((channel.id, ev.reply_to_external_id))
        if reply_to_id is None:
            found = _FIND_REPLIED_TO.one_or_none(conn, {"channel_id": channel.id,
                                                        "provider_message_id": ev.reply_to_external_id})
            reply_to_id = found[0] if found else None
    row = _RowView(
        workspace_id=channel.workspace_id, conversation_id=conv.id, channel_id=channel.id,
        direction=Direction.IN.value, author_type=AuthorType.CONTACT.value, author_user_id=None,
        kind=ev.kind.value, text=text, content=content, status=MessageStatus.RECEIVED.value,
        failure_reason=None, provider_message_id=ev.external_message_id, idempotency_key=None,
        reply_to_id=reply_to_id, created_at=now, sent_at=None, delivered_at=None, read_at=None, id=message_id,
    )
    return _Pending(n, conv, conversation_dict(cast(Conversation, conv)), protected, row)


def _known(conn: Connection, items: list[tuple[Channel, InboundMessage, Any]]
           ) -> tuple[set[tuple[int, str]], dict[tuple[int, str], int | None]]:
    """(channel, provider id) of the messages already stored; (channel, sender) → contact, of known senders."""
    by_channel: dict[int, list[InboundMessage]] = {}
    for channel, ev, _scan in items:
        by_channel.setdefault(channel.id, []).append(ev)
    seen: set[tuple[int, str]] = set()
    senders: dict[tuple[int, str], int | None] = {}
    for channel_id, evs in by_channel.items():
        ids = list({ev.external_message_id for ev in evs})
        seen.update((channel_id, pid) for (pid,) in _SEEN.rows(conn, {"channel_id": channel_id}, ids))
        who = list({ev.sender_id for ev in evs})
        senders.update(((channel_id, ext), int(contact_id)) for ext, contact_id in
                       _SENDERS.rows(conn, {"channel_id": channel_id}, who))
    return seen, senders


def _conversation_key(n: _New) -> tuple[int, int | str]:
    return (n.channel.id, n.ev.thread_id) if n.ev.thread_id else (n.channel.id, n.contact_id)


def _latest_conversations(conn: Connection, pending: list[_New]) -> dict[tuple[int, int | str], _RowView]:
    """The latest conversation of each (channel, contact) and (channel, group) these messages go to."""
    direct: dict[int, set[int]] = {}
    groups: dict[int, set[str]] = {}
    for p in pending:
        if p.ev.thread_id:
            groups.setdefault(p.channel.id, set()).add(p.ev.thread_id)
        else:
            direct.setdefault(p.channel.id, set()).add(p.contact_id)
    found: dict[tuple[int, int | str], _RowView] = {}
    for statement, wanted in ((_LATEST_DIRECT_CONVS, direct), (_LATEST_GROUP_CONVS, groups)):
        for channel_id, keys in wanted.items():
            for row in statement.rows(conn, {"channel_id": channel_id}, list(keys)):
                conv = _RowView(**dict(zip(_CONV_NAMES, row, strict=True)))
                found[(channel_id, conv.thread_key or conv.contact_id)] = conv
    return found


def _conversation_for(s: Session, conn: Connection, convs: dict[tuple[int, int | str], _RowView],
                      dirty: dict[int, _RowView], n: _New, preview: str, now: datetime, at: str) -> _RowView:
    """The conversation this message belongs to, with the message recorded on it (or started).

    The unread counter counts every message; a snoozed or pending conversation wakes up (open)
    on a customer message. Existing conversations are written back once, after the batch."""
    ev, channel = n.ev, n.channel
    last_inbound_at = ev.timestamp if ev.timestamp and ev.timestamp < now else now
    key = _conversation_key(n)
    conv = convs.get(key)
    if conv is not None and conv.status != ConversationStatus.RESOLVED.value:
        if conv.status in _WAKES_UP:
            conv.status, conv.snoozed_until = ConversationStatus.OPEN.value, None
        conv.last_activity_at, conv.last_inbound_at, conv.last_message_preview = now, last_inbound_at, preview
        conv.unread_count = (conv.unread_count or 0) + 1
        if conv.id not in dirty:
            dirty[conv.id] = conv
            _forget(s, Conversation, conv.id)
        return conv
    # None open: a new one, announced as it starts, then inserted with this message already on it.
    conv = _RowView(workspace_id=channel.workspace_id, channel_id=channel.id, contact_id=n.contact_id,
                    thread_key=ev.thread_id, status=ConversationStatus.OPEN.value, assignee_id=None, team_id=None,
                    labels=[], snoozed_until=None, last_activity_at=now, last_inbound_at=None,
                    last_message_preview="", unread_count=0, bot_active=False, created_at=now)
    created = dict(vars(conv))
    conv.last_inbound_at, conv.last_message_preview, conv.unread_count = last_inbound_at, preview, 1
    conv.id = _insert(conn, _CV, vars(conv))
    emit(s, "conversation.created", channel.workspace_id, conversation_dict(cast(Conversation, _RowView(
        **created, id=conv.id))), channel_id=channel.id, at=at)
    convs[key] = conv
    return conv


def _after_stored(s: Session, rt: Runtime, p: _Pending, survey_waiting: bool, now: datetime, at: str) -> None:
    """What follows a new customer message, in its transaction: audit, durable tasks, hooks, event."""
    channel, ev, msg, conv, contact_id = p.new.channel, p.new.ev, p.row, p.conv, p.new.contact_id
    text, content = msg.text, msg.content
    record_protection(s, p.protected, workspace_id=channel.workspace_id, conversation_id=conv.id,
                      message_id=msg.id, box_encrypt=rt.box.encrypt, now=now)
    for index in range(len(ev.media)):
        # Fetched after commit by the task runner: the provider is not kept waiting for downloads.
        enqueue_task(s, workspace_id=channel.workspace_id, kind="media.fetch",
                     payload={"message_id": msg.id, "index": index})
    if ev.kind is MessageKind.BUTTON_REPLY:
        # Some apps spin until the bot answers the press; answered after commit, like media.
        enqueue_task(s, workspace_id=channel.workspace_id, kind="button.ack", payload={"message_id": msg.id})
    # "a che punto è il mio ticket?" or a CSAT score: the ticket bot answers, unless the customer is in
    # the middle of a bot flow; never both bots (automation/hooks.py).
    ticket_turn = bool(text) and ticket_bot_claims_in(s, workspace_id=channel.workspace_id, contact_id=contact_id,
                                                      text=text or "", flow_running=bool(conv.bot_active))
    if not ev.thread_id:
        # The bot answers after commit, from a durable task (automation/engine.py).
        enqueue_bot_turn_in(s, workspace_id=channel.workspace_id, message_id=int(msg.id),
                            ticket_bot_answers=ticket_turn)
    if ticket_turn:
        enqueue_task(s, workspace_id=channel.workspace_id, kind="ticket.inbound", payload={"message_id": msg.id})
    if text:  # ticket rules on keywords/labels (issue 8): run after commit, from a durable task
        enqueue_message_rules_in(s, workspace_id=channel.workspace_id, message_id=int(msg.id))
    keyword = content.get("keyword")
    if keyword in _KEYWORD_CONSENT:
        set_consent_in(s, workspace_id=channel.workspace_id, contact_id=contact_id, channel_id=channel.id,
                       status=_KEYWORD_CONSENT[keyword], source=f"keyword:{ev.text.strip()[:20]}",
                       evidence=f"message {msg.id}", now=now)
    if not ev.thread_id:
        # Unsubscribe words on any channel, and answers to CSAT/NPS questions (issue 7).
        promotion_hooks.on_inbound_in(s, workspace_id=channel.workspace_id, channel_id=channel.id,
                                      contact_id=contact_id, conversation_id=conv.id, message_id=msg.id,
                                      text=text, content=content, now=now, survey_waiting=survey_waiting)
    emit(s, "message.created", channel.workspace_id,
         {"message": message_dict(cast(Message, msg)), "conversation": p.conversation}, channel_id=channel.id, at=at)


def _insert(conn: Connection, table: Table, values: dict[str, Any]) -> int:
    """Insert one row (unset columns get their defaults); its new id."""
    row = {k: v for k, v in values.items() if k != "id"}
    cache_key = (table.name, tuple(row))
    statement = _INSERTS.get(cache_key)
    if statement is None:
        statement = _INSERTS[cache_key] = FastStatement(insert(table).returning(table.c.id), keys=tuple(row))
    return int(statement.rows(conn, row)[0][0])


def _insert_messages(conn: Connection, rows: list[_RowView]) -> None:
    """The batch's new messages, their ids given (``allocate_ids``), as one multi-row INSERT on
    SQLite (``RowInsert``): each statement flushes the full-text index once, and Python's sqlite3
    module releases the GIL around every step, which the group-commit writer then waits to get back."""
    encoders = [_MESSAGE_ROWS.encoder(conn, key) for key in _MESSAGE_KEYS]
    _MESSAGE_ROWS.many(conn, [tuple(encode(v) for encode, v in zip(encoders, _message_values(r), strict=True))
                              for r in rows])


def _forget(s: Session, model: type[Any], row_id: int) -> None:
    """A row just changed behind the ORM's back: drop any copy of it the session holds."""
    if not len(s.identity_map):  # the usual case on this path: nothing loaded through the ORM
        return
    cached = s.identity_map.get(s.identity_key(model, row_id))
    if cached is not None:
        s.expire(cached)


def _preview(text: str, kind: MessageKind) -> str:
    if text:
        return text[:PREVIEW_LEN]
    return f"[{kind.value}]"


def _contact_for(s: Session, conn: Connection, channel: Channel, ev: InboundMessage, known: int | None,
                 now: datetime, at: str) -> int:
    """The sender's contact (``known`` when their identity on this channel exists), created if new."""
    if known is not None:
        _touch_contact(s, known, now)
        return int(known)
    contact_id = None
    if ev.sender_phone:
        # The same person on another channel with the same number is the same contact.
        found = _FIND_CONTACT_BY_PHONE.one_or_none(conn, {"workspace_id": channel.workspace_id,
                                                          "phone": ev.sender_phone})
        contact_id = found[0] if found else None
    if contact_id is None:
        contact_id = _insert(conn, _CT, {"workspace_id": channel.workspace_id, "name": ev.sender_name,
                                         "phone_e164": ev.sender_phone, "created_at": now, "updated_at": now,
                                         "last_seen_at": now})
        # Only agents of this inbox learn the new contact's name on the live feed.
        emit(s, "contact.created", channel.workspace_id, {"id": contact_id, "name": ev.sender_name},
             channel_id=channel.id, at=at)
    else:
        _touch_contact(s, contact_id, now)
    _insert(conn, _CI, {"workspace_id": channel.workspace_id, "contact_id": contact_id, "channel_id": channel.id,
                        "external_id": ev.sender_id, "display_name": ev.sender_name, "created_at": now})
    return int(contact_id)


def _touch_contact(s: Session, contact_id: int, now: datetime) -> None:
    """Mark the contact as seen now, written once per transaction (see _write_contact_touches)."""
    touches: dict[int, datetime] = s.info.setdefault(_CONTACT_TOUCHES, {})
    touches[contact_id] = max(now, touches.get(contact_id, now))
    _forget(s, Contact, contact_id)


@sa_event.listens_for(Session, "before_commit")
def _write_contact_touches(session: Session) -> None:
    """One UPDATE for all the contacts a group-committed batch of webhooks touched, just before
    its commit (so in the same transaction), instead of one statement per message."""
    touches: dict[int, datetime] | None = session.info.pop(_CONTACT_TOUCHES, None)
    if touches:
        by_time: dict[datetime, list[int]] = {}  # one time for all, usually: the batch's
        for contact_id, at in touches.items():
            by_time.setdefault(at, []).append(contact_id)
        for at, contact_ids in by_time.items():
            _TOUCH_CONTACTS.rows(connection_of(session), {"now": at}, contact_ids)


def status_lock_key(channel_id: int, provider_message_id: str) -> str:
    """The lock the status webhook and the sender share for one provider message id."""
    return f"status:{channel_id}:{provider_message_id}"


def _apply_status(s: Session, channel: Channel, ev: StatusUpdate, now: datetime) -> int:
    # Without it, on PostgreSQL, the sender could commit the id while this transaction looks for it,
    # each missing the other's row: the status would wait in early_statuses forever.
    lock_for_transaction(s, status_lock_key(channel.id, ev.provider_message_id))
    msg = s.scalar(select(Message).where(
        Message.channel_id == channel.id, Message.direction == Direction.OUT.value,
        Message.provider_message_id == ev.provider_message_id))
    if msg is None:
        # Possibly faster than the sender's commit of this id: keep it for when the id lands.
        log.info("status for a message not known yet", extra={"channel_id": channel.id})
        s.add(EarlyStatus(channel_id=channel.id, provider_message_id=ev.provider_message_id, status=ev.status.value,
                          error=ev.error, at=ev.timestamp or now, created_at=now))
        return 0
    apply_status_to(msg, ev.status, ev.timestamp or now, ev.error)
    emit(s, "message.status", channel.workspace_id,
         {"message_id": msg.id, "conversation_id": msg.conversation_id, "status": msg.status,
          "failure_reason": msg.failure_reason}, channel_id=channel.id)
    return 1


def _apply_status_up_to(s: Session, channel: Channel, ev: StatusUpTo) -> int:
    """A watermark receipt: every message sent to this person up to the mark gets the status."""
    contact_id = s.scalar(select(ContactIdentity.contact_id).where(
        ContactIdentity.channel_id == channel.id, ContactIdentity.external_id == ev.recipient_id))
    if contact_id is None:
        return 0
    below = [st.value for st in MessageStatus if st.rank < ev.status.rank and st is not MessageStatus.FAILED]
    msgs = list(s.scalars(select(Message).join(Conversation, Conversation.id == Message.conversation_id).where(
        Conversation.channel_id == channel.id, Conversation.contact_id == contact_id,
        Message.direction == Direction.OUT.value, Message.provider_message_id.is_not(None),
        Message.status.in_(below), Message.created_at <= ev.up_to)))
    for msg in msgs:
        apply_status_to(msg, ev.status, ev.up_to)
        emit(s, "message.status", channel.workspace_id,
             {"message_id": msg.id, "conversation_id": msg.conversation_id, "status": msg.status},
             channel_id=channel.id)
    in_flight = s.scalar(select(Message.id).join(Conversation, Conversation.id == Message.conversation_id).where(
        Conversation.channel_id == channel.id, Conversation.contact_id == contact_id,
        Message.direction == Direction.OUT.value, Message.provider_message_id.is_(None),
        Message.status == MessageStatus.QUEUED.value, Message.created_at <= ev.up_to).limit(1))
    if in_flight is not None:
        # A send whose result is not committed yet may already be covered by this mark (the
        # platform answered, we have not stored its id): keep the mark for when it is stored.
        s.add(EarlyStatus(channel_id=channel.id, provider_message_id=_watermark_key(ev.recipient_id),
                          status=ev.status.value, at=ev.up_to))
    return len(msgs)


def _watermark_key(recipient_id: str) -> str:
    return f"upto:{recipient_id}"[:200]


def apply_early_statuses(s: Session, msg: Message) -> None:
    """Apply statuses that arrived before this message's provider id was stored."""
    early = list(s.scalars(select(EarlyStatus).where(
        EarlyStatus.channel_id == msg.channel_id, EarlyStatus.provider_message_id == msg.provider_message_id)
        .order_by(EarlyStatus.id)))
    for row in early:
        apply_status_to(msg, MessageStatus(row.status), row.at, row.error)
        s.delete(row)
    recipient = s.scalar(select(ContactIdentity.external_id).join(
        Conversation, Conversation.contact_id == ContactIdentity.contact_id).where(
        Conversation.id == msg.conversation_id, ContactIdentity.channel_id == msg.channel_id))
    if recipient is None:
        return
    # Watermarks stay until pruned: one mark covers every message sent before it.
    for mark in s.scalars(select(EarlyStatus).where(
            EarlyStatus.channel_id == msg.channel_id, EarlyStatus.provider_message_id == _watermark_key(recipient),
            EarlyStatus.at >= msg.created_at)):
        apply_status_to(msg, MessageStatus(mark.status), mark.at)


def prune_early_statuses(s: Session, older_than: datetime) -> None:
    """Statuses for messages we never sent (another tool on the same account) are dropped in time."""
    s.execute(delete(EarlyStatus).where(EarlyStatus.created_at < older_than))


def apply_status_to(msg: Message, status: MessageStatus, when: datetime, error: str | None = None) -> None:
    """Statuses only move forward (a late 'delivered' never undoes 'read'); failure always lands."""
    current = MessageStatus(msg.status)
    if status is MessageStatus.FAILED:
        msg.status, msg.failure_reason = status.value, error or "failed"
        return
    if current is MessageStatus.FAILED or status.rank <= current.rank:
        return
    msg.status = status.value
    if status is MessageStatus.SENT:
        msg.sent_at = msg.sent_at or when
    elif status is MessageStatus.DELIVERED:
        msg.delivered_at = when
    elif status is MessageStatus.READ:
        msg.read_at = when
        msg.delivered_at = msg.delivered_at or when


def _apply_reaction(s: Session, channel: Channel, ev: Reaction) -> None:
    msg = s.scalar(select(Message).where(Message.channel_id == channel.id,
                                         Message.provider_message_id == ev.target_external_id))
    if msg is None:
        return
    reactions = dict((msg.content or {}).get("reactions", {}))
    if ev.emoji:
        reactions[ev.sender_id] = ev.emoji
    else:
        reactions.pop(ev.sender_id, None)
    msg.content = {**(msg.content or {}), "reactions": reactions}
    emit(s, "message.updated", channel.workspace_id, {"message": message_dict(msg)}, channel_id=channel.id)


def _apply_edit(s: Session, channel: Channel, ev: MessageEdit) -> None:
    msg = s.scalar(select(Message).where(Message.channel_id == channel.id, Message.direction == "in",
                                         Message.provider_message_id == ev.external_message_id))
    if msg is None:
        return
    content = dict(msg.content or {})
    content.setdefault("original_text", msg.text)
    content["edited"] = True
    msg.content, msg.text = content, ev.new_text
    emit(s, "message.updated", channel.workspace_id, {"message": message_dict(msg)}, channel_id=channel.id)
