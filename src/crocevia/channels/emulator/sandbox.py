"""Emulator of the sandbox provider's API, with signed delivery-status callbacks."""

from __future__ import annotations

import json
import struct
import time
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.app import Emulator
from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign

PROVIDER = "sandbox"


def tiny_png() -> bytes:
    """A valid 1×1 PNG, made here rather than shipped as a binary fixture."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xd0\x30\x30")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def routes(emu: Emulator) -> list[BaseRoute]:
    def _authorized(request: Request) -> dict[str, Any] | None:
        account = emu.account(PROVIDER, request.path_params["account_id"])
        if account is None:
            return None
        auth = request.headers.get("authorization", "")
        return account if auth == f"Bearer {account.get('api_key')}" else None

    async def send(request: Request) -> Response:
        account = _authorized(request)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, 400)
        if account is None:
            emu.record_other(PROVIDER, request, body, "rejected")
            return JSONResponse({"error": "unknown account or bad api key"}, 401)
        if not body.get("to"):
            emu.record_other(PROVIDER, request, body, "rejected")
            return JSONResponse({"error": "invalid recipient", "code": "invalid_recipient"}, 400)

        def make() -> dict[str, Any]:
            return {"id": emu.state.next_id("sbx_"), "to": body["to"], "body": body}

        async def callbacks(accepted: dict[str, Any]) -> None:
            for status, delay in sorted(emu.state.status_delays.items(), key=lambda kv: kv[1]):
                payload = json.dumps(
                    {"events": [{"type": "status", "message_id": accepted["id"], "status": status,
                                 "timestamp": int(time.time())}]}
                ).encode()
                emu.spawn(
                    emu.post_later(
                        delay,
                        account["webhook_url"],
                        content=payload,
                        headers={"Content-Type": "application/json",
                                 SIGNATURE_HEADER: sign(account["webhook_secret"], payload)},
                    )
                )

        return await emu.accept_send(
            request,
            provider=PROVIDER,
            body=body,
            make_accepted=make,
            respond=lambda a: JSONResponse({"id": a["id"]}, 201),
            idempotency_key=request.headers.get("idempotency-key"),
            after_accept=callbacks if account.get("webhook_url") else None,
        )

    async def account_info(request: Request) -> Response:
        account = _authorized(request)
        if account is None:
            return JSONResponse({"error": "unknown account or bad api key"}, 401)
        return JSONResponse({"account_id": account["account_id"]})

    async def media(request: Request) -> Response:
        emu.record_other(PROVIDER, request, None, "media")
        return Response(tiny_png(), media_type="image/png")

    return [
        Route("/sandbox/v1/media/{media_id}", media),
        Route("/sandbox/v1/accounts/{account_id}/messages", send, methods=["POST"]),
        Route("/sandbox/v1/accounts/{account_id}", account_info),
    ]
