"""The event bus: in-process by default, Redis pub/sub when scaled out.

Events are published only after the transaction that produced them commits (see
``Database.add_after_commit_hook``). Subscribers are asyncio queues (WebSocket connections) or
plain callables (in-process reactions). With Redis, every web process subscribes to one
channel and fans events out to its local subscribers, so a message ingested by process A
appears live on a browser connected to process B.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from crocevia.clock import utcnow

log = logging.getLogger(__name__)

REDIS_CHANNEL = "crocevia:events"


def _new_event_id() -> str:
    """A random 128-bit id in UUID hex form. Event ids only tell events apart (receivers of
    webhooks de-duplicate on them); they guard nothing, so they come from the process's
    random generator (reseeded in every forked process) rather than ``uuid4``'s system call per
    event, which cost more than building the event itself on the ingest path."""
    return f"{random.getrandbits(128):032x}"


@dataclass(frozen=True)
class Event:
    type: str
    workspace_id: int
    data: dict[str, Any]
    # Which channel (inbox) the event concerns, so live views can filter by membership.
    channel_id: int | None = None
    id: str = field(default_factory=_new_event_id)
    at: str = field(default_factory=lambda: utcnow().isoformat())

    @cached_property
    def json(self) -> str:
        """The event as JSON, built once however many live feeds it goes out on."""
        return json.dumps(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "workspace_id": self.workspace_id,
            "channel_id": self.channel_id,
            "at": self.at,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(
            type=d["type"],
            workspace_id=d["workspace_id"],
            data=d["data"],
            channel_id=d.get("channel_id"),
            id=d["id"],
            at=d["at"],
        )


Listener = Callable[[Event], None]


class _QueueSubscriber:
    def __init__(self, loop: asyncio.AbstractEventLoop, workspace_id: int) -> None:
        self.loop = loop
        self.workspace_id = workspace_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=1000)
        # Set when an event had to be dropped: the feed is no longer complete, so its reader must
        # make the browser start over (reconnect and reload) rather than carry on with a gap.
        self.overflowed = False

    def offer(self, event: Event) -> None:
        self.offer_many([event])

    def offer_many(self, events: list[Event]) -> None:
        """One wake-up of the subscriber's loop for a whole committed batch (ingest commits up to
        64 webhooks at once), not one per event."""

        def _put() -> None:
            for event in events:
                try:
                    self.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self.overflowed = True
                    return

        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_put)


class EventBus:
    """Fan-out of committed events to local subscribers (and across processes via Redis)."""

    def __init__(self) -> None:
        self._subs: list[_QueueSubscriber] = []
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    # -- publishing -------------------------------------------------------------------
    def publish_many(self, events: list[Event]) -> None:
        self.deliver_locally_many(events)

    def publish(self, event: Event) -> None:
        self.deliver_locally(event)

    def deliver_locally(self, event: Event) -> None:
        self.deliver_locally_many([event])

    def deliver_locally_many(self, events: list[Event]) -> None:
        with self._lock:
            subs = list(self._subs)
            listeners = list(self._listeners)
        for sub in subs:
            mine = [event for event in events if event.workspace_id == sub.workspace_id]
            if mine:
                sub.offer_many(mine)
        for event in events:
            self._tell_listeners(listeners, event)

    def _tell_listeners(self, listeners: list[Listener], event: Event) -> None:
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken reaction must not stop the others
                log.exception("event listener failed", extra={"event_type": event.type})

    # -- subscribing ------------------------------------------------------------------
    def subscribe_queue(self, workspace_id: int) -> _QueueSubscriber:
        sub = _QueueSubscriber(asyncio.get_running_loop(), workspace_id)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe_queue(self, sub: _QueueSubscriber) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> None:
        """Start background plumbing (nothing to do in-process)."""

    def stop(self) -> None:
        """Stop background plumbing."""


class RedisEventBus(EventBus):
    """Publishes to Redis; a reader thread delivers what any process published."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def publish(self, event: Event) -> None:
        self._redis.publish(REDIS_CHANNEL, event.json)

    def publish_many(self, events: list[Event]) -> None:
        for event in events:  # every process (this one included) gets them back from Redis
            self.publish(event)

    def start(self) -> None:
        self._pubsub.subscribe(REDIS_CHANNEL)
        self._thread = threading.Thread(target=self._read_loop, name="crocevia-redis-bus", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                msg = self._pubsub.get_message(timeout=0.5)
            except Exception:
                log.exception("redis event bus read failed; retrying")
                self._stopping.wait(1.0)
                continue
            if msg and msg.get("type") == "message":
                try:
                    self.deliver_locally(Event.from_dict(json.loads(msg["data"])))
                except (ValueError, KeyError):
                    log.warning("ignoring malformed event on %s", REDIS_CHANNEL)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=2)
        with contextlib.suppress(Exception):
            self._pubsub.close()


def make_bus(redis_url: str) -> EventBus:
    return RedisEventBus(redis_url) if redis_url else EventBus()
