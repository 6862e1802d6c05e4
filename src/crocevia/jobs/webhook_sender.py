"""Delivers outgoing webhooks written by ``services.events.emit``: signed, retried with backoff."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

import httpx
from sqlalchemy import or_, select

from crocevia.channels.base import parse_retry_after
from crocevia.jobs.backoff import retry_delay
from crocevia.runtime import Runtime
from crocevia.services.webhooks_out import SIGNATURE_HEADER, signature
from crocevia.storage.tables import WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


class WebhookSender:
    def __init__(self, rt: Runtime, batch: int = 20) -> None:
        self.rt = rt
        self.batch = batch
        self.http = httpx.Client(timeout=10.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="crocevia-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=15)
        self.http.close()

    def run_forever(self, poll: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except Exception:
                log.exception("webhook sender failed; backing off")
                done = 0
            if not done:
                self._stop.wait(poll)

    def run_once(self) -> int:
        now = self.rt.clock.now()
        with self.rt.db.transaction() as s:
            q = (select(WebhookDelivery)
                 .where(or_((WebhookDelivery.status == "pending") & (WebhookDelivery.next_attempt_at <= now),
                            (WebhookDelivery.status == "in_flight") & (WebhookDelivery.lease_until < now)))
                 .order_by(WebhookDelivery.id).limit(self.batch))
            if self.rt.db.is_postgres:
                q = q.with_for_update(skip_locked=True)
            rows = list(s.scalars(q))
            claimed = []
            for row in rows:
                row.status, row.lease_until = "in_flight", now + timedelta(seconds=60)
                row.attempts += 1
                sub = s.get(WebhookSubscription, row.subscription_id)
                if sub is None:
                    continue
                claimed.append((row.id, row.attempts, sub.url, self.rt.box.decrypt_text(sub.secret_encrypted),
                                row.payload, row.event_id, row.event_type))
        for item in claimed:
            self._deliver(*item)
        return len(claimed)

    def _deliver(self, delivery_id: int, attempts: int, url: str, secret: str, payload: dict[str, object],
                 event_id: str, event_type: str) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, int(time.time()), body),
                   "X-Crocevia-Event": event_type, "X-Crocevia-Delivery": event_id}
        status: int | None = None
        retry_after: float | None = None
        try:
            resp = self.http.post(url, content=body, headers=headers)
            status = resp.status_code
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            ok, error = 200 <= status < 300, f"HTTP {status}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        now = self.rt.clock.now()
        with self.rt.db.transaction() as s:
            row = s.get(WebhookDelivery, delivery_id)
            if row is None:
                return
            row.response_status, row.lease_until = status, None
            if ok:
                row.status, row.last_error = "delivered", None
            elif attempts >= MAX_ATTEMPTS or (status is not None and status in (400, 401, 403, 404, 410)):
                row.status, row.last_error = "failed", error
            else:
                delay = retry_delay(attempts, base=2.0, cap=3600.0, retry_after=retry_after)
                row.status, row.last_error = "pending", error
                row.next_attempt_at = now + timedelta(seconds=delay)
