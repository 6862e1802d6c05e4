"""Engine and sessions: SQLite (WAL) embedded, PostgreSQL when scaled out.

Every difference between the two engines lives here (as Synapse keeps its engines in one
place): connection pragmas, how a write transaction starts, and row locking for claims.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
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
ItemT = TypeVar("ItemT")
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
        self.checkpointer: WalCheckpointer | None = None
        if self.is_sqlite and _sqlite_file(url):
            self.checkpointer = WalCheckpointer(_sqlite_file(url))
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

    def write_many(self, work: Callable[[Session, list[ItemT]], list[T]], item: ItemT) -> T:
        """``write`` for work that is cheaper done for many callers at once (see write_many_async)."""
        if getattr(self._local, "depth", 0):
            with self.transaction() as session:
                return work(session, [item])[0]
        return self._group_commit.submit_many(work, item).result()

    async def write_async(self, work: Callable[[Session], T]) -> T:
        """``write`` for the event loop: waits for the commit without holding a thread."""
        return await asyncio.wrap_future(self._group_commit.submit(work))

    async def write_many_async(self, work: Callable[[Session, list[ItemT]], list[T]], item: ItemT) -> T:
        """``write_async`` for work that is cheaper done for many callers at once.

        Every caller whose ``item`` lands in the same group commit with the same ``work`` is
        served by one call, ``work(session, items)``, which returns one result per item, in
        order. If that batch fails, each item is run again alone (``work(session, [item])``),
        as any unit of a failed group commit is, so each caller gets its own result or error.
        """
        return await self._group_commit.submit_many_async(work, item)

    def for_update(self) -> dict[str, Any]:
        """Options for a claim query: row locks that skip rows others hold, where supported."""
        if self.is_postgres:
            return {"with_for_update": {"skip_locked": True}}
        return {}

    def dispose(self) -> None:
        self._group_commit.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


@dataclass
class _Job(Generic[T]):
    work: Callable[[Session], T]  # the unit alone
    future: Future[T] | None = None  # a thread waits for the outcome here...
    # ...or a task on an event loop awaits it here (set from the loop's own thread).
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[T] | None = None
    # Set for a unit that can share one call with its like (Database.write_many_async).
    many: Callable[[Session, list[Any]], list[T]] | None = None
    item: Any = None

    def wanted(self) -> bool:
        """False when the caller gave up (cancelled) before the work started."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return self.waiter is not None and not self.waiter.cancelled()


def _settle(outcomes: list[tuple[_Job[Any], bool, Any]]) -> None:
    """Hand each caller its result (ok) or exception. Callers on an event loop are woken once
    per loop and batch, not once each: a wake-up from another thread is a system call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for job, ok, value in outcomes:
        if job.future is not None:
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        elif job.loop is not None and job.waiter is not None:
            by_loop.setdefault(job.loop, []).append((job.waiter, ok, value))
    for loop, waiters in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_waiters, waiters)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            log.debug("event loop closed before %d results were handed over", len(waiters))


def _resolve_waiters(waiters: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for waiter, ok, value in waiters:
        if waiter.done():  # cancelled meanwhile
            continue
        if ok:
            waiter.set_result(value)
        else:
            waiter.set_exception(value)


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
        self._put(_Job(work, future))
        return future

    def submit_many(self, work: Callable[[Session, list[ItemT]], list[T]], item: ItemT) -> Future[T]:
        future: Future[T] = Future()
        self._put(_Job(lambda session: work(session, [item])[0], future, many=work, item=item))
        return future

    def submit_many_async(self, work: Callable[[Session, list[ItemT]], list[T]], item: ItemT) -> asyncio.Future[T]:
        """``submit_many`` for a caller on the running event loop: awaitable, no thread waits."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._put(_Job(lambda session: work(session, [item])[0], None, loop, waiter, work, item))
        return waiter

    def _put(self, job: _Job[T]) -> None:
        with self._lock:
            if self._stopped:
                raise RuntimeError("the database is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="crocevia-group-commit", daemon=True)
                self._thread.start()
                if self._db.checkpointer is not None:  # a process that writes a lot: see WalCheckpointer
                    self._db.checkpointer.start()
            self._queue.put(job)

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
        batch = [j for j in batch if j.wanted()]
        if len(batch) > 1:
            shared: list[Session] = []
            try:
                with self._db.transaction() as session:
                    shared.append(session)
                    results = _run_units(session, batch)
            except Exception as exc:
                if shared and shared[0].info.get(COMMITTED):
                    # Committed, and only what runs after the commit (handing events over)
                    # failed: every caller gets the error, as a transaction of its own would
                    # have given it, and nothing is run twice.
                    _settle([(j, False, exc) for j in batch])
                    return
                log.debug("group commit of %d units failed; running them one by one", len(batch), exc_info=True)
            else:
                _settle([(j, True, result) for j, result in zip(batch, results, strict=True)])
                return
        for j in batch:
            self._commit_alone(j)

    def _commit_alone(self, job: _Job[Any]) -> None:
        try:
            with self._db.transaction() as session:
                result = job.work(session)
        except BaseException as exc:  # the caller gets it, whatever it is; the writer keeps going
            _settle([(job, False, exc)])
        else:
            _settle([(job, True, result)])


def _run_units(session: Session, batch: list[_Job[Any]]) -> list[Any]:
    """Run a batch's units in one transaction, in arrival order; units sharing a ``many`` are
    served together by one call, where the first of them arrived."""
    results: list[Any] = [None] * len(batch)
    done: set[int] = set()
    for index, job in enumerate(batch):
        if index in done:
            continue
        if job.many is None:
            results[index] = job.work(session)
            continue
        alike = [i for i in range(index, len(batch)) if batch[i].many is job.many]
        outcomes = job.many(session, [batch[i].item for i in alike])
        if len(outcomes) != len(alike):
            raise RuntimeError(f"{job.many!r} returned {len(outcomes)} results for {len(alike)} items")
        for i, outcome in zip(alike, outcomes, strict=True):
            results[i] = outcome
        done.update(alike)
    return results


def _sqlite_file(url: str) -> str:
    """The database file of a SQLite URL ("" for an in-memory database)."""
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return "" if not path or path == ":memory:" or "mode=memory" in url else path


# Pages the WAL may reach before a committing writer copies it back itself: a backstop, for when
# no WalCheckpointer runs or it cannot keep up (SQLite's default is 1,000 pages, about 4 MiB).
WAL_AUTOCHECKPOINT_PAGES = 16_000


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database file from a thread of its own.

    Why: by default the writer whose commit takes the log past 1,000 pages does the copy (and its
    fsync) itself, inside the commit, so one webhook batch in a dozen waited for it. A passive
    checkpoint from another connection blocks neither the writer nor readers; the writers'
    own checkpoint (``WAL_AUTOCHECKPOINT_PAGES``) only remains as a backstop.
    """

    INTERVAL = 0.25  # seconds between checkpoints while the process runs

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="crocevia-wal-checkpoint", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=5, check_same_thread=False, isolation_level=None)
        try:
            while not self._stop.wait(self.INTERVAL):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy or locked: the next round, or the backstop, copies it
                    log.debug("WAL checkpoint skipped", exc_info=True)
        finally:
            conn.close()


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
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight on the driver's connection: through exec_driver_sql this one statement cost
        # as much as a webhook batch's duplicate check.
        raw = conn.connection.dbapi_connection
        raw.execute("BEGIN" if conn.get_execution_options().get(READONLY) else "BEGIN IMMEDIATE")


def memory_engine_kwargs() -> dict[str, Any]:
    return {"poolclass": NullPool}


def lock_for_transaction(s: Session, key: str) -> None:
    """Serialise transactions that touch ``key`` until this one ends.

    For check-then-insert races between two writers that cannot see each other's uncommitted
    rows (PostgreSQL, READ COMMITTED). SQLite needs nothing: its writers already queue on
    ``BEGIN IMMEDIATE``."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
