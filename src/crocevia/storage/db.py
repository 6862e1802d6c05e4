"""Engine and sessions: SQLite (WAL) embedded, PostgreSQL when scaled out.

Every difference between the two engines lives here (as Synapse keeps its engines in one
place): connection pragmas, how a write transaction starts, and row locking for claims.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

READONLY = "crocevia_readonly"
COMMITTED = "crocevia.committed"  # session.info flag, set once the transaction has committed
AfterCommitHook = Callable[[list[Any]], None]
T = TypeVar("T")
log = logging.getLogger(__name__)


class Database:
    """One engine, a session factory, and the after-commit event hand-off.

    Services append domain events to ``session.info["events"]``; they are handed to the
    ``after_commit`` hook only once the transaction is durable, never before.
    """

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=pool_size,
                max_overflow=20,
            )
            _configure_sqlite(self.engine)
        else:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            self.engine = create_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=20, pool_pre_ping=True
            )
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._hooks: list[AfterCommitHook] = []
        self._hooks_lock = threading.Lock()
        self._group_commit = GroupCommit(self)
        self._local = threading.local()
        # SQLite has one writer at a time. Threads of this process queue for it on this lock,
        # handed over at once, instead of in SQLite's busy handler, which polls with sleeps of
        # up to 100 ms. (Other processes still meet in the busy handler.)
        self._sqlite_writer: threading.RLock | None = threading.RLock() if self.is_sqlite else None

        @event.listens_for(self._factory, "after_commit")
        def _after_commit(session: Session) -> None:
            session.info[COMMITTED] = True  # whatever fails from here on, the data is durable
            events = session.info.pop("events", None)
            if events:
                for hook in list(self._hooks):
                    hook(events)

        @event.listens_for(self._factory, "after_rollback")
        def _after_rollback(session: Session) -> None:
            session.info.pop("events", None)

    def add_after_commit_hook(self, hook: AfterCommitHook) -> None:
        with self._hooks_lock:
            self._hooks.append(hook)

    def remove_after_commit_hook(self, hook: AfterCommitHook) -> None:
        with self._hooks_lock:
            if hook in self._hooks:
                self._hooks.remove(hook)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A read-write unit of work: commits on success, rolls back on any error."""
        lock = self._sqlite_writer
        if lock is not None:
            lock.acquire()
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            with self._factory() as session, session.begin():
                yield session
        finally:
            self._local.depth -= 1
            if lock is not None:
                lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (no commit); on SQLite it does not queue behind writers."""
        with self._factory() as session:
            session.connection(execution_options={READONLY: True})
            # Closing (not rolling back) ends the read transaction without expiring the
            # loaded rows, so callers can use them after the session is gone.
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a shared, group-committed transaction; returns once it is committed."""
        if getattr(self._local, "depth", 0):
            # Called from inside a transaction: the writer could be waiting for the very lock
            # this thread holds, so this work gets a transaction of its own, as it would have.
            with self.transaction() as session:
                return work(session)
        return self._group_commit.submit(work).result()

    async def write_async(self, work: Callable[[Session], T]) -> T:
        """``write`` for the event loop: waits for the commit without holding a thread."""
        return await asyncio.wrap_future(self._group_commit.submit(work))

    def for_update(self) -> dict[str, Any]:
        """Options for a claim query: row locks that skip rows others hold, where supported."""
        if self.is_postgres:
            return {"with_for_update": {"skip_locked": True}}
        return {}

    def dispose(self) -> None:
        self._group_commit.stop()
        self.engine.dispose()


@dataclass
class _Job(Generic[T]):
    work: Callable[[Session], T]
    future: Future[T]


class GroupCommit:
    """One writer thread that runs concurrent units of work in one transaction and commits once.

    Why: a webhook's own work is a few small statements, while each transaction pays for a
    commit (a WAL fsync on PostgreSQL) and, on SQLite, for taking the single write lock, which
    many request threads would otherwise queue for with sleeps. Here whatever work arrived while
    the previous batch ran is done in the next transaction, back to back.

    Guarantees kept: a caller's future resolves only after the commit that contains its work
    (so a webhook is acknowledged only once it is durable), after-commit events fire after that
    commit, and one failing unit never takes the others down: if a batch fails, nothing of it
    was committed and every unit is run again in a transaction of its own, so each caller gets
    its own result or its own exception.
    """

    MAX_BATCH = 64

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def submit(self, work: Callable[[Session], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the database is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="crocevia-group-commit", daemon=True)
                self._thread.start()
            self._queue.put(_Job(work, future))
        return future

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)  # after the jobs already queued: they are still committed
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch: list[_Job[Any]] = [job]
            stopping = False
            while len(batch) < self.MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[_Job[Any]]) -> None:
        batch = [j for j in batch if j.future.set_running_or_notify_cancel()]
        if len(batch) > 1:
            shared: list[Session] = []
            try:
                with self._db.transaction() as session:
                    shared.append(session)
                    results = [j.work(session) for j in batch]
            except Exception as exc:
                if shared and shared[0].info.get(COMMITTED):
                    # Committed, and only what runs after the commit (handing events over)
                    # failed: every caller gets the error, as a transaction of its own would
                    # have given it, and nothing is run twice.
                    for j in batch:
                        j.future.set_exception(exc)
                    return
                log.debug("group commit of %d units failed; running them one by one", len(batch), exc_info=True)
            else:
                for j, result in zip(batch, results, strict=True):
                    j.future.set_result(result)
                return
        for j in batch:
            self._commit_alone(j)

    def _commit_alone(self, job: _Job[Any]) -> None:
        try:
            with self._db.transaction() as session:
                result = job.work(session)
        except BaseException as exc:  # the caller gets it, whatever it is; the writer keeps going
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE so writers queue instead of deadlocking."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite, whose deferred BEGIN lets two
        # readers both try to upgrade to writers and fail with "database is locked".
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def memory_engine_kwargs() -> dict[str, Any]:
    return {"poolclass": NullPool}


def lock_for_transaction(s: Session, key: str) -> None:
    """Serialise transactions that touch ``key`` until this one ends.

    For check-then-insert races between two writers that cannot see each other's uncommitted
    rows (PostgreSQL, READ COMMITTED). SQLite needs nothing: its writers already queue on
    ``BEGIN IMMEDIATE``."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
