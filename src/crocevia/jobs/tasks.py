"""Durable background tasks: a table, a registry of handlers by kind, and a runner.

Tasks are written in the transaction that makes them necessary (ingest writes a media-fetch
task with the message), so they survive crashes and restarts; the runner claims due tasks with
a lease and retries failures with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crocevia.errors import CroceviaError, ProviderError
from crocevia.jobs.backoff import retry_delay
from crocevia.runtime import Runtime
from crocevia.storage.tables import Task

log = logging.getLogger(__name__)

TaskHandler = Callable[[Runtime, Task], None]
_HANDLERS: dict[str, TaskHandler] = {}
MAX_ATTEMPTS = 8


def task_handler(kind: str) -> Callable[[TaskHandler], TaskHandler]:
    def register(fn: TaskHandler) -> TaskHandler:
        _HANDLERS[kind] = fn
        return fn

    return register


def enqueue_in(s: Session, *, workspace_id: int, kind: str, payload: dict[str, Any],
               run_after: datetime | None = None) -> Task:
    task = Task(workspace_id=workspace_id, kind=kind, payload=payload)
    if run_after is not None:
        task.run_after = run_after
    s.add(task)
    return task


class TaskRunner:
    def __init__(self, rt: Runtime, batch: int = 10, lease_seconds: float = 120.0) -> None:
        self.rt = rt
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        _load_handlers()
        self._thread = threading.Thread(target=self.run_forever, name="crocevia-tasks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=15)

    def run_forever(self, poll: float = 0.3) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except Exception:
                log.exception("task runner failed; backing off")
                done = 0
            if not done:
                self._stop.wait(poll)

    def run_once(self) -> int:
        _load_handlers()
        now = self.rt.clock.now()
        with self.rt.db.transaction() as s:
            q = (select(Task).where(or_((Task.status == "pending") & (Task.run_after <= now),
                                        (Task.status == "running") & (Task.lease_until < now)))
                 .order_by(Task.id).limit(self.batch))
            if self.rt.db.is_postgres:
                q = q.with_for_update(skip_locked=True)
            tasks = list(s.scalars(q))
            for t in tasks:
                t.status, t.lease_until, t.attempts = "running", now + self.lease, t.attempts + 1
        for task in tasks:
            self._run(task)
        return len(tasks)

    def _run(self, task: Task) -> None:
        handler = _HANDLERS.get(task.kind)
        error: str | None = None
        retryable = True
        retry_after: float | None = None
        if handler is None:
            error, retryable = f"no handler for task kind {task.kind!r}", False
        else:
            try:
                handler(self.rt, task)
            except ProviderError as exc:
                error, retryable, retry_after = exc.detail, exc.retryable, exc.retry_after
            except CroceviaError as exc:  # bad data (e.g. a file type we refuse): retrying will not help
                error, retryable = exc.detail, False
            except Exception as exc:
                log.exception("task %s failed", task.kind, extra={"task_id": task.id})
                error = f"{type(exc).__name__}: {exc}"
        now = self.rt.clock.now()
        with self.rt.db.transaction() as s:
            row = s.get(Task, task.id)
            if row is None:
                return
            row.lease_until = None
            if error is None:
                row.status, row.last_error = "done", None
            elif retryable and row.attempts < MAX_ATTEMPTS:
                row.status, row.last_error = "pending", error[:1000]
                row.run_after = now + timedelta(seconds=retry_delay(row.attempts, base=2.0, cap=600.0,
                                                                    retry_after=retry_after))
            else:
                row.status, row.last_error = "failed", error[:1000]


def _load_handlers() -> None:
    # Importing the modules that hold handlers registers them.
    from crocevia.automation import engine  # noqa: F401  (bot.inbound)
    from crocevia.jobs import button_ack, media_fetch, ticket_jobs  # noqa: F401
    from crocevia.services import campaigns, payments, surveys  # noqa: F401  (campaign, survey, payments.link)
    from crocevia.services.booking_notices import send_invitation  # noqa: F401  (booking.invite, .remind)
    from crocevia.services.rollups import run_rollup  # noqa: F401  (analytics.rollup)
