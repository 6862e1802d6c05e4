"""Build webhook requests exactly as Meta sends them (for the channels' testkits and tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.meta.signature import SIGNATURE_HEADER, sign


def meta_signed_request(body: bytes, cfg: ChannelConfig) -> WebhookRequest:
    """A POST of ``body`` with the headers Meta's webhook delivery sets."""
    return WebhookRequest(
        method="POST",
        url=cfg.webhook_url,
        headers={
            "content-type": "application/json",
            "user-agent": "facebookexternalua",
            SIGNATURE_HEADER.lower(): sign(str(cfg.credentials["app_secret"]), body),
        },
        query={},
        body=body,
    )


def challenge_request(cfg: ChannelConfig, verify_token: str, challenge: str = "1158201444") -> WebhookRequest:
    """The GET Meta sends when the callback URL is saved in the App Dashboard."""
    query = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    return WebhookRequest(
        method="GET",
        url=f"{cfg.webhook_url}?{urlencode(query)}",
        headers={"user-agent": "facebookplatform/1.0 (+http://developers.facebook.com)"},
        query=query,
        body=b"",
    )


class WebhookCollector:
    """A stand-in for the hub's webhook route: an ASGI app that keeps every request it receives,
    raw, so tests can run the adapter's own verify/parse on what the emulator really sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[WebhookRequest] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        with self._lock:
            self._seen.append(WebhookRequest(scope["method"], scope["path"], headers, query, body))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"EVENT_RECEIVED"})

    def requests(self) -> list[WebhookRequest]:
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[WebhookRequest]:
        """Block until ``count`` webhooks arrived (or the timeout passed); return what came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.requests()
            if len(seen) >= count:
                return seen
            time.sleep(0.02)
        return self.requests()


@dataclass
class EmulatorHandle:
    """One provider's view of a running emulator, for tests: set up the account, inject faults,
    read back the requests the emulator recorded."""

    provider: str
    url: str
    http: httpx.Client
    cfg: ChannelConfig
    hook: WebhookCollector
    hook_url: str
    account_defaults: dict[str, Any] = field(default_factory=dict)

    def account(self, **extra: Any) -> None:
        body = {**self.account_defaults, **extra}
        self.http.post(f"{self.url}/_emulator/accounts/{self.provider}", json=body).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.http.get(
            f"{self.url}/_emulator/requests", params={"provider": self.provider}
        ).json()
        return rows

    def sends(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["path"].endswith("/messages")]

    def accepted(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.http.get(
            f"{self.url}/_emulator/accepted", params={"provider": self.provider}
        ).json()
        return rows

    def fault(self, **fault: Any) -> None:
        self.http.post(f"{self.url}/_emulator/faults", json={"provider": self.provider, **fault}).raise_for_status()

    def reset(self, status_delays: dict[str, float]) -> None:
        self.http.post(f"{self.url}/_emulator/reset").raise_for_status()
        self.http.post(f"{self.url}/_emulator/status-delays", json=status_delays).raise_for_status()
        self.hook.clear()
        self.account()


def structural_mutations(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every variant of ``data`` with one node replaced by a value of the wrong type (or removed),
    named by its path: robustness tests feed these to parsers, which must answer with events or
    ``ValidationFailed`` and never crash."""
    replacements: tuple[Any, ...] = (None, 7, "x", [], {}, [1], {"k": 1})
    children: list[tuple[Any, Any]] = []
    if isinstance(data, dict):
        children = list(data.items())
    elif isinstance(data, list):
        children = list(enumerate(data))
    for key, value in children:
        where = (*path, key)
        for replacement in replacements:
            if replacement != value:
                yield "/".join(map(str, where)) + f"={replacement!r}", _replaced(data, key, replacement)
        if isinstance(data, dict):
            yield "/".join(map(str, where)) + " removed", {k: v for k, v in data.items() if k != key}
        for name, variant in structural_mutations(value, where):
            yield name, _replaced(data, key, variant)


def _replaced(container: Any, key: Any, value: Any) -> Any:
    if isinstance(container, dict):
        return {**container, key: value}
    copy = list(container)
    copy[key] = value
    return copy
