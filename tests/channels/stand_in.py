"""What the per-channel send tests share: a stand-in for the hub's webhook route that records
what the emulator posts, and small clients for the emulator's control API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.base import WebhookRequest
from crocevia.channels.emulator.server import serve_in_thread


@dataclass
class StandInHub:
    """Records the webhooks a provider (the emulator) posts, as the hub's route would receive them."""

    url: str = ""
    seen: list[WebhookRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, mentioning: str | None = None, timeout: float = 5.0) -> list[WebhookRequest]:
        """The requests seen once there are ``count`` of them (or the timeout passed).

        With ``mentioning`` (a message id) only requests whose body holds it count: a late
        callback of an earlier test stays out of this one."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [r for r in self.seen if mentioning is None or mentioning.encode() in r.body]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()


@contextmanager
def serve_stand_in(path: str, reply: bytes, media_type: str, methods: Sequence[str] = ("POST",),
                   extra_routes: Sequence[BaseRoute] = ()) -> Iterator[StandInHub]:
    """Serve a recording webhook route at ``path`` answering ``reply``, plus ``extra_routes``."""
    hub = StandInHub()

    async def webhook(request: Request) -> Response:
        req = WebhookRequest(method=request.method, url=str(request.url),
                             headers={k.lower(): v for k, v in request.headers.items()},
                             query=dict(request.query_params), body=await request.body())
        with hub.lock:
            hub.seen.append(req)
        return Response(reply, media_type=media_type)

    server = serve_in_thread(Starlette(routes=[Route(path, webhook, methods=list(methods)), *extra_routes]))
    hub.url = server.url
    try:
        yield hub
    finally:
        server.stop()


def recorded_calls(emulator_url: str, provider: str) -> Callable[[], list[dict[str, Any]]]:
    """A function returning every call the emulator saw for ``provider``, oldest first."""

    def fetch() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(f"{emulator_url}/_emulator/requests",
                                               params={"provider": provider}).json()
        return rows

    return fetch


def fault_injector(emulator_url: str, provider: str) -> Callable[..., None]:
    """A function making the emulator answer ``provider``'s next calls with a fault."""

    def inject(**fault: Any) -> None:
        httpx.post(f"{emulator_url}/_emulator/faults", json={"provider": provider, **fault}).raise_for_status()

    return inject
