"""A Stripe-compatible checkout emulator for tests and the demo (mounted in the channel emulator).

    POST /v1/checkout/sessions               create a checkout (form-encoded, Bearer secret key,
                                             Idempotency-Key replays the same session)
    GET  /checkout/{id}                      the page the customer opens
    POST /_emulator/stripe/pay/{id}          the customer pays: a signed checkout.session.completed
                                             webhook goes to the account's webhook_url
Accounts: POST /_emulator/accounts/stripe {"account_id", "api_key", "webhook_secret", "webhook_url"}.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.app import Emulator
from crocevia.payments.provider import SIGNATURE_HEADER, stripe_signature

PROVIDER = "stripe"


def routes(emu: Emulator) -> list[BaseRoute]:
    sessions: dict[str, dict[str, Any]] = {}

    def _account(request: Request) -> dict[str, Any] | None:
        auth = request.headers.get("authorization", "")
        for acct in emu.state.accounts.get(PROVIDER, {}).values():
            if auth == f"Bearer {acct.get('api_key')}":
                return acct
        return None

    async def create(request: Request) -> Response:
        form = dict(await request.form())
        account = _account(request)
        if account is None:
            emu.record_other(PROVIDER, request, form, "rejected")
            return JSONResponse({"error": {"message": "Invalid API Key provided"}}, 401)
        amount = str(form.get("line_items[0][price_data][unit_amount]", ""))
        if not amount.isdigit():
            emu.record_other(PROVIDER, request, form, "rejected")
            return JSONResponse({"error": {"message": "Missing unit_amount", "param": "line_items"}}, 400)

        def make() -> dict[str, Any]:
            sid = emu.state.next_id("cs_test_")
            session = {"id": sid, "object": "checkout.session", "url": f"{request.base_url}checkout/{sid}",
                       "amount_total": int(amount), "currency": form.get("line_items[0][price_data][currency]"),
                       "client_reference_id": form.get("client_reference_id"), "payment_status": "unpaid",
                       "metadata": {"order_id": form.get("metadata[order_id]")}, "account": account["account_id"]}
            sessions[sid] = session
            return session

        return await emu.accept_send(request, provider=PROVIDER, body=form, make_accepted=make,
                                     respond=lambda a: JSONResponse(
                                         {k: v for k, v in a.items() if k not in ("provider", "account")}),
                                     idempotency_key=request.headers.get("idempotency-key"))

    async def page(request: Request) -> Response:
        s = sessions.get(request.path_params["sid"])
        if s is None:
            return HTMLResponse("<h1>Checkout not found</h1>", 404)
        return HTMLResponse(f"<h1>Pay {s['amount_total'] / 100:.2f} {str(s['currency']).upper()}</h1>"
                            f"<form method=post action='/_emulator/stripe/pay/{s['id']}'><button>Pay</button></form>")

    async def pay(request: Request) -> Response:
        s = sessions.get(request.path_params["sid"])
        if s is None:
            return JSONResponse({"error": "no such checkout session"}, 404)
        account = emu.account(PROVIDER, s["account"]) or {}
        s["payment_status"] = "paid"
        event = {"id": emu.state.next_id("evt_"), "object": "event", "type": "checkout.session.completed",
                 "created": int(time.time()),
                 "data": {"object": {k: v for k, v in s.items() if k != "account"}}}
        body = json.dumps(event).encode()
        if account.get("webhook_url"):
            emu.spawn(emu.post_later(0.0, account["webhook_url"], content=body, headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: stripe_signature(account["webhook_secret"], body)}))
        return JSONResponse({"paid": s["id"]})

    return [Route("/v1/checkout/sessions", create, methods=["POST"]),
            Route("/checkout/{sid}", page, methods=["GET"]),
            Route("/_emulator/stripe/pay/{sid}", pay, methods=["POST"])]
