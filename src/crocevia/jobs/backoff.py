"""Exponential backoff with full jitter, never shorter than a provider's Retry-After."""

from __future__ import annotations

import random


def retry_delay(attempt: int, *, base: float, cap: float, retry_after: float | None = None,
                rng: random.Random | None = None) -> float:
    r = rng or random
    delay = r.uniform(0, min(cap, base * (2 ** max(0, attempt - 1))))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
