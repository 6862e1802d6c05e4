"""The bulk write path of a campaign batch: the same checks as ``messages.enqueue_in``, written set-wise.

``messages.enqueue_in`` writes one message at a time (a conversation lookup, the platform checks,
DLP, the message, its outbox row, the event), which tops out at a few hundred messages a second.
A campaign batch instead *stages* each recipient's message here — running, per recipient and in
the same order, the payload check, the reply-window check and DLP — and then writes the whole
batch with multi-row inserts in the caller's one transaction:

* new conversations, messages (idempotency key ``cmp-<campaign>-<contact>``, unique per
  workspace) and outbox rows are inserted with plain executemany, their ids allocated up front
  (``allocate_ids``) instead of returned row by row;
* DLP scans once per distinct (channel, text): a template without per-contact variables or links
  is scanned once per batch, a personalised one per recipient as before; findings, vault entries
  and alerts are recorded per message exactly as ``protection.record`` does;
* one ``message.created`` event (and its webhook deliveries) per message, as the single path emits.

Opt-out is not re-read per message: the caller only stages a recipient on a channel where the
batch's consent query found an opt-in, read in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from crocevia.channels.registry import get_adapter
from crocevia.dlp.policy import Action, Decision
from crocevia.dlp.policy import Direction as DlpDirection
from crocevia.domain.enums import AuthorType, Direction, MessageStatus
from crocevia.errors import PolicyViolation
from crocevia.runtime import Runtime
from crocevia.services.events import emit
from crocevia.services.messages import SendRequest, check_payload, check_window
from crocevia.services.protection import Protected, protect
from crocevia.services.protection import record as record_protection
from crocevia.services.serialize import conversation_dict, message_dict
from crocevia.storage.fast import FastStatement
from crocevia.storage.tables import Channel, Conversation, Message, OutboxItem

_T = TypeVar("_T")
_CONV = cast(Table, Conversation.__table__)
_MSG = cast(Table, Message.__table__)
_OUTBOX = cast(Table, OutboxItem.__table__)
# Written with one DBAPI executemany each (storage/fast.py): SQLAlchemy's per-row parameter handling
# costs more than SQLite's insert itself at thousands of rows per batch.
_CONV_KEYS = ("id", "workspace_id", "channel_id", "contact_id", "thread_key", "status", "labels", "last_activity_at",
              "last_message_preview", "unread_count", "bot_active", "created_at", "assignee_id", "team_id",
              "snoozed_until", "last_inbound_at")
_MSG_KEYS = ("id", "workspace_id", "conversation_id", "channel_id", "direction", "author_type", "author_user_id",
             "kind", "text", "content", "status", "idempotency_key", "created_at", "failure_reason",
             "provider_message_id", "reply_to_id", "sent_at", "delivered_at", "read_at")
_OUTBOX_KEYS = ("workspace_id", "message_id", "channel_id", "status", "attempts", "next_attempt_at", "created_at")
_CONV_INSERT = FastStatement(insert(_CONV), _CONV_KEYS)
_MSG_INSERT = FastStatement(insert(_MSG), _MSG_KEYS)
_OUTBOX_INSERT = FastStatement(insert(_OUTBOX), _OUTBOX_KEYS)


@dataclass
class _Staged:
    msg: Message  # transient until flush() gives it its id
    conv: Conversation | None  # None: a conversation to open for this contact
    contact_id: int
    protected: Protected


class BulkWriter:
    """Collects one batch's messages, then writes them with a handful of statements."""

    def __init__(self, rt: Runtime, workspace_id: int) -> None:
        self.rt, self.workspace_id = rt, workspace_id
        self.staged: list[_Staged] = []
        self._dlp: dict[tuple[int, str], Protected | PolicyViolation] = {}
        # A conversation about to be opened has never heard from the contact: its window is closed.
        self._unopened = Conversation(workspace_id=workspace_id, last_inbound_at=None)

    def stage(self, s: Session, conv: Conversation | None, contact_id: int, channel: Channel,
              req: SendRequest, scan_text: str, now: datetime) -> Message:
        """Check one message like ``enqueue_in`` does (raising the same errors) and keep it for flush().

        ``scan_text`` is ``req.text`` with the tracked links as fixed placeholders (see campaigns._compose).
        """
        caps = get_adapter(channel.kind).capabilities
        probe = conv or self._unopened
        kind, content = check_payload(s, probe, caps, req)
        check_window(self.rt, probe, caps, req)
        p = self._protect(s, channel.id, req, scan_text, content)
        # A plain attribute holder, not an ORM instance (whose instrumentation costs more than the insert):
        # it reads like a Message to the caller and to message_dict, and is written by flush().
        msg = _as(Message, id=None, workspace_id=self.workspace_id, conversation_id=conv.id if conv else None,
                      channel_id=channel.id, direction=Direction.OUT.value, author_type=req.author_type.value,
                      author_user_id=None, kind=kind.value, text=p.text, content=p.content,
                      status=MessageStatus.QUEUED.value, idempotency_key=req.idempotency_key, created_at=now,
                      failure_reason=None, provider_message_id=None, sent_at=None, delivered_at=None, read_at=None,
                      reply_to_id=None)
        self.staged.append(_Staged(msg, conv, contact_id, p))
        return msg

    def _protect(self, s: Session, channel_id: int, req: SendRequest, scan_text: str,
                 content: dict[str, Any]) -> Protected:
        # Campaign messages carry no media captions: the text alone decides, so equal texts share a scan.
        direction = DlpDirection.BOT if req.author_type is AuthorType.BOT else DlpDirection.OUTBOUND
        key = (channel_id, scan_text)
        hit = self._dlp.get(key)
        if hit is None:
            try:
                hit = protect(s, workspace_id=self.workspace_id, channel_id=channel_id, direction=direction,
                              text=scan_text, content={}, custom=self.rt.settings.dlp_custom_detectors)
            except PolicyViolation as exc:
                hit = exc
            self._dlp[key] = hit
        if isinstance(hit, PolicyViolation):
            raise hit
        if any(rule.action is not Action.ALLOW or rule.alert for _, rule in hit.decision.findings):
            # Something to mask, vault, record or alert on: this recipient's own text is scanned, as enqueue_in
            # does. (Allowed, silent findings — the server's IP in a link — change nothing and record nothing.)
            return protect(s, workspace_id=self.workspace_id, channel_id=channel_id, direction=direction,
                           text=req.text, content=content, custom=self.rt.settings.dlp_custom_detectors)
        if scan_text != req.text:
            hit = Protected(req.text, {}, hit.direction, hit.channel_id, Decision([]))
        out = dict(content)
        if hit.content.get("dlp"):
            out["dlp"] = dict(hit.content["dlp"])
        return Protected(hit.text, out, hit.direction, hit.channel_id, hit.decision, hit.original_text,
                         hit.original_captions, hit.excerpts)

    def flush(self, s: Session, now: datetime) -> None:
        """Write everything staged: conversations, messages, outbox rows, DLP records, events."""
        if not self.staged:
            return
        s.flush()  # the recipients' ORM changes so far, before Core statements touch the same tables
        opened = [st for st in self.staged if st.conv is None]
        existing = [st for st in self.staged if st.conv is not None]
        if opened:
            rows = [{"workspace_id": self.workspace_id, "channel_id": st.msg.channel_id, "contact_id": st.contact_id,
                     "thread_key": "", "status": "pending", "labels": ["campaign"], "last_activity_at": now,
                     "last_message_preview": _preview(st.msg), "unread_count": 0, "bot_active": False,
                     "created_at": now, "assignee_id": None, "team_id": None, "snoozed_until": None,
                     "last_inbound_at": None} for st in opened]
            ids = allocate_ids(s, _CONV, len(rows))
            for row, conv_id in zip(rows, ids, strict=True):
                row["id"] = conv_id
            _CONV_INSERT.many(s.connection(), rows)
            for st, row, conv_id in zip(opened, rows, ids, strict=True):
                st.conv = _as(Conversation, **row)
                st.msg.conversation_id = conv_id
        if existing:
            s.execute(update(_CONV).where(_CONV.c.id == bindparam("cid")).values(
                last_activity_at=bindparam("at"), last_message_preview=bindparam("preview")),
                [{"cid": st.conv.id, "at": now, "preview": _preview(st.msg)} for st in existing if st.conv])
            for st in existing:
                assert st.conv is not None
                # The loaded object mirrors the row for the event, without being flushed again.
                set_committed_value(st.conv, "last_activity_at", now)
                set_committed_value(st.conv, "last_message_preview", _preview(st.msg))
        msg_ids = allocate_ids(s, _MSG, len(self.staged))
        for st, mid in zip(self.staged, msg_ids, strict=True):
            st.msg.id = mid
        conn = s.connection()
        _MSG_INSERT.many(conn, [{k: getattr(st.msg, k) for k in _MSG_KEYS} for st in self.staged])
        _OUTBOX_INSERT.many(conn, [{"workspace_id": self.workspace_id, "message_id": st.msg.id,
                                    "channel_id": st.msg.channel_id, "status": "pending", "attempts": 0,
                                    "next_attempt_at": now, "created_at": now} for st in self.staged])
        for st in self.staged:
            assert st.conv is not None
            if st.protected.decision.findings:
                record_protection(s, st.protected, workspace_id=self.workspace_id, conversation_id=st.conv.id,
                                  message_id=st.msg.id, agent_user_id=None, box_encrypt=self.rt.box.encrypt, now=now)
            emit(s, "message.created", self.workspace_id,
                 {"message": message_dict(st.msg), "conversation": conversation_dict(st.conv)},
                 channel_id=st.msg.channel_id)
        self.staged = []


def allocate_ids(s: Session, table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, so a batch goes in with one plain executemany (no
    ``INSERT .. RETURNING`` row by row). PostgreSQL: from the column's own sequence. SQLite: after the
    highest id — safe because every write transaction there starts with ``BEGIN IMMEDIATE`` (storage/db.py),
    so no other writer can insert between this read and our insert."""
    if n <= 0:
        return []
    if s.get_bind().dialect.name == "postgresql":
        seq = s.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar_one()
        return [int(x) for x in s.execute(text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
                                          {"seq": seq, "n": n}).scalars()]
    first = int(s.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
    return list(range(first, first + n))


def _as(model: type[_T], **values: Any) -> _T:
    return cast(_T, SimpleNamespace(**values))


def _preview(msg: Message) -> str:
    return (msg.text or f"[{msg.kind}]")[:160]
