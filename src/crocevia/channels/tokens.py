"""Provider access tokens cached per process (WeChat, QQ): one token per account, refreshed early."""

from __future__ import annotations

import threading
import time


class TokenCache:
    """Access tokens per (API base, app id), shared by every call in this process.

    Some platforms (WeChat) void the previous token when a new one is issued, so a process
    holds one token per account instead of fetching one per call. Tokens are dropped
    ``refresh_margin`` seconds before they expire so a call never goes out with a dying one.
    """

    def __init__(self, refresh_margin: float = 300.0) -> None:
        self.refresh_margin = refresh_margin
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    def get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
        if entry is None or time.monotonic() >= entry[1]:
            return None
        return entry[0]

    def put(self, key: tuple[str, str], token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(0.0, expires_in - self.refresh_margin))

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def discard(self, key: tuple[str, str], token: str) -> None:
        """Forget ``token`` unless another thread already replaced it with a fresher one."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] == token:
                del self._tokens[key]
