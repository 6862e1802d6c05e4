"""Token buckets per channel (and per chat): in memory by default, in Redis when scaled out.

``reserve`` returns how long the caller must wait before its send fits the rate; with Redis
the bucket is shared by every worker process, so N workers together keep to the limit.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class RateLimiter(Protocol):
    def reserve(self, key: str, rate: float, burst: float) -> float:
        """Take one token; return seconds to wait before using it (0 when available now)."""
        ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        # key -> (time at which the bucket is empty again: "theoretical arrival time")
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, rate: float, burst: float) -> float:
        # GCRA: equivalent to a token bucket, one number per key.
        interval = 1.0 / rate
        now = time.monotonic()
        with self._lock:
            tat = max(self._tat.get(key, now), now)
            allow_at = tat - (burst - 1) * interval
            self._tat[key] = tat + interval
        return max(0.0, allow_at - now)


_GCRA_LUA = """
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
if tat < now then tat = now end
local allow_at = tat - (burst - 1) * interval
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil((tat + interval - now) * 1000) + 1000)
local wait = allow_at - now
if wait < 0 then wait = 0 end
return tostring(wait)
"""


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_GCRA_LUA)

    def reserve(self, key: str, rate: float, burst: float) -> float:
        # Redis server time keeps every worker on one clock.
        secs, micros = self._redis.time()
        now = secs + micros / 1e6
        wait = self._script(keys=[f"crocevia:rl:{key}"], args=[now, 1.0 / rate, burst])
        return float(wait)


def make_rate_limiter(redis_url: str) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
