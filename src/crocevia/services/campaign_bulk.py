"""The bulk write path of a campaign batch: the same checks as ``messages.enqueue_in``, written set-wise.

``messages.enqueue_in`` writes one message at a time (a conversation lookup, the platform checks,
DLP, the message, its outbox row, the event), which tops out at a few hundred messages a second.
A campaign batch instead *stages* each recipient's message here — running, per recipient and in
the same order, the payload check, the reply-window check and DLP — and then writes the whole
batch in the caller's one transaction with a handful of statements:

* new conversations, messages (idempotency key ``cmp-<campaign>-<contact>``, unique per
  workspace) and outbox rows go in as plain tuples (``storage/bulk_insert.py``), their ids
  allocated up front (``allocate_ids``); messages as multi-row INSERTs, which keeps SQLite's
  full-text index from being flushed once per message;
* DLP scans once per distinct (channel, text with its tracked links as placeholders): a template
  without per-contact variables is scanned once per batch, a personalised one once per distinct
  text; findings, vault entries and alerts are recorded per message exactly as ``protection.record``
  does, with the recipient's own text scanned whenever something is to be masked or recorded;
* no ``message.created`` event per message on the live bus (the caller emits one
  ``campaign.progress`` per batch: a million per-message events would only flood the open inboxes);
  outgoing webhooks subscribed to ``message.created`` still get one delivery per message.

Opt-out is not re-read per message: the caller only stages a recipient on a channel where the
batch's consent query found an opt-in, read in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from crocevia.channels.registry import get_adapter
from crocevia.dlp.policy import Action
from crocevia.dlp.policy import Direction as DlpDirection
from crocevia.domain.enums import AuthorType, Direction, MessageStatus
from crocevia.errors import PolicyViolation
from crocevia.runtime import Runtime
from crocevia.services.events import emit_to_webhooks, wants_webhooks
from crocevia.services.messages import SendRequest, check_payload, check_window
from crocevia.services.protection import Protected, protect
from crocevia.services.protection import record as record_protection
from crocevia.services.serialize import conversation_dict, message_dict
from crocevia.storage.bulk_insert import RowInsert
from crocevia.storage.fast import FastStatement, allocate_ids
from crocevia.storage.tables import Channel, Conversation, Message, OutboxItem

_CONV = cast(Table, Conversation.__table__)
_MSG = cast(Table, Message.__table__)
_OUTBOX = cast(Table, OutboxItem.__table__)
_CONV_INSERT = RowInsert(_CONV, ("id", "workspace_id", "channel_id", "contact_id", "thread_key", "status", "labels",
                                 "last_activity_at", "last_message_preview", "unread_count", "bot_active",
                                 "created_at", "assignee_id", "team_id", "snoozed_until", "last_inbound_at"))
_MSG_INSERT = RowInsert(_MSG, ("id", "workspace_id", "conversation_id", "channel_id", "direction", "author_type",
                               "author_user_id", "kind", "text", "content", "status", "idempotency_key",
                               "created_at", "failure_reason", "provider_message_id", "reply_to_id", "sent_at",
                               "delivered_at", "read_at"), rows_per_statement=500)
_OUTBOX_INSERT = RowInsert(_OUTBOX, ("workspace_id", "message_id", "channel_id", "status", "attempts",
                                     "next_attempt_at", "created_at"))
_CONV_TOUCH = FastStatement(update(_CONV).where(_CONV.c.id == bindparam("cid")).values(
    last_activity_at=bindparam("at"), last_message_preview=bindparam("preview")), ("cid", "at", "preview"))


class Staged:
    """One recipient's message, written by ``flush`` (which sets ``id``)."""

    __slots__ = ("channel_id", "contact_id", "content", "conv_id", "id", "key", "kind", "record", "text")

    def __init__(self, conv_id: int | None, contact_id: int, channel_id: int, kind: str, text: str,
                 content: dict[str, Any], key: str, record: Protected | None) -> None:
        self.id: int | None = None
        self.conv_id, self.contact_id, self.channel_id = conv_id, contact_id, channel_id
        self.kind, self.text, self.content, self.key, self.record = kind, text, content, key, record


class BulkWriter:
    """Collects one batch's messages, then writes them with a handful of statements."""

    def __init__(self, rt: Runtime, workspace_id: int) -> None:
        self.rt, self.workspace_id = rt, workspace_id
        self.staged: list[Staged] = []
        # (channel, scan text) -> its scan, a refusal, or _OWN_SCAN (each recipient's own text is to be scanned)
        self._dlp: dict[tuple[int, str], Protected | PolicyViolation | object] = {}
        self._caps: dict[int, Any] = {}
        self._encoded: dict[tuple[str, ...], str] = {}  # content JSON of plain link-only contents
        # A conversation about to be opened has never heard from the contact: its window is closed.
        self._unopened = Conversation(workspace_id=workspace_id, last_inbound_at=None)

    def stage(self, s: Session, conv: Any | None, contact_id: int, channel: Channel, req: SendRequest,
              scan_text: str, links: list[str]) -> Staged:
        """Check one message like ``enqueue_in`` does (raising the same errors) and keep it for flush().

        ``conv``: the contact's conversation on this channel (any object with ``id``, ``workspace_id``
        and ``last_inbound_at``), None to open one. ``scan_text`` is ``req.text`` with the tracked links
        as fixed placeholders (see campaigns._compose); ``links`` their targets, kept in the content.
        """
        caps = self._caps.get(channel.id)
        if caps is None:
            caps = self._caps[channel.id] = get_adapter(channel.kind).capabilities
        probe = conv or self._unopened
        kind, content = check_payload(s, probe, caps, req)
        check_window(self.rt, probe, caps, req)
        body, content, record = self._protect(s, channel.id, req, scan_text, content)
        if links:
            content["links"] = links
        st = Staged(conv.id if conv is not None else None, contact_id, channel.id, kind.value, body, content,
                    str(req.idempotency_key), record)
        self.staged.append(st)
        return st

    def _protect(self, s: Session, channel_id: int, req: SendRequest, scan_text: str,
                 content: dict[str, Any]) -> tuple[str, dict[str, Any], Protected | None]:
        """The text and content to store, and what ``protection.record`` must write (None: nothing)."""
        # Campaign messages carry no media captions: the text alone decides, so equal texts share a scan.
        key = (channel_id, scan_text)
        verdict = self._dlp.get(key)
        if verdict is None:
            verdict = self._dlp[key] = self._scan(s, channel_id, req, scan_text)
        if isinstance(verdict, PolicyViolation):
            raise verdict
        if verdict is _OWN_SCAN:
            # Something to mask, vault, record or alert on: this recipient's own text is scanned, as enqueue_in
            # does. (Allowed, silent findings — the server's IP in a link — change nothing and record nothing.)
            own = protect(s, workspace_id=self.workspace_id, channel_id=channel_id, direction=_direction(req),
                          text=req.text, content=content, custom=self.rt.settings.dlp_custom_detectors)
            return own.text, dict(own.content), own if own.decision.findings else None
        if scan_text != req.text:
            return req.text, content, None
        assert isinstance(verdict, Protected)
        if verdict.content.get("dlp"):
            content["dlp"] = dict(verdict.content["dlp"])
        return verdict.text, content, verdict if verdict.decision.findings else None

    def _scan(self, s: Session, channel_id: int, req: SendRequest, scan_text: str) -> object:
        """What one distinct text's scan means for every recipient who gets it."""
        try:
            hit = protect(s, workspace_id=self.workspace_id, channel_id=channel_id, direction=_direction(req),
                          text=scan_text, content={}, custom=self.rt.settings.dlp_custom_detectors)
        except PolicyViolation as exc:
            return exc
        if any(rule.action is not Action.ALLOW or rule.alert for _, rule in hit.decision.findings):
            return _OWN_SCAN
        return hit

    def flush(self, s: Session, now: datetime) -> None:
        """Write everything staged: conversations, messages, outbox rows, DLP records, webhook deliveries."""
        if not self.staged:
            return
        s.flush()  # the recipients' ORM changes so far, before these statements touch the same tables
        conn = s.connection()
        ws = self.workspace_id
        staged = self.staged
        opened = [st for st in staged if st.conv_id is None]
        existing = [st for st in staged if st.conv_id is not None]
        if opened:
            at = _CONV_INSERT.encoder(conn, "last_activity_at")(now)
            labels = _CONV_INSERT.encoder(conn, "labels")(["campaign"])
            no = _CONV_INSERT.encoder(conn, "bot_active")(False)
            ids = allocate_ids(conn, _CONV, len(opened))
            for st, conv_id in zip(opened, ids, strict=True):
                st.conv_id = conv_id
            _CONV_INSERT.many(conn, [(st.conv_id, ws, st.channel_id, st.contact_id, "", "pending", labels, at,
                                      st.text[:160], 0, no, at, None, None, None, None) for st in opened])
        if existing:
            _CONV_TOUCH.many(conn, [{"cid": st.conv_id, "at": now, "preview": st.text[:160]} for st in existing])
        msg_ids = allocate_ids(conn, _MSG, len(staged))
        for st, mid in zip(staged, msg_ids, strict=True):
            st.id = mid
        at = _MSG_INSERT.encoder(conn, "created_at")(now)
        content_of = self._content_encoder(_MSG_INSERT.encoder(conn, "content"))
        out, queued, bot = Direction.OUT.value, MessageStatus.QUEUED.value, AuthorType.BOT.value
        _MSG_INSERT.many(conn, [(st.id, ws, st.conv_id, st.channel_id, out, bot, None, st.kind, st.text,
                                 content_of(st.content), queued, st.key, at, None, None, None, None, None, None)
                                for st in staged])
        due = _OUTBOX_INSERT.encoder(conn, "next_attempt_at")(now)
        _OUTBOX_INSERT.many(conn, [(ws, st.id, st.channel_id, "pending", 0, due, due) for st in staged])
        for st in staged:
            if st.record is not None:
                record_protection(s, st.record, workspace_id=ws, conversation_id=st.conv_id, message_id=st.id,
                                  agent_user_id=None, box_encrypt=self.rt.box.encrypt, now=now)
        if wants_webhooks(s, ws, "message.created"):
            self._webhooks(s, [cast(int, st.id) for st in staged])
        self.staged = []

    def _content_encoder(self, encode: Callable[[Any], Any]) -> Callable[[dict[str, Any]], Any]:
        """Contents holding only the tracked links repeat across a batch: encoded once per distinct list."""
        cache = self._encoded

        def content_of(content: dict[str, Any]) -> Any:
            links = content.get("links")
            if links is None or len(content) != 1:
                return encode(content)
            key = tuple(links)
            hit = cache.get(key)
            if hit is None:
                hit = cache[key] = encode(content)
            return hit

        return content_of

    def _webhooks(self, s: Session, message_ids: list[int]) -> None:
        """One ``message.created`` webhook delivery per message, as the per-message path writes."""
        msgs = list(s.scalars(select(Message).where(Message.id.in_(message_ids)).order_by(Message.id)))
        convs = {c.id: c for c in s.scalars(select(Conversation).where(
            Conversation.id.in_({m.conversation_id for m in msgs})))}
        for m in msgs:
            emit_to_webhooks(s, "message.created", self.workspace_id,
                             {"message": message_dict(m), "conversation": conversation_dict(convs[m.conversation_id])},
                             channel_id=m.channel_id)


_OWN_SCAN = object()


def _direction(req: SendRequest) -> DlpDirection:
    return DlpDirection.BOT if req.author_type is AuthorType.BOT else DlpDirection.OUTBOUND

