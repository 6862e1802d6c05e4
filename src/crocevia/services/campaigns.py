"""Campaigns: a template (or a survey) to a segment, on each contact's best consented channel.

Fan-out is a durable task (``campaign.run``). It first writes one recipient row per contact
(unique per campaign and contact), then works through pending rows in batches: each batch
decides every recipient and enqueues their message through ``messages.enqueue_in`` in ONE
transaction, with the idempotency key ``cmp-<campaign>-<contact>``. A process killed mid-batch
rolls that batch back; the restarted task picks up the same pending rows, so every recipient
gets exactly one message. Throttling to each channel's rate is the outbox dispatcher's job.

Rules per recipient, in order: marketing needs an opt-in on that channel (an opt-out is
recorded as the reason), a frequency cap across campaigns, quiet hours in the contact's time
zone (the recipient waits until they end), and each platform's send policy (a WhatsApp
marketing message outside the 24-hour window needs an approved template).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections import namedtuple
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, bindparam, exists, func, select
from sqlalchemy.orm import Session, aliased

from crocevia.channels.registry import get_adapter
from crocevia.domain.enums import AuthorType, ConsentStatus
from crocevia.errors import Conflict, CroceviaError, NotFound, ValidationFailed
from crocevia.jobs.tasks import enqueue_in as enqueue_task
from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services.actor import Actor
from crocevia.services.campaign_bulk import BulkWriter, Staged
from crocevia.services.events import emit
from crocevia.services.scoped import get_in_workspace
from crocevia.services.segments import get_segment_in, iter_member_ids, parse_filter
from crocevia.services.templates import TextPlan, get_template_in, pick_variant
from crocevia.storage.bulk_insert import RowInsert, RowUpdate
from crocevia.storage.fast import FastStatement, connection_of
from crocevia.storage.id_list import ListStatement
from crocevia.storage.tables import (
    Campaign,
    CampaignRecipient,
    Channel,
    Contact,
    ContactConsent,
    ContactIdentity,
    Conversation,
    Message,
    MessageTemplate,
    Task,
    Workspace,
)

if TYPE_CHECKING:
    from crocevia.services.messages import SendRequest

log = logging.getLogger(__name__)

BATCH = 2000
# Template campaigns write each batch set-wise (services/campaign_bulk.py); False = one enqueue_in per
# recipient, the slower path kept for surveys and as the benchmark's baseline.
BULK = True
INSERT_BATCH = 1000
STATES = ("draft", "scheduled", "running", "paused", "done", "cancelled")
WINNER_METRICS = ("replied", "clicked", "read", "converted")
URL = re.compile(r"https?://[^\s<>\"']+")
# Why a recipient got nothing: shown per recipient and counted in the funnel.
UNSUBSCRIBE_FOOTER = {"it": "Rispondi STOP per non ricevere più messaggi.",
                      "en": "Reply STOP to unsubscribe."}


# -- definition ----------------------------------------------------------------------------------
def _hhmm(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        t = time.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed("a time of day as HH:MM, e.g. 21:00", field=field) from exc
    return t.strftime("%H:%M")


def _apply(s: Session, actor: Actor, c: Campaign, fields: dict[str, Any]) -> None:
    if "name" in fields:
        name = str(fields["name"] or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed("a campaign needs a name (at most 200 characters)", field="name")
        c.name = name
    if "segment_id" in fields:
        c.segment_id = get_segment_in(s, actor, int(fields["segment_id"]), field="segment_id").id
    if "template_id" in fields:
        tid = fields["template_id"]
        c.template_id = get_template_in(s, actor, int(tid), field="template_id").id if tid else None
    if "survey_kind" in fields:
        if fields["survey_kind"] not in (None, "csat", "nps"):
            raise ValidationFailed("survey_kind must be csat or nps", field="survey_kind")
        c.survey_kind = fields["survey_kind"]
    if "channel_ids" in fields:
        ids = fields["channel_ids"]
        if not isinstance(ids, list) or not ids:
            raise ValidationFailed("channel_ids: the channels to try, best first", field="channel_ids")
        for i, cid in enumerate(ids):
            get_in_workspace(s, Channel, int(cid), actor, "channel not found", field=f"channel_ids[{i}]")
            if int(cid) in [int(x) for x in ids[:i]]:
                raise ValidationFailed("each channel can appear once in the fallback order", field=f"channel_ids[{i}]")
        c.channel_order = [int(x) for x in ids]
    if "scheduled_at" in fields:
        c.scheduled_at = fields["scheduled_at"]
    if "quiet_start" in fields or "quiet_end" in fields:
        c.quiet_start = _hhmm(fields.get("quiet_start", c.quiet_start), "quiet_start")
        c.quiet_end = _hhmm(fields.get("quiet_end", c.quiet_end), "quiet_end")
        if (c.quiet_start is None) != (c.quiet_end is None):
            raise ValidationFailed("quiet hours need both quiet_start and quiet_end", field="quiet_end")
    if "cap_count" in fields:
        cap = fields["cap_count"]
        if cap is not None and (not isinstance(cap, int) or cap < 1):
            raise ValidationFailed("cap_count must be a positive number of messages", field="cap_count")
        c.cap_count = cap
    if "cap_days" in fields:
        days = fields["cap_days"]
        if not isinstance(days, int) or not 1 <= days <= 365:
            raise ValidationFailed("cap_days must be between 1 and 365", field="cap_days")
        c.cap_days = days
    if "variant_b_template_id" in fields:
        vid = fields["variant_b_template_id"]
        c.variant_b_template_id = get_template_in(s, actor, int(vid), field="variant_b_template_id").id if vid else None
    if "split_b_percent" in fields:
        split = fields["split_b_percent"]
        if not isinstance(split, int) or not 0 <= split <= 100:
            raise ValidationFailed("split_b_percent must be between 0 and 100", field="split_b_percent")
        c.split_b_percent = split
    if "winner_metric" in fields:
        if fields["winner_metric"] not in WINNER_METRICS:
            raise ValidationFailed(f"winner_metric must be one of {', '.join(WINNER_METRICS)}", field="winner_metric")
        c.winner_metric = fields["winner_metric"]
    if "local_time" in fields:
        c.local_time = _hhmm(fields["local_time"], "local_time")
    if "conversion_days" in fields:
        days = fields["conversion_days"]
        if not isinstance(days, int) or not 1 <= days <= 90:
            raise ValidationFailed("conversion_days must be between 1 and 90", field="conversion_days")
        c.conversion_days = days
    if c.split_b_percent and c.variant_b_template_id is None:
        raise ValidationFailed("an A/B split needs variant B's template", field="variant_b_template_id")
    if (c.template_id is None) == (c.survey_kind is None):
        raise ValidationFailed("a campaign sends either a template or a survey", field="template_id")
    if c.segment_id is None:
        raise ValidationFailed("a campaign needs a segment", field="segment_id")
    if not c.channel_order:
        raise ValidationFailed("channel_ids: the channels to try, best first", field="channel_ids")


def create_campaign(rt: Runtime, actor: Actor, fields: dict[str, Any]) -> Campaign:
    actor.require_write()
    with rt.db.transaction() as s:
        c = Campaign(workspace_id=actor.workspace_id, name="", status="draft", channel_order=[], cap_days=7,
                     split_b_percent=0, winner_metric="replied", conversion_days=7, audience_resolved=False,
                     created_at=rt.clock.now())
        _apply(s, actor, c, {"name": fields.get("name", ""), **fields})
        s.add(c)
        s.flush()
        return c


def get_campaign_in(s: Session, actor: Actor, campaign_id: int) -> Campaign:
    return get_in_workspace(s, Campaign, campaign_id, actor, "campaign not found")


def get_campaign(rt: Runtime, actor: Actor, campaign_id: int) -> Campaign:
    with rt.db.read() as s:
        return get_campaign_in(s, actor, campaign_id)


def list_campaigns(rt: Runtime, actor: Actor) -> list[Campaign]:
    with rt.db.read() as s:
        return list(s.scalars(select(Campaign).where(Campaign.workspace_id == actor.workspace_id)
                              .order_by(Campaign.id.desc())))


def update_campaign(rt: Runtime, actor: Actor, campaign_id: int, fields: dict[str, Any]) -> Campaign:
    actor.require_write()
    with rt.db.transaction() as s:
        c = get_campaign_in(s, actor, campaign_id)
        if c.status not in ("draft", "scheduled"):
            raise Conflict(f"a {c.status} campaign cannot be edited", field="status")
        _apply(s, actor, c, fields)
        return c


# -- lifecycle -------------------------------------------------------------------------------------
def start(rt: Runtime, actor: Actor, campaign_id: int) -> Campaign:
    """Send now, or at ``scheduled_at`` if that is in the future."""
    actor.require_write()
    with rt.db.transaction() as s:
        c = get_campaign_in(s, actor, campaign_id)
        if c.status not in ("draft",):
            raise Conflict(f"the campaign is {c.status}", field="status")
        _check_sendable(s, c)
        now = rt.clock.now()
        later = c.scheduled_at is not None and c.scheduled_at > now
        c.status = "scheduled" if later else "running"
        c.started_at = None if later else now
        enqueue_task(s, workspace_id=c.workspace_id, kind="campaign.run", payload={"campaign_id": c.id},
                     run_after=c.scheduled_at if later else now)
        emit(s, "campaign.updated", c.workspace_id, {"id": c.id, "status": c.status})
        return c


def _check_sendable(s: Session, c: Campaign) -> None:
    if c.segment_id is None:
        raise ValidationFailed("a campaign needs a segment", field="segment_id")
    if c.template_id is not None:
        tpl = s.get(MessageTemplate, c.template_id)
        assert tpl is not None
        for cid in c.channel_order:
            ch = s.get(Channel, cid)
            if ch is not None and get_adapter(ch.kind).capabilities.templates and tpl.provider_name \
                    and tpl.approval_status != "approved":
                raise ValidationFailed(f"template {tpl.name!r} is {tpl.approval_status}, not approved by the "
                                       f"platform: {ch.kind} would refuse it", field="template_id")


def pause(rt: Runtime, actor: Actor, campaign_id: int) -> Campaign:
    return _transition(rt, actor, campaign_id, {"running", "scheduled"}, "paused")


def cancel(rt: Runtime, actor: Actor, campaign_id: int) -> Campaign:
    return _transition(rt, actor, campaign_id, {"draft", "running", "scheduled", "paused"}, "cancelled")


def resume(rt: Runtime, actor: Actor, campaign_id: int) -> Campaign:
    return _transition(rt, actor, campaign_id, {"paused"}, "running")


def _transition(rt: Runtime, actor: Actor, campaign_id: int, allowed: set[str], new: str) -> Campaign:
    actor.require_write()
    with rt.db.transaction() as s:
        c = get_campaign_in(s, actor, campaign_id)
        if c.status not in allowed:
            raise Conflict(f"the campaign is {c.status}", field="status")
        c.status = new
        now = rt.clock.now()
        if new == "running":
            c.started_at = c.started_at or now
            enqueue_task(s, workspace_id=c.workspace_id, kind="campaign.run", payload={"campaign_id": c.id})
        if new == "cancelled":
            c.finished_at = now
        emit(s, "campaign.updated", c.workspace_id, {"id": c.id, "status": c.status})
        return c


# -- the fan-out -----------------------------------------------------------------------------------
@task_handler("campaign.run")
def _run_task(rt: Runtime, task: Task) -> None:
    run(rt, int(task.payload["campaign_id"]))


def run(rt: Runtime, campaign_id: int, *, max_batches: int | None = None) -> None:
    """Resolve the audience once, then send batch after batch until done, paused or cancelled.

    Safe to run again at any point (after a crash, or twice at once): see the module docstring.
    """
    with rt.db.transaction() as s:
        c = s.get(Campaign, campaign_id)
        if c is None:
            return
        if c.status == "scheduled":
            c.status, c.started_at = "running", rt.clock.now()
        if c.status != "running":
            return
        resolved = c.audience_resolved
    if not resolved:
        _resolve_audience(rt, campaign_id)
    with rt.db.read() as s:
        # Counted once; each batch then moves its own recipients from pending to sent/skipped, so the
        # progress events do not recount a million rows per batch (progress() still counts for real).
        counts = _counts(s, campaign_id)
    batches = 0
    while max_batches is None or batches < max_batches:
        outcome = _send_batch(rt, campaign_id, counts)
        batches += 1
        if outcome != "more":
            return


def variant_for(contact_id: int, split_b_percent: int) -> str:
    """A stable A/B assignment: the same contact lands in the same group on every (re-)run."""
    bucket = int(hashlib.sha256(str(contact_id).encode()).hexdigest()[:8], 16) % 100
    return "B" if bucket < split_b_percent else "A"


def _resolve_audience(rt: Runtime, campaign_id: int) -> None:
    """One recipient row per segment member; a resumed resolution inserts only those still missing."""
    with rt.db.transaction() as s:
        c = s.get(Campaign, campaign_id)
        assert c is not None and c.segment_id is not None
        from crocevia.storage.tables import Segment

        seg = s.get(Segment, c.segment_id)
        assert seg is not None
        f = parse_filter(seg.filter)
        after = int(s.scalar(select(func.max(CampaignRecipient.contact_id)).where(
            CampaignRecipient.campaign_id == c.id)) or 0)
        now = rt.clock.now()
        conn = s.connection()
        at = _RCP_INSERT.encoder(conn, "created_at")(now)
        ws_id, split = c.workspace_id, c.split_b_percent
        rows: list[tuple[Any, ...]] = []
        for contact_id in iter_member_ids(s, c.workspace_id, f, now, after_id=after):
            rows.append((ws_id, campaign_id, contact_id, "pending", variant_for(contact_id, split) if split else "A",
                         at, at))
            if len(rows) >= INSERT_BATCH:
                _RCP_INSERT.many(conn, rows)
                rows = []
        _RCP_INSERT.many(conn, rows)
        c.audience_resolved = True


def _send_batch(rt: Runtime, campaign_id: int, counts: dict[str, int] | None = None) -> str:
    now = rt.clock.now()
    counts = counts if counts is not None else {"pending": 0, "sent": 0, "skipped": 0, "total": 0}
    with rt.db.transaction() as s:
        c = s.get(Campaign, campaign_id)
        if c is None or c.status != "running":
            return "stopped"
        bulk = BULK and not c.survey_kind
        batch = _pending(s, rt, c, now, bulk)
        if batch:
            ctx = _BatchContext.load(s, rt, c, batch, now, bulk=bulk)
            for r in batch:
                _decide(s, rt, c, r, ctx, now)
            if ctx.writer is not None:
                ctx.writer.flush(s, now)
                for r, msg in ctx.staged_for:
                    r.message_id = msg.id
            if bulk:
                _write_recipients(s, cast("list[_Recipient]", batch), now)
            for r in batch:
                if r.status != "pending":
                    counts["pending"] -= 1
                    counts[r.status] = counts.get(r.status, 0) + 1
            # One event per batch, not per message: the progress bars follow it, and the outbox dispatcher
            # wakes on it (jobs/dispatcher.py) for the messages the bulk path wrote without events.
            emit(s, "campaign.progress", c.workspace_id, {"id": c.id, **counts})
            return "more"
        # Nothing due: either finished, or recipients wait for their quiet hours to end.
        wake = s.scalar(select(func.min(CampaignRecipient.not_before)).where(
            CampaignRecipient.campaign_id == c.id, CampaignRecipient.status == "pending"))
        if wake is not None:
            enqueue_task(s, workspace_id=c.workspace_id, kind="campaign.run", payload={"campaign_id": c.id},
                         run_after=wake)
            return "waiting"
        c.status, c.finished_at = "done", now
        emit(s, "campaign.updated", c.workspace_id, {"id": c.id, "status": c.status, **_counts(s, c.id)})
        return "done"


class _Recipient:
    """A recipient row as plain attributes: the bulk path decides on these and writes them back with
    one executemany, instead of loading ORM objects and flushing them one UPDATE at a time."""

    __slots__ = ("channel_id", "contact_id", "id", "message_id", "not_before", "reason", "status", "updated_at",
                 "variant")

    def __init__(self, row: Any, now: datetime) -> None:
        self.id, self.contact_id, self.variant, self.not_before = row
        # Every decision sets these; the defaults only keep a row that none touched as it was.
        self.status, self.reason, self.channel_id, self.message_id, self.updated_at = "pending", None, None, None, now


_RCP = cast(Table, CampaignRecipient.__table__)
_RCP_INSERT = RowInsert(_RCP, ("workspace_id", "campaign_id", "contact_id", "status", "variant", "created_at",
                               "updated_at"))
_RCP_UPDATE = RowUpdate(_RCP, ("status", "reason", "channel_id", "message_id", "not_before", "updated_at"), "id")
_DUE = ((_RCP.c.campaign_id == bindparam("cid")) & (_RCP.c.status == "pending")
        & (_RCP.c.not_before.is_(None) | (_RCP.c.not_before <= bindparam("now"))))
_PENDING = FastStatement(select(_RCP.c.id, _RCP.c.contact_id, _RCP.c.variant, _RCP.c.not_before).where(_DUE)
                         .order_by(_RCP.c.id).limit(bindparam("n")))
_PENDING_LOCKED = FastStatement(select(_RCP.c.id, _RCP.c.contact_id, _RCP.c.variant, _RCP.c.not_before).where(_DUE)
                                .order_by(_RCP.c.id).limit(bindparam("n")).with_for_update(skip_locked=True))
# The batch's context, each read with one statement whose list of ids is one parameter (storage/id_list.py).
_CONTACT_COLS = (Contact.id, Contact.name, Contact.language, Contact.country, Contact.timezone, Contact.merged_into_id)
_CONTACTS = ListStatement(lambda member: select(*_CONTACT_COLS).where(member(Contact.id, "ids")), ["ids"])
_CONTACTS_ATTRS = ListStatement(lambda member: select(*_CONTACT_COLS, Contact.attributes).where(
    member(Contact.id, "ids")), ["ids"])
_IDENTITIES = ListStatement(lambda member: select(ContactIdentity.contact_id, ContactIdentity.channel_id).where(
    member(ContactIdentity.contact_id, "ids")), ["ids"])
_CONSENTS = ListStatement(lambda member: select(
    ContactConsent.contact_id, ContactConsent.channel_id, ContactConsent.status).where(
    member(ContactConsent.contact_id, "ids")), ["ids"])
# Per channel, and the thread filtered here: so SQLite takes the (channel, contact, thread) index, not the
# (channel, thread) one, which would read every conversation of the channel for each batch.
_CONVERSATIONS = ListStatement(lambda member: select(
    Conversation.id, Conversation.channel_id, Conversation.contact_id, Conversation.workspace_id,
    Conversation.last_inbound_at, Conversation.thread_key).where(
    Conversation.channel_id == bindparam("ch"), member(Conversation.contact_id, "ids")), ["ids"])
_PRIOR = ListStatement(lambda member: select(Message.id, Message.idempotency_key).where(
    Message.workspace_id == bindparam("ws"), member(Message.idempotency_key, "keys")), ["keys"])
_RECENT = ListStatement(lambda member: select(CampaignRecipient.contact_id, func.count()).where(
    member(CampaignRecipient.contact_id, "ids"), CampaignRecipient.status == "sent",
    CampaignRecipient.campaign_id != bindparam("cid"), CampaignRecipient.updated_at >= bindparam("since"))
    .group_by(CampaignRecipient.contact_id), ["ids"])


def _pending(s: Session, rt: Runtime, c: Campaign, now: datetime, bulk: bool) -> list[Any]:
    """The next due pending recipients (ORM objects on the one-by-one path, _Recipient on the bulk one)."""
    if not bulk:
        due = ((CampaignRecipient.campaign_id == c.id) & (CampaignRecipient.status == "pending")
               & ((CampaignRecipient.not_before.is_(None)) | (CampaignRecipient.not_before <= now)))
        q = select(CampaignRecipient).where(due).order_by(CampaignRecipient.id).limit(BATCH)
        if rt.db.is_postgres:
            q = q.with_for_update(skip_locked=True)
        return list(s.scalars(q))
    stmt = _PENDING_LOCKED if rt.db.is_postgres else _PENDING
    return [_Recipient(row, now) for row in stmt.rows(connection_of(s), {"cid": c.id, "now": now, "n": BATCH})]


def _write_recipients(s: Session, batch: list[_Recipient], now: datetime) -> None:
    conn = connection_of(s)
    encode = _RCP_UPDATE.encoder(conn, "updated_at")
    at_now = encode(now)  # what nearly every row gets: encoded once

    def at(value: datetime | None) -> Any:
        return None if value is None else at_now if value is now else encode(value)

    _RCP_UPDATE.many(conn, [(r.status, r.reason, r.channel_id, r.message_id, at(r.not_before), at(r.updated_at), r.id)
                            for r in batch])


class _BatchContext:
    """What a batch needs about its contacts, read in a few queries instead of several per contact,
    and what its recipients share (template plans, time-zone answers, channel capabilities)."""

    def __init__(self, rt: Runtime, now: datetime) -> None:
        self.rt, self.now = rt, now
        self.contacts: dict[int, Any] = {}  # id -> row (id, name, language, country, timezone, merged_into_id...)
        self.identities: dict[int, set[int]] = {}
        self.consent: dict[tuple[int, int], str] = {}
        self.channels: dict[int, Channel] = {}
        self.recent: dict[int, int] = {}
        self.template: MessageTemplate | None = None
        self.template_b: MessageTemplate | None = None
        # (channel, contact) → latest one-to-one conversation (an ORM object on the one-by-one path, a row
        # with id, workspace_id and last_inbound_at on the bulk one); messages already sent by an earlier run.
        self.conversations: dict[tuple[int, int], Any] = {}
        self.prior: dict[str, Any] = {}
        self.workspace: Workspace | None = None
        # The bulk path: messages staged per recipient, written once the whole batch is decided.
        self.writer: BulkWriter | None = None
        self.staged_for: list[tuple[Any, Staged]] = []
        # The campaign's settings as plain values: read per recipient, a million times.
        self.active_order: tuple[int, ...] = ()
        self.cap_count: int | None = None
        self.local_time: str | None = None
        self.quiet_start: str | None = None
        self.quiet_end: str | None = None
        self.default_tz = "UTC"
        self.campaign_key = ""
        self.caps: dict[int, Any] = {}
        self.public_url = rt.settings.public_url.rstrip("/")
        self._plans: dict[tuple[int, str | None], tuple[str, dict[str, Any], TextPlan, str]] = {}
        self._quiet: dict[str, datetime | None] = {}
        self._local: dict[str, datetime] = {}

    @classmethod
    def load(cls, s: Session, rt: Runtime, c: Campaign, batch: list[Any], now: datetime, *,
             bulk: bool) -> _BatchContext:
        ctx = cls(rt, now)
        conn = connection_of(s)
        ctx.template = s.get(MessageTemplate, c.template_id) if c.template_id else None
        ctx.template_b = s.get(MessageTemplate, c.variant_b_template_id) if c.variant_b_template_id else None
        ctx.workspace = s.get(Workspace, c.workspace_id)
        ids = [r.contact_id for r in batch]
        in_batch = {"ids": ids}
        # Only the columns rendering and the rules read, as plain rows (the JSON attributes only when a
        # template's text uses them).
        wanted = set(c.channel_order)
        needs_attrs = any("attributes." in str(v.get("text", "")) for t in (ctx.template, ctx.template_b)
                          if t is not None for v in (t.variants or {}).values())
        ctx.contacts = {row.id: row for row in _as_rows(_CONTACTS_ATTRS if needs_attrs else _CONTACTS, conn,
                                                        in_batch, _ATTR_FIELDS if needs_attrs else _FIELDS)}
        for cid, ch in _IDENTITIES.rows(conn, in_batch):
            if ch in wanted:
                ctx.identities.setdefault(cid, set()).add(ch)
        for cid, ch, status in _CONSENTS.rows(conn, in_batch):
            if ch in wanted:
                ctx.consent[(cid, ch)] = status
        ctx.channels = {ch.id: ch for ch in s.scalars(select(Channel).where(Channel.id.in_(c.channel_order)))}
        ctx.active_order = tuple(ch for ch in c.channel_order if ch in ctx.channels and ctx.channels[ch].is_active)
        ctx.caps = {ch.id: get_adapter(ch.kind).capabilities for ch in ctx.channels.values()}
        ctx.cap_count, ctx.local_time = c.cap_count, c.local_time
        ctx.quiet_start, ctx.quiet_end = c.quiet_start, c.quiet_end
        ctx.default_tz = ctx.workspace.timezone if ctx.workspace else "UTC"
        ctx.campaign_key = f"cmp-{c.id}-"
        if c.cap_count:
            since = now - timedelta(days=c.cap_days)
            ctx.recent = {cid: int(n) for cid, n in _RECENT.rows(conn, {"ids": ids, "cid": c.id, "since": since})}
        if bulk:
            ctx.writer = BulkWriter(rt, c.workspace_id)
            for ch in c.channel_order:
                rows = sorted(_as_rows(_CONVERSATIONS, conn, {"ids": ids, "ch": ch}, _CONV_FIELDS), key=lambda x: x.id)
                for row in rows:
                    if row.thread_key == "":  # one-to-one; in id order: the latest wins
                        ctx.conversations[(row.channel_id, row.contact_id)] = row
        else:
            for conv in s.scalars(select(Conversation).where(
                    Conversation.contact_id.in_(ids),
                    Conversation.channel_id.in_(c.channel_order), Conversation.thread_key == "")
                    .order_by(Conversation.id)):
                ctx.conversations[(conv.channel_id, conv.contact_id)] = conv
        keys = [f"cmp-{c.id}-{cid}" for cid in ids]
        for row in _as_rows(_PRIOR, conn, {"ws": c.workspace_id, "keys": keys}, _PRIOR_FIELDS):
            ctx.prior[str(row.idempotency_key)] = row
        return ctx

    def plan(self, tpl: MessageTemplate, language: str | None) -> tuple[str, dict[str, Any], TextPlan, str]:
        """The variant for a contact's language, its text split once (templates.TextPlan), and the footer."""
        key = (tpl.id, language)
        hit = self._plans.get(key)
        if hit is None:
            ws_language = self.workspace.language if self.workspace else "it"
            lang, variant = pick_variant(tpl, language, ws_language)
            footer = UNSUBSCRIBE_FOOTER.get(lang.split("-")[0], UNSUBSCRIBE_FOOTER["en"])
            hit = self._plans[key] = (lang, variant, TextPlan(variant["text"]), footer)
        return hit

    def quiet_until(self, tz_name: str, start: str | None, end: str | None) -> datetime | None:
        if tz_name not in self._quiet:  # the same answer for everyone in a time zone, within one batch
            self._quiet[tz_name] = quiet_until(self.now, tz_name, start, end)
        return self._quiet[tz_name]

    def next_local(self, tz_name: str, hhmm: str) -> datetime:
        if tz_name not in self._local:
            self._local[tz_name] = next_local(self.now, tz_name, hhmm)
        return self._local[tz_name]


_FIELDS = ("id", "name", "language", "country", "timezone", "merged_into_id")
_ATTR_FIELDS = (*_FIELDS, "attributes")
_CONV_FIELDS = ("id", "channel_id", "contact_id", "workspace_id", "last_inbound_at", "thread_key")
_PRIOR_FIELDS = ("id", "idempotency_key")


def _as_rows(stmt: ListStatement, conn: Any, params: dict[str, Any], fields: tuple[str, ...]) -> list[Any]:
    """Rows with attribute access (what rendering and the rules read), without SQLAlchemy's Row machinery."""
    make = _row_type(fields)
    return [make(*row) for row in stmt.rows(conn, params)]


_ROW_TYPES: dict[tuple[str, ...], Any] = {}


def _row_type(fields: tuple[str, ...]) -> Any:
    if fields not in _ROW_TYPES:
        _ROW_TYPES[fields] = namedtuple("_Row", fields)
    return _ROW_TYPES[fields]


def _skip(r: CampaignRecipient, reason: str, now: datetime, channel_id: int | None = None) -> None:
    r.status, r.reason, r.channel_id, r.updated_at = "skipped", reason, channel_id, now


_OPTED_IN, _OPTED_OUT = ConsentStatus.OPTED_IN.value, ConsentStatus.OPTED_OUT.value


def _decide(s: Session, rt: Runtime, c: Campaign, r: CampaignRecipient, ctx: _BatchContext, now: datetime) -> None:
    contact = ctx.contacts.get(r.contact_id)
    if contact is None or contact.merged_into_id is not None:
        _skip(r, "contact_gone", now)
        return
    cid = contact.id
    has = ctx.identities.get(cid, ())
    reachable = [ch for ch in ctx.active_order if ch in has]
    if not reachable:
        _skip(r, "no_channel", now)
        return
    # The best channel in the campaign's order on which the contact opted in to marketing.
    consent = ctx.consent
    chosen = next((ch for ch in reachable if consent.get((cid, ch)) == _OPTED_IN), None)
    if chosen is None:
        opted_out = any(consent.get((cid, ch)) == _OPTED_OUT for ch in reachable)
        _skip(r, "opted_out" if opted_out else "no_consent", now, reachable[0])
        return
    if ctx.cap_count and ctx.recent.get(cid, 0) >= ctx.cap_count:
        _skip(r, "frequency_cap", now, chosen)
        return
    tz_name = contact.timezone or ctx.default_tz
    if ctx.local_time and r.not_before is None:
        # First pass: wait for the campaign's local hour in the recipient's own time zone.
        at = ctx.next_local(tz_name, ctx.local_time)
        if at > now:
            r.not_before, r.updated_at = at, now
            return
    if ctx.quiet_start:
        wait_until = ctx.quiet_until(tz_name, ctx.quiet_start, ctx.quiet_end)
        if wait_until is not None:
            r.not_before, r.updated_at = wait_until, now
            return
    try:
        if ctx.writer is not None:
            # The bulk path writes nothing until the batch is decided: a refusal leaves nothing behind.
            msg = _send(s, rt, c, r, contact, ctx, chosen)
        else:
            # A savepoint: a refused send leaves nothing behind (not even the conversation it opened).
            with s.begin_nested():
                msg = _send(s, rt, c, r, contact, ctx, chosen)
    except CroceviaError as exc:
        # A platform or DLP rule refused this one send: recorded, the campaign goes on.
        rule = str(exc.extra.get("rule") or exc.code)
        _skip(r, rule[:64], now, chosen)
        return
    r.status, r.reason, r.channel_id, r.message_id, r.updated_at = "sent", None, chosen, msg.id, now
    if msg.id is None:  # staged by the bulk path: its id comes when the batch is written
        ctx.staged_for.append((r, cast(Staged, msg)))


def _send(s: Session, rt: Runtime, c: Campaign, r: CampaignRecipient, contact: Any, ctx: _BatchContext,
          channel_id: int) -> Any:
    """The recipient's message (anything with an ``id``; None until written on the bulk path)."""
    from crocevia.services.messages import enqueue_in

    key = f"{ctx.campaign_key}{contact.id}"
    prior = ctx.prior.get(key)
    if prior is not None:  # already sent by an earlier run that died before marking the row
        return prior
    conv = ctx.conversations.get((channel_id, contact.id))
    if ctx.writer is not None:
        req, links, scan_text = _compose(rt, c, r, contact, ctx, channel_id, key)
        return ctx.writer.stage(s, conv, contact.id, ctx.channels[channel_id], req, scan_text, links)
    if conv is None:
        conv = _new_conversation(s, c.workspace_id, channel_id, contact.id, rt.clock.now())
    if c.survey_kind:
        from crocevia.services.surveys import ask_in

        ask_in(s, rt, conv, c.survey_kind, campaign_id=c.id, idempotency_key=key)
        asked = s.scalar(select(Message).where(Message.workspace_id == c.workspace_id,
                                               Message.idempotency_key == key))
        assert asked is not None
        return asked
    req, links, _ = _compose(rt, c, r, contact, ctx, channel_id, key)
    msg = enqueue_in(s, rt, conv, req, author_user_id=None)
    if links:
        msg.content = {**(msg.content or {}), "links": links}
    return msg


# The URL pattern as a split: [text, link, text, link, ..., text] in one pass over the rendered text.
_URL_SPLIT = re.compile(f"({URL.pattern})")


def _compose(rt: Runtime, c: Campaign, r: CampaignRecipient, contact: Any, ctx: _BatchContext,
             channel_id: int, key: str) -> tuple[SendRequest, list[str], str]:
    """The recipient's message: their variant and language, tracked links, the unsubscribe footer.

    Also the same text with each tracked link as a fixed placeholder: what the bulk path scans for DLP,
    so recipients whose rendered texts differ only by their (non-personal, signed) link tokens share a scan.
    """
    from crocevia.services.messages import SendRequest

    tpl = ctx.template_b if r.variant == "B" and ctx.template_b is not None else ctx.template
    assert tpl is not None
    lang, variant, plan, footer = ctx.plan(tpl, contact.language)
    body, params = plan.render(contact)
    caps = ctx.caps[channel_id]
    template = None
    if caps.templates and tpl.provider_name:
        if tpl.approval_status != "approved":
            raise ValidationFailed("template not approved", rule="template_not_approved")
        template = {"name": tpl.provider_name, "language": lang, "parameters": params, "category": tpl.category}
    buttons = variant.get("buttons", [])
    if caps.buttons < len(buttons):
        buttons = []
    links: list[str] = []
    text = scan = body
    if template is None:
        pieces = _URL_SPLIT.split(body)
        if len(pieces) > 1:
            # Each link becomes a short link served by Crocevia, so a click is counted for this recipient.
            links = pieces[1::2]
            public = ctx.public_url
            tracked, shape = list(pieces), list(pieces)
            for i in range(len(links)):
                tracked[2 * i + 1] = f"{public}/l/{link_token(rt, r.id, i)}"
                shape[2 * i + 1] = f"{public}/l/0-{i}-{'0' * 16}"
            text, scan = "".join(tracked), "".join(shape)
    req = SendRequest(text=f"{text}\n\n{footer}", buttons=buttons, template=template, idempotency_key=key,
                      author_type=AuthorType.BOT)
    return req, links, f"{scan}\n\n{footer}"


_LINK_MACS: dict[str, Any] = {}


def link_token(rt: Runtime, recipient_id: int, index: int) -> str:
    payload = f"{recipient_id}-{index}"
    secret = rt.settings.secret_key
    base = _LINK_MACS.get(secret)
    if base is None:  # the keyed state once per secret; each token then costs one copy and two hash rounds
        base = _LINK_MACS[secret] = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    mac = base.copy()
    mac.update(f"link:{payload}".encode())
    return f"{payload}-{mac.hexdigest()[:16]}"


def follow_link(rt: Runtime, token: str) -> str:
    """Where a tracked short link points; the recipient's first click is recorded."""
    parts = token.split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18:
        raise NotFound("link not found")
    recipient_id, index = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(link_token(rt, recipient_id, index), token):
        raise NotFound("link not found")
    with rt.db.transaction() as s:
        r = s.get(CampaignRecipient, recipient_id)
        msg = s.get(Message, r.message_id) if r is not None and r.message_id else None
        links = (msg.content or {}).get("links", []) if msg is not None else []
        if r is None or index >= len(links):
            raise NotFound("link not found")
        if r.clicked_at is None:
            r.clicked_at = rt.clock.now()
            emit(s, "campaign.clicked", r.workspace_id, {"campaign_id": r.campaign_id, "contact_id": r.contact_id})
        return str(links[index])


def _new_conversation(s: Session, workspace_id: int, channel_id: int, contact_id: int,
                      now: datetime) -> Conversation:
    """A conversation for a contact we never talked to on this channel: pending (waiting on them), so
    their reply wakes it up with the campaign message right above it for the agent."""
    conv = Conversation(workspace_id=workspace_id, channel_id=channel_id, contact_id=contact_id, thread_key="",
                        status="pending", labels=["campaign"], last_activity_at=now, created_at=now)
    s.add(conv)
    s.flush()
    return conv


def _zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_local(now: datetime, tz_name: str, hhmm: str) -> datetime:
    """The next moment (now included, within a minute) when it is ``hhmm`` where the recipient lives."""
    tz = _zone(tz_name)
    local = now.astimezone(tz)
    target = datetime.combine(local.date(), time.fromisoformat(hhmm), tzinfo=tz)
    if target < local - timedelta(minutes=1):
        target = datetime.combine(local.date() + timedelta(days=1), time.fromisoformat(hhmm), tzinfo=tz)
    return max(target.astimezone(ZoneInfo("UTC")), now)


def quiet_until(now: datetime, tz_name: str, start: str | None, end: str | None) -> datetime | None:
    """When quiet hours end for someone in ``tz_name``, if it is quiet there now; else None."""
    if not start or not end:
        return None
    tz = _zone(tz_name)
    local = now.astimezone(tz)
    qs, qe = time.fromisoformat(start), time.fromisoformat(end)
    t = local.time()
    quiet = (qs <= t < qe) if qs < qe else (t >= qs or t < qe)
    if not quiet:
        return None
    end_day = local.date() if t < qe else local.date() + timedelta(days=1)
    return datetime.combine(end_day, qe, tzinfo=tz).astimezone(ZoneInfo("UTC"))


# -- progress and reports ------------------------------------------------------------------------------
def _counts(s: Session, campaign_id: int) -> dict[str, int]:
    rows = s.execute(select(CampaignRecipient.status, func.count()).where(
        CampaignRecipient.campaign_id == campaign_id).group_by(CampaignRecipient.status)).all()
    counts = {"pending": 0, "sent": 0, "skipped": 0}
    counts.update({str(k): int(v) for k, v in rows})
    counts["total"] = sum(v for k, v in counts.items() if k != "total")
    return counts


def progress(rt: Runtime, actor: Actor, campaign_id: int) -> dict[str, Any]:
    """Recipients by state, skip reasons, the delivery funnel (overall and per A/B variant) and the winner.

    Set-wise: a handful of grouped queries per campaign, whatever its size (replies and conversions are
    EXISTS / joins over the campaign's messages, not one query per recipient)."""
    with rt.db.read() as s:
        c = get_campaign_in(s, actor, campaign_id)
        summary = _summaries(s, [c.id])[c.id]
        per_variant = _variant_funnels(s, c)
    funnel = _empty_funnel()
    for f in per_variant.values():
        for k, v in f.items():
            funnel[k] += v
    funnel["opted_out"] = summary["skipped_reasons"].get("opted_out", 0)
    return {"campaign_id": c.id, "status": c.status, **summary, "funnel": funnel, "variants": per_variant,
            "winner": _winner(per_variant, c.winner_metric)}


def summaries(rt: Runtime, actor: Actor, campaign_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Recipients by state, skip reasons and percent done of several campaigns, in one grouped query
    (the campaigns page lists twenty; the funnel is ``progress``'s, for one)."""
    with rt.db.read() as s:
        mine = [int(x) for x in s.scalars(select(Campaign.id).where(
            Campaign.workspace_id == actor.workspace_id, Campaign.id.in_(campaign_ids)))]
        return _summaries(s, mine) if mine else {}


def _summaries(s: Session, campaign_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for cid in campaign_ids:
        out[cid] = {"recipients": {"pending": 0, "sent": 0, "skipped": 0, "total": 0}, "skipped_reasons": {}}
    rows = s.execute(select(CampaignRecipient.campaign_id, CampaignRecipient.status, CampaignRecipient.reason,
                            func.count()).where(CampaignRecipient.campaign_id.in_(campaign_ids))
                     .group_by(CampaignRecipient.campaign_id, CampaignRecipient.status, CampaignRecipient.reason))
    for cid, status, reason, n in rows:
        counts = out[cid]["recipients"]
        counts[str(status)] = counts.get(str(status), 0) + int(n)
        counts["total"] += int(n)
        if status == "skipped":
            reasons = out[cid]["skipped_reasons"]
            reasons[str(reason)] = reasons.get(str(reason), 0) + int(n)
    for summary in out.values():
        counts = summary["recipients"]
        done = counts["total"] - counts["pending"]
        summary["percent"] = round(100 * done / counts["total"], 1) if counts["total"] else 0.0
    return out


_RANK = ("queued", "sent", "delivered", "read")


def _empty_funnel() -> dict[str, int]:
    return {"queued": 0, "sent": 0, "delivered": 0, "read": 0, "failed": 0, "replied": 0, "clicked": 0,
            "converted": 0}


def _variant_funnels(s: Session, c: Campaign) -> dict[str, dict[str, int]]:
    """queued ≥ sent ≥ delivered ≥ read per variant (a read message was also delivered and sent), failed,
    clicked, replied and converted."""
    sent = (select(CampaignRecipient.variant, Message.status, CampaignRecipient.clicked_at.is_not(None), func.count())
            .join(Message, Message.id == CampaignRecipient.message_id).where(CampaignRecipient.campaign_id == c.id)
            .group_by(CampaignRecipient.variant, Message.status, CampaignRecipient.clicked_at.is_not(None)))
    out: dict[str, dict[str, int]] = {}
    for variant, status, clicked, n in s.execute(sent):
        f = out.setdefault(str(variant), _empty_funnel())
        f["queued"] += n
        rank = _RANK.index(status) if status in _RANK else -1
        for i, step in enumerate(_RANK[1:], start=1):
            if rank >= i:
                f[step] += n
        if status == "failed":
            f["failed"] += n
        if clicked:
            f["clicked"] += n
    for variant, n in _replied(s, c.id):
        out.setdefault(str(variant), _empty_funnel())["replied"] = n
    for variant, n in _converted(s, c.id, timedelta(days=c.conversion_days)).items():
        out.setdefault(variant, _empty_funnel())["converted"] = n
    return dict(sorted(out.items()))


def _replied(s: Session, campaign_id: int) -> list[tuple[str, int]]:
    """Per variant, recipients who wrote on the campaign's channel after its message (in any conversation:
    a reply to a message in a resolved conversation starts a new one)."""
    inbound = aliased(Message)
    wrote = exists(select(inbound.id).join(Conversation, Conversation.id == inbound.conversation_id).where(
        Conversation.channel_id == Message.channel_id, Conversation.contact_id == CampaignRecipient.contact_id,
        inbound.direction == "in", inbound.created_at >= Message.created_at))
    return [(str(v), int(n)) for v, n in s.execute(
        select(CampaignRecipient.variant, func.count()).join(Message, Message.id == CampaignRecipient.message_id)
        .where(CampaignRecipient.campaign_id == campaign_id, wrote).group_by(CampaignRecipient.variant))]


def _converted(s: Session, campaign_id: int, window: timedelta) -> dict[str, int]:
    """Per variant, recipients with an order or a booking (not cancelled) within the window after the message.
    The join keeps only orders after the message; the window's end is checked here (date arithmetic is
    not portable SQL)."""
    from crocevia.storage.tables import Booking, Order

    hits: dict[str, set[int]] = {}
    for model in (Order, Booking):
        rows = s.execute(select(CampaignRecipient.variant, CampaignRecipient.contact_id, Message.created_at,
                                model.created_at)
                         .join(Message, Message.id == CampaignRecipient.message_id)
                         .join(model, (model.contact_id == CampaignRecipient.contact_id)
                               & (model.status != "cancelled") & (model.created_at >= Message.created_at))
                         .where(CampaignRecipient.campaign_id == campaign_id))
        for variant, contact_id, sent_at, at in rows:
            if at <= sent_at + window:
                hits.setdefault(str(variant), set()).add(int(contact_id))
    return {v: len(ids) for v, ids in hits.items()}


def _winner(per_variant: dict[str, dict[str, int]], metric: str) -> dict[str, Any] | None:
    """The variant with the best rate on the campaign's metric; None until both have been sent."""
    if len(per_variant) < 2:
        return None
    rates = {v: round(100 * f[metric] / f["queued"], 1) for v, f in per_variant.items() if f["queued"]}
    if len(rates) < 2 or len(set(rates.values())) == 1:
        return None
    best = max(rates, key=lambda v: rates[v])
    return {"variant": best, "metric": metric, "rates": rates}


def recipients(rt: Runtime, actor: Actor, campaign_id: int, *, status: str | None = None,
               after: int | None = None, limit: int = 100) -> tuple[list[CampaignRecipient], int | None]:
    limit = max(1, min(limit, 1000))
    with rt.db.read() as s:
        c = get_campaign_in(s, actor, campaign_id)
        stmt = select(CampaignRecipient).where(CampaignRecipient.campaign_id == c.id)
        if status:
            stmt = stmt.where(CampaignRecipient.status == status)
        if after:
            stmt = stmt.where(CampaignRecipient.id > after)
        rows = list(s.scalars(stmt.order_by(CampaignRecipient.id).limit(limit + 1)))
    items = rows[:limit]
    return items, (items[-1].id if len(rows) > limit else None)


def recipient_dict(r: CampaignRecipient) -> dict[str, Any]:
    return {"id": r.id, "contact_id": r.contact_id, "status": r.status, "reason": r.reason, "variant": r.variant,
            "clicked_at": r.clicked_at.isoformat() if r.clicked_at else None,
            "channel_id": r.channel_id, "message_id": r.message_id,
            "not_before": r.not_before.isoformat() if r.not_before else None, "updated_at": r.updated_at.isoformat()}


def campaign_dict(c: Campaign) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "segment_id": c.segment_id, "template_id": c.template_id,
            "survey_kind": c.survey_kind, "channel_ids": c.channel_order, "status": c.status,
            "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
            "quiet_start": c.quiet_start, "quiet_end": c.quiet_end, "cap_count": c.cap_count, "cap_days": c.cap_days,
            "variant_b_template_id": c.variant_b_template_id, "split_b_percent": c.split_b_percent,
            "winner_metric": c.winner_metric, "local_time": c.local_time, "conversion_days": c.conversion_days,
            "created_at": c.created_at.isoformat(), "started_at": c.started_at.isoformat() if c.started_at else None,
            "finished_at": c.finished_at.isoformat() if c.finished_at else None}


def export_csv(rt: Runtime, actor: Actor, campaign_id: int) -> str:
    import csv
    import io

    with rt.db.read() as s:
        c = get_campaign_in(s, actor, campaign_id)
        rows = s.execute(select(CampaignRecipient, Message.status).outerjoin(
            Message, Message.id == CampaignRecipient.message_id).where(CampaignRecipient.campaign_id == c.id)
            .order_by(CampaignRecipient.id)).all()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["contact_id", "status", "reason", "variant", "channel_id", "message_id", "message_status",
                "clicked_at", "updated_at"])
    for r, mstatus in rows:
        w.writerow([r.contact_id, r.status, r.reason or "", r.variant, r.channel_id or "", r.message_id or "",
                    mstatus or "", r.clicked_at.isoformat() if r.clicked_at else "", r.updated_at.isoformat()])
    return buf.getvalue()
