"""The outbox dispatcher: claim → rate-limit → adapter.send() → record status.

The loop claims ahead: it keeps up to ``ahead`` rows claimed, reserves each row's send slot on
its channel's rate limiter as it claims it, and hands a row to a send thread just before its slot
(``LEAD`` seconds early, for the thread's reads). So the next rows are ready while the current ones
are sent (no gap between batches), and a thread never sleeps on a slow channel while a fast
channel's rows wait behind it. Slots are reserved no further than ``HORIZON`` seconds ahead, far
inside the lease.

Claiming sets a lease. A worker killed between claim and commit leaves a lease that runs
out; another worker re-claims the row and sends again *with the same idempotency key*, so
the provider drops the repeat (Twilio's I-Twilio-Idempotency-Token, QQ's msg_seq, the
emulators' Idempotency-Key). On PostgreSQL claims use FOR UPDATE SKIP LOCKED, so any number
of `crocevia worker` processes share the queue without taking the same row.
"""

from __future__ import annotations

import heapq
import logging
import os
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session

from crocevia.channels.base import Button, OutboundMessage
from crocevia.channels.registry import get_adapter
from crocevia.domain.enums import Direction, MessageKind, MessageStatus, OutboxStatus
from crocevia.errors import ProviderError
from crocevia.jobs.backoff import retry_delay
from crocevia.jobs.ratelimit import RateLimiter, make_rate_limiter
from crocevia.runtime import Runtime
from crocevia.services.channels import config_for
from crocevia.services.events import emit
from crocevia.services.ingest import apply_early_statuses, apply_status_to, prune_early_statuses, status_lock_key
from crocevia.storage.db import lock_for_transaction
from crocevia.storage.tables import Attachment, Channel, ContactIdentity, Conversation, Message, OutboxItem

log = logging.getLogger(__name__)


LEAD = 0.02  # a row goes to a send thread this long before its slot: its reads fit in it, and a
# thread spends little of its time waiting (4 threads at 85 sends/s have ~47 ms each per send)
HORIZON = 2.0  # no slot is reserved further ahead than this (the lease is 30 s)
RATE_TTL = 30.0  # a channel's configured rate is re-read this often


@dataclass(frozen=True)
class Claimed:
    outbox_id: int
    message_id: int
    attempts: int
    channel_id: int = 0
    send_at: float = 0.0  # monotonic time of the channel slot reserved for it; 0 = reserve when sent


@dataclass(order=True)
class _Scheduled:
    send_at: float
    item: Claimed = field(compare=False)


def _is_outbound_message(event: object) -> bool:
    kind = getattr(event, "type", "")
    if kind == "campaign.progress":
        return True  # a campaign batch queued its messages without one event each (services/campaign_bulk.py)
    if kind != "message.created":
        return False
    message = (getattr(event, "data", None) or {}).get("message") or {}
    return bool(message.get("direction") != Direction.IN.value)


class Dispatcher:
    def __init__(self, rt: Runtime, *, threads: int | None = None, batch: int = 32,
                 limiter: RateLimiter | None = None) -> None:
        self.rt = rt
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.threads = threads or rt.settings.worker_threads
        self.batch = batch
        self.limiter = limiter or make_rate_limiter(rt.settings.redis_url)
        self.http = httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="crocevia-send")
        self._next_prune = 0.0
        # Claimed rows waiting for their slot, and rows handed to a send thread and not finished.
        self.ahead = max(4 * batch, 8 * self.threads)
        self._queue: list[_Scheduled] = []
        self._sending: set[Future[None]] = set()
        self._rates: dict[int, tuple[float, float]] = {}  # channel id -> (sends per second, read at)
        self._last_slot: dict[int, float] = {}  # channel id -> latest slot reserved (monotonic)
        self.drained = True  # the last claim found fewer due rows than it asked for

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.rt.db.add_after_commit_hook(self._on_commit)
        self._thread = threading.Thread(target=self.run_forever, name="crocevia-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.rt.db.remove_after_commit_hook(self._on_commit)
        if self._thread:
            self._thread.join(timeout=15)
        self._pool.shutdown(wait=True)
        self.http.close()

    def _on_commit(self, events: list[object]) -> None:
        # A new outbound message in this process: wake up now instead of at the next poll.
        # Inbound messages (every webhook) have no outbox row: waking for them would cost a
        # claim transaction per ingest batch for nothing.
        if any(_is_outbound_message(e) for e in events):
            self._wake.set()

    def run_forever(self, poll: float = 0.5) -> None:
        drained = True  # the last claim found fewer rows than asked: claim again on a wake or a poll
        next_claim = 0.0
        try:
            while not self._stop.is_set():
                try:
                    self._maybe_prune()
                    now = time.monotonic()
                    room = self.ahead - len(self._queue) - len(self._sending)
                    if room >= self.batch and (not drained or self._wake.is_set() or now >= next_claim):
                        self._wake.clear()
                        claimed = self.claim(room)
                        drained = self.drained
                        next_claim = now + poll
                        for item in claimed:
                            heapq.heappush(self._queue, _Scheduled(item.send_at, item))
                    self._submit_due()
                    self._idle(poll, next_claim, drained)
                except Exception:
                    log.exception("dispatcher loop failed; backing off")
                    self._stop.wait(1.0)
        finally:
            self._release_queued()

    def _submit_due(self) -> None:
        limit = time.monotonic() + LEAD
        while self._queue and self._queue[0].send_at <= limit:
            item = heapq.heappop(self._queue).item
            self._sending.add(self._pool.submit(self.deliver, item))

    def _idle(self, poll: float, next_claim: float, drained: bool) -> None:
        """Sleep until the next row is due, a send finishes, new work is announced, or the poll."""
        now = time.monotonic()
        until = now + poll if drained else now + LEAD
        if self._queue:
            until = min(until, self._queue[0].send_at - LEAD)
        timeout = max(0.0, until - now)
        if self._sending:
            done, _ = wait(self._sending, timeout=min(timeout, LEAD), return_when=FIRST_COMPLETED)
            self._sending -= done
        elif self._queue:
            self._stop.wait(timeout)  # rows are waiting for their slot: a wake cannot claim more now
        else:
            self._wake.wait(timeout)

    def _release_queued(self) -> None:
        """On stop, hand back the rows claimed but not yet sent, instead of leaving them to their lease."""
        ids = [e.item.outbox_id for e in self._queue]
        self._queue.clear()
        self._release(ids)

    def _hand_back(self, item: Claimed) -> None:
        self._release([item.outbox_id])

    def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        with self.rt.db.transaction() as s:
            s.execute(update(OutboxItem).where(OutboxItem.id.in_(ids), OutboxItem.worker_id == self.worker_id,
                                               OutboxItem.status == OutboxStatus.IN_FLIGHT.value)
                      .values(status=OutboxStatus.PENDING.value, lease_until=None, attempts=OutboxItem.attempts - 1))

    # -- one round ------------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim one batch and send it (paced), in the calling thread's pool: for scripts and tests."""
        self._maybe_prune()
        claimed = self.claim()
        if not claimed:
            return 0
        list(self._pool.map(self.deliver, claimed))
        return len(claimed)

    def _maybe_prune(self) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + 3600
        with self.rt.db.transaction() as s:
            prune_early_statuses(s, self.rt.clock.now() - timedelta(days=1))

    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Lease up to ``limit`` due rows and reserve each one's send slot on its channel."""
        now = self.rt.clock.now()
        lease = now + timedelta(seconds=self.rt.settings.send_lease_seconds)
        # Channels already booked half the HORIZON ahead are left out of the query, so their backlog
        # does not fill the claim and hold back the rows of the other channels behind it (and a
        # channel comes back with half a horizon of room, not one row per claim).
        full = [ch for ch, at in self._last_slot.items() if at > time.monotonic() + HORIZON / 2]
        with self.rt.db.transaction() as s:
            due = (
                select(OutboxItem, Message.channel_id)
                .join(Message, Message.id == OutboxItem.message_id)
                .where(or_(
                    (OutboxItem.status == OutboxStatus.PENDING.value) & (OutboxItem.next_attempt_at <= now),
                    (OutboxItem.status == OutboxStatus.IN_FLIGHT.value) & (OutboxItem.lease_until < now),
                ))
                .where(Message.channel_id.not_in(full) if full else true())
                .order_by(OutboxItem.id)
                .limit(limit or self.batch)
            )
            if self.rt.db.is_postgres:
                due = due.with_for_update(skip_locked=True, of=OutboxItem)
            rows = [(row, channel_id) for row, channel_id in s.execute(due)]
            # Fewer rows than asked: nothing more is due now (rows skipped below do not count: they are
            # more work, claimable as soon as their channel has room).
            self.drained = len(rows) < (limit or self.batch)
            out = []
            for row, channel_id in rows:
                if self._last_slot.get(channel_id, 0.0) > time.monotonic() + HORIZON:
                    continue  # booked HORIZON ahead by the rows before it: this one stays pending, unreserved
                row.status = OutboxStatus.IN_FLIGHT.value
                row.lease_until = lease
                row.worker_id = self.worker_id
                row.attempts += 1
                # The slot is taken in id order as rows are claimed, so each channel's sends are
                # spaced 1/rate apart however its rows interleave with other channels' rows.
                send_at = time.monotonic() + self.limiter.reserve(f"ch:{channel_id}", self._rate(s, channel_id),
                                                                  burst=1.0)
                self._last_slot[channel_id] = send_at
                out.append(Claimed(row.id, row.message_id, row.attempts, channel_id, send_at))
            return out

    def _rate(self, s: Session, channel_id: int) -> float:
        cached = self._rates.get(channel_id)
        if cached and time.monotonic() - cached[1] < RATE_TTL:
            return cached[0]
        channel = s.get(Channel, channel_id)
        rate = self.rt.settings.default_channel_rate
        if channel is not None:
            caps = get_adapter(channel.kind).capabilities
            rate = float(channel.settings.get("rate_per_second") or caps.rate_per_second or rate)
        self._rates[channel_id] = (rate, time.monotonic())
        return rate

    def deliver(self, item: Claimed) -> None:
        try:
            self._deliver(item)
        except Exception as exc:  # never let one message kill the loop; retry it later
            log.exception("delivery crashed", extra={"message_id": item.message_id})
            self._record_failure(item, ProviderError(f"internal error: {exc}", retryable=True))

    def _deliver(self, item: Claimed) -> None:
        with self.rt.db.read() as s:
            msg = s.get(Message, item.message_id)
            if msg is None:
                return
            conv = s.get(Conversation, msg.conversation_id)
            channel = s.get(Channel, msg.channel_id)
            assert conv is not None and channel is not None
            recipient = s.scalar(select(ContactIdentity.external_id).where(
                ContactIdentity.contact_id == conv.contact_id, ContactIdentity.channel_id == channel.id))
            reply_to = s.scalar(select(Message.provider_message_id).where(
                Message.conversation_id == conv.id, Message.direction == "in").order_by(Message.id.desc()).limit(1))
            attachment = None
            if (msg.content or {}).get("attachment_id"):
                attachment = s.get(Attachment, msg.content["attachment_id"])
        if recipient is None and not conv.thread_key:
            self._record_failure(item, ProviderError("the contact has no identity on this channel", retryable=False))
            return
        cfg = config_for(self.rt, channel)
        adapter = get_adapter(channel.kind)
        caps = adapter.capabilities
        out = OutboundMessage(
            message_id=msg.id,
            idempotency_key=msg.idempotency_key or f"crv-{msg.workspace_id}-{msg.id}",
            recipient_id=recipient or "",
            kind=MessageKind(msg.kind),
            text=msg.text,
            thread_id=conv.thread_key,
            buttons=tuple(Button(b["id"], b["title"]) for b in (msg.content or {}).get("buttons", [])),
            template=(msg.content or {}).get("template"),
            media_url=self._media_url(attachment),
            media_mime_type=attachment.content_type if attachment else "",
            media_filename=attachment.filename if attachment else "",
            content=dict(msg.content or {}),
            reply_to_external_id=reply_to,
        )
        # No burst: a provider's "N per second" holds for every second, so the sends are paced at
        # 1/N apart (a bucket of N would let 2N through in the first second of a campaign). The
        # slot was reserved at claim time (run_forever); run_once reserves it here.
        if item.send_at:
            self._wait(item.send_at - time.monotonic())
        else:
            self._wait(self.limiter.reserve(f"ch:{channel.id}", self._rate_of(channel), burst=1.0))
        if self._stop.is_set():
            self._hand_back(item)  # stopping: not sent early, out of pace; the next worker sends it
            return
        if caps.rate_per_chat_per_second:
            chat = conv.thread_key or out.recipient_id
            self._wait(self.limiter.reserve(f"ch:{channel.id}:{chat}", caps.rate_per_chat_per_second, burst=1.0))
        started = time.perf_counter()
        try:
            result = adapter.send(out, cfg, self.http)
        except ProviderError as exc:
            self._record_failure(item, exc)
            return
        except httpx.HTTPError as exc:
            self._record_failure(item, ProviderError(f"network error: {exc}", retryable=True))
            return
        log.info("sent", extra={"message_id": msg.id, "channel_id": channel.id,
                                "latency_ms": round((time.perf_counter() - started) * 1000, 1)})
        self._record_sent(item, result.provider_message_id, result.status)

    def _rate_of(self, channel: Channel) -> float:
        caps = get_adapter(channel.kind).capabilities
        return float(channel.settings.get("rate_per_second") or caps.rate_per_second
                     or self.rt.settings.default_channel_rate)

    def _media_url(self, attachment: Attachment | None) -> str:
        if attachment is None:
            return ""
        from crocevia.media.links import signed_media_url

        return signed_media_url(self.rt, attachment)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def _record_sent(self, item: Claimed, provider_id: str, status: MessageStatus) -> None:
        now = self.rt.clock.now()
        with self.rt.db.transaction() as s:
            row = s.get(OutboxItem, item.outbox_id)
            msg = s.get(Message, item.message_id)
            if row is None or msg is None:
                return
            # Taken before the id is stored: a status webhook for it either committed already (its
            # early status is visible below) or waits and then finds the id.
            lock_for_transaction(s, status_lock_key(msg.channel_id, provider_id))
            row.status, row.lease_until, row.last_error = OutboxStatus.DONE.value, None, None
            msg.provider_message_id = provider_id
            apply_status_to(msg, status, now)
            apply_early_statuses(s, msg)
            emit(s, "message.status", msg.workspace_id,
                 {"message_id": msg.id, "conversation_id": msg.conversation_id, "status": msg.status,
                  "provider_message_id": provider_id}, channel_id=msg.channel_id)

    def _record_failure(self, item: Claimed, exc: ProviderError) -> None:
        settings = self.rt.settings
        now = self.rt.clock.now()
        with self.rt.db.transaction() as s:
            row = s.get(OutboxItem, item.outbox_id)
            msg = s.get(Message, item.message_id)
            if row is None or msg is None:
                return
            row.last_error = exc.detail[:1000]
            if exc.retryable and item.attempts < settings.send_max_attempts:
                delay = retry_delay(item.attempts, base=settings.send_backoff_base, cap=settings.send_backoff_cap,
                                    retry_after=exc.retry_after)
                row.status = OutboxStatus.PENDING.value
                row.next_attempt_at = now + timedelta(seconds=delay)
                row.lease_until = None
                log.warning("send failed, will retry", extra={"message_id": msg.id, "in_seconds": round(delay, 2),
                                                              "error": exc.detail[:200]})
                return
            row.status, row.lease_until = OutboxStatus.FAILED.value, None
            reason = exc.detail if not exc.retryable else f"gave up after {item.attempts} attempts: {exc.detail}"
            apply_status_to(msg, MessageStatus.FAILED, now, reason[:1000])
            emit(s, "message.status", msg.workspace_id,
                 {"message_id": msg.id, "conversation_id": msg.conversation_id, "status": msg.status,
                  "failure_reason": msg.failure_reason}, channel_id=msg.channel_id)


def pending_count(rt: Runtime) -> int:
    from sqlalchemy import func

    with rt.db.read() as s:
        return int(s.scalar(select(func.count(OutboxItem.id)).where(
            OutboxItem.status.in_([OutboxStatus.PENDING.value, OutboxStatus.IN_FLIGHT.value]))) or 0)


def release_leases(rt: Runtime, worker_id: str) -> None:
    """On a clean shutdown, hand our in-flight rows back at once instead of waiting for leases."""
    with rt.db.transaction() as s:
        s.execute(update(OutboxItem).where(OutboxItem.worker_id == worker_id,
                                           OutboxItem.status == OutboxStatus.IN_FLIGHT.value)
                  .values(status=OutboxStatus.PENDING.value, lease_until=None))
