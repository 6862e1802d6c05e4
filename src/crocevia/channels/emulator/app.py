"""The emulator as one Starlette app: a control API plus one route set per provider.

Control API (for tests and the demo):
    GET  /_emulator/requests?provider=P   every call seen, with its outcome
    GET  /_emulator/accepted?provider=P   messages the provider accepted (one per idempotency key)
    POST /_emulator/faults                {"provider", "status", "times", "retry_after", "delay"}
    POST /_emulator/accounts/{provider}   {"account_id", "webhook_url", ...secrets}
    POST /_emulator/status-delays         {"delivered": 0.05, "read": 0.2}
    POST /_emulator/response-delay        {"seconds": 0.3}  accept, then answer late
    POST /_emulator/reset
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.state import EmulatorState, Fault, RecordedRequest

ProviderRoutes = Callable[["Emulator"], list[BaseRoute]]


class Emulator:
    def __init__(self) -> None:
        self.state = EmulatorState()
        self._tasks: set[asyncio.Task[None]] = set()
        self.http = httpx.AsyncClient(timeout=5.0)

    async def accept_send(
        self,
        request: Request,
        *,
        provider: str,
        body: Any,
        make_accepted: Callable[[], dict[str, Any]],
        respond: Callable[[dict[str, Any]], Response],
        idempotency_key: str | None,
        fault_response: Callable[[Fault], Response] | None = None,
        after_accept: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> Response:
        """The common path of every provider's send endpoint.

        Records the call, injects a pending fault, replays an idempotent retry, or accepts
        the message and schedules its delivery callbacks.
        """
        headers = {k.lower(): v for k, v in request.headers.items()}
        fault = self.state.take_fault(provider)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            self._record(provider, request, headers, body, idempotency_key, f"fault:{fault.status}")
            if fault_response is not None:
                return fault_response(fault)
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return JSONResponse(fault.body or {"error": "injected fault"}, fault.status, headers=extra)
        with self.state.lock:
            replay = self.state.idempotency.get(idempotency_key) if idempotency_key else None
            if replay is None:
                accepted = make_accepted()
                accepted.setdefault("provider", provider)
                self.state.accepted.append(accepted)
                if idempotency_key:
                    self.state.idempotency[idempotency_key] = accepted
        if replay is not None:
            self._record(provider, request, headers, body, idempotency_key, "replayed")
            return respond(replay)
        self._record(provider, request, headers, body, idempotency_key, "accepted")
        if after_accept is not None:
            self.spawn(after_accept(accepted))
        if self.state.response_delay:
            await asyncio.sleep(self.state.response_delay)
        return respond(accepted)

    def _record(
        self, provider: str, request: Request, headers: dict[str, str], body: Any, key: str | None, outcome: str
    ) -> None:
        with self.state.lock:
            self.state.requests.append(
                RecordedRequest(provider, request.method, request.url.path, headers, body, key, outcome)
            )

    def record_other(self, provider: str, request: Request, body: Any, outcome: str) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self._record(provider, request, headers, body, None, outcome)

    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post_later(self, delay: float, url: str, *, content: bytes, headers: dict[str, str]) -> None:
        await asyncio.sleep(delay)
        # Like a real provider, the emulator gives up quietly on an unreachable hub.
        with contextlib.suppress(httpx.HTTPError):
            await self.http.post(url, content=content, headers=headers)

    def account(self, provider: str, account_id: str) -> dict[str, Any] | None:
        return self.state.accounts.get(provider, {}).get(account_id)


def _control_routes(emu: Emulator) -> list[BaseRoute]:
    state = emu.state

    async def requests(request: Request) -> Response:
        provider = request.query_params.get("provider")
        with state.lock:
            rows = [asdict(r) for r in state.requests if provider in (None, r.provider)]
        return JSONResponse(rows)

    async def accepted(request: Request) -> Response:
        provider = request.query_params.get("provider")
        with state.lock:
            rows = [a for a in state.accepted if provider in (None, a.get("provider"))]
        return JSONResponse(rows)

    async def faults(request: Request) -> Response:
        data = await request.json()
        fault = Fault(**data)
        with state.lock:
            state.faults.append(fault)
        return JSONResponse(asdict(fault), 201)

    async def accounts(request: Request) -> Response:
        data = await request.json()
        provider = request.path_params["provider"]
        with state.lock:
            state.accounts.setdefault(provider, {})[str(data["account_id"])] = data
        return JSONResponse({"ok": True}, 201)

    async def status_delays(request: Request) -> Response:
        data = await request.json()
        with state.lock:
            state.status_delays = {k: float(v) for k, v in data.items()}
        return JSONResponse(state.status_delays)

    async def response_delay(request: Request) -> Response:
        data = await request.json()
        state.response_delay = float(data.get("seconds", 0))
        return JSONResponse({"seconds": state.response_delay})

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    return [
        Route("/_emulator/requests", requests),
        Route("/_emulator/accepted", accepted),
        Route("/_emulator/faults", faults, methods=["POST"]),
        Route("/_emulator/accounts/{provider}", accounts, methods=["POST"]),
        Route("/_emulator/status-delays", status_delays, methods=["POST"]),
        Route("/_emulator/response-delay", response_delay, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]


def provider_route_sets() -> list[ProviderRoutes]:
    # One line per provider emulator.
    from crocevia.channels.emulator import meta, qq, sandbox, telegram, twilio, wechat
    from crocevia.payments import emulator as stripe  # a payment provider, not a channel

    return [sandbox.routes, telegram.routes, twilio.routes, meta.routes, wechat.routes, qq.routes, stripe.routes]


def build_emulator_app() -> Starlette:
    emu = Emulator()
    routes = _control_routes(emu)
    for route_set in provider_route_sets():
        routes += route_set(emu)
    app = Starlette(routes=routes)
    app.state.emulator = emu
    return app
