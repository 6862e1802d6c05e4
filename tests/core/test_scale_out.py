"""Scale-out mode: events cross processes through Redis; rate limits are shared through Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from crocevia.events.bus import Event, RedisEventBus
from crocevia.jobs.ratelimit import MemoryRateLimiter, RedisRateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="Redis not reachable at 127.0.0.1:6379")


@needs_redis
def test_event_published_by_one_process_reaches_subscribers_of_another() -> None:
    publisher, receiver = RedisEventBus(REDIS_URL), RedisEventBus(REDIS_URL)
    receiver.start()
    got: list[Event] = []
    receiver.add_listener(got.append)
    try:
        time.sleep(0.2)  # let the subscription register
        marker = uuid.uuid4().hex
        publisher.publish(Event(type="message.created", workspace_id=7, data={"marker": marker}))
        deadline = time.monotonic() + 5
        while not any(e.data.get("marker") == marker for e in got) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [e.workspace_id for e in got if e.data.get("marker") == marker] == [7]
    finally:
        receiver.stop()
        publisher.stop()


def test_websocket_subscribers_only_get_their_workspace() -> None:
    from crocevia.events.bus import EventBus

    async def scenario() -> list[int]:
        bus = EventBus()
        mine = bus.subscribe_queue(1)
        bus.publish(Event(type="x", workspace_id=2, data={}))
        bus.publish(Event(type="x", workspace_id=1, data={}))
        await asyncio.sleep(0.05)
        return [mine.queue.get_nowait().workspace_id for _ in range(mine.queue.qsize())]

    assert asyncio.run(scenario()) == [1]


def _starts(limiters: list[MemoryRateLimiter] | list[RedisRateLimiter], key: str, rate: float, n: int) -> list[float]:
    """When each of n sends may start, in seconds after the first (waits are computed, not slept)."""
    t0 = time.monotonic()
    return [time.monotonic() - t0 + limiters[i % len(limiters)].reserve(key, rate, burst=1.0) for i in range(n)]


def test_memory_token_bucket_keeps_the_rate() -> None:
    starts = _starts([MemoryRateLimiter()], "k", rate=10.0, n=30)
    # 10 per second: the 30th send may start no earlier than 2.9 s after the first.
    assert sum(1 for t in starts if t < 0.95) == 10
    assert starts[-1] == pytest.approx(2.9, abs=0.05)


@needs_redis
def test_redis_token_bucket_is_shared_by_two_workers() -> None:
    key = f"test:{uuid.uuid4().hex}"
    starts = _starts([RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)], key, rate=10.0, n=30)
    # Two workers together still keep to 10/s.
    assert sum(1 for t in starts if t < 0.95) == 10
    assert starts[-1] == pytest.approx(2.9, abs=0.1)
