"""What the emulator remembers: requests seen, accepted messages, faults to inject."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """Answer the next ``times`` send calls of ``provider`` with this instead of success."""

    provider: str
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    body: dict[str, Any] | None = None
    # Hold the request this long before answering (to trigger client time-outs).
    delay: float = 0.0


@dataclass
class RecordedRequest:
    provider: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    idempotency_key: str | None
    outcome: str  # "accepted", "replayed", "fault:<status>", "rejected"


@dataclass
class EmulatorState:
    requests: list[RecordedRequest] = field(default_factory=list)
    # Messages the "provider" accepted, one per idempotency key.
    accepted: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    idempotency: dict[str, dict[str, Any]] = field(default_factory=dict)
    # provider -> account id -> settings (webhook_url, secrets...)
    accounts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # How long after accepting a send the emulator reports delivered (and read), seconds.
    status_delays: dict[str, float] = field(default_factory=lambda: {"delivered": 0.05})
    # Hold every accepted send this long before answering: the provider has the message but
    # the client does not know yet (the window a crashed worker must survive).
    response_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def take_fault(self, provider: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.provider in (provider, "*") and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.accepted.clear()
            self.faults.clear()
            self.idempotency.clear()
            self.response_delay = 0.0
