"""Emulator of Twilio Programmable Messaging: Messages API, media, signed webhooks.

Same paths as api.twilio.com, same JSON (twilio-python's MessageInstance reads it), same
error envelope {"code", "message", "more_info", "status"}. Status callbacks go to the
message's StatusCallback URL, form-encoded and signed with X-Twilio-Signature like Twilio's.

Account settings (POST /_emulator/accounts/twilio):
    {"account_id": "AC...", "auth_token": "...",
     "sms_url": "<hub webhook for incoming messages>",         (optional; or "webhook_url")
     "unsubscribed": ["+1..."],          sends to these fail with 21610
     "undeliverable": {"+1...": 30003}}  accepted, then an "undelivered" callback with that code
Extra control routes:
    POST /_emulator/twilio/media    {"media_sid", "content_type", "content_b64"}  media to serve
    POST /_emulator/twilio/inbound  {"account_id", "from", "to", "body", "media": [media_sid...]}
                                    delivers an incoming SMS/MMS to the hub, signed
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.app import Emulator
from crocevia.channels.emulator.state import Fault
from crocevia.channels.sms.segments import count_segments
from crocevia.channels.sms.signature import SIGNATURE_HEADER, compute_signature

PROVIDER = "twilio"
API = "/2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _now() -> str:
    return format_datetime(datetime.now(UTC))  # RFC 2822, as Twilio writes dates


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def _error(code: int, message: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(error_body(code, message, status), status, headers=headers)


def signed_post_args(auth_token: str, url: str, params: list[tuple[str, str]]) -> dict[str, str]:
    """Headers Twilio puts on a webhook to ``url`` with form ``params``."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        SIGNATURE_HEADER: compute_signature(auth_token, url, params),
    }


def routes(emu: Emulator) -> list[BaseRoute]:
    # Media the emulator can serve, per emulator instance: media_sid -> (content type, bytes).
    media_store: dict[str, tuple[str, bytes]] = {}

    def _account(request: Request) -> dict[str, Any] | None:
        """The account named in the path, when the Basic credentials match it."""
        account = emu.account(PROVIDER, request.path_params["account_sid"])
        auth = request.headers.get("authorization", "")
        if account is None or not auth.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        ok = user == account["account_id"] and password == account.get("auth_token")
        return account if ok else None

    def _fault(fault: Fault) -> Response:
        extra = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else None
        if fault.body is not None:
            return JSONResponse(fault.body, fault.status, headers=extra)
        if fault.status == 429:
            return _error(20429, "Too Many Requests", 429, extra)
        return _error(20500, "Internal Server Error", fault.status, extra)

    async def send(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        pairs = parse_qsl(raw, keep_blank_values=True)
        form = {k: v for k, v in pairs}
        media_urls = [v for k, v in pairs if k == "MediaUrl"]
        record = {"form": form, "media_urls": media_urls}
        account = _account(request)
        if account is None:
            emu.record_other(PROVIDER, request, record, "rejected")
            return _error(20003, "Authenticate", 401)
        to, body = form.get("To", ""), form.get("Body", "")
        problem: tuple[int, str] | None = None
        if not to:
            problem = (21604, "A 'To' phone number is required.")
        elif not _E164.match(to):
            problem = (21211, f"The 'To' number {to} is not a valid phone number.")
        elif not form.get("From") and not form.get("MessagingServiceSid"):
            problem = (21603, "A 'From' phone number is required.")
        elif not body and not media_urls:
            problem = (21602, "Message body is required.")
        elif len(body) > 1600:
            problem = (21617, "The concatenated message body exceeds the 1600 character limit.")
        elif to in account.get("unsubscribed", []):
            problem = (21610, "Attempt to send to unsubscribed recipient")
        if problem is not None:
            emu.record_other(PROVIDER, request, record, "rejected")
            return _error(*problem)

        def make() -> dict[str, Any]:
            via_service = bool(form.get("MessagingServiceSid"))
            now = _now()
            sid = _sid("MM" if media_urls else "SM")
            base = f"{API}/Accounts/{account['account_id']}/Messages/{sid}"
            return {
                "account_sid": account["account_id"],
                "api_version": "2010-04-01",
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From") or None,
                "messaging_service_sid": form.get("MessagingServiceSid") or None,
                "num_media": str(len(media_urls)),
                "num_segments": str(max(1, count_segments(body).segments)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                # A Messaging Service first "accepts" the message, then picks a sender.
                "status": "accepted" if via_service else "queued",
                "subresource_uris": {"media": f"{base}/Media.json"},
                "to": to,
                "uri": f"{base}.json",
                "status_callback": form.get("StatusCallback", ""),
            }

        async def callbacks(accepted: dict[str, Any]) -> None:
            url = accepted.get("status_callback") or ""
            if not url:
                return
            final_delay = emu.state.status_delays.get("delivered", 0.05)
            code = account.get("undeliverable", {}).get(accepted["to"])
            steps: list[tuple[float, str, list[tuple[str, str]]]] = [(final_delay / 2, "sent", [])]
            if code is not None:
                steps.append((final_delay, "undelivered", [("ErrorCode", str(code))]))
            else:
                steps.append((final_delay, "delivered", []))
            # One after the other, as Twilio reports a message's progress: never out of order.
            waited = 0.0
            for delay, status, extra in steps:
                params = [("SmsSid", accepted["sid"]), ("SmsStatus", status), ("MessageStatus", status),
                          *extra, ("To", accepted["to"])]
                if accepted["messaging_service_sid"]:
                    params.append(("MessagingServiceSid", accepted["messaging_service_sid"]))
                params += [("MessageSid", accepted["sid"]), ("AccountSid", accepted["account_sid"]),
                           ("From", accepted["from"] or "+15005550006"), ("ApiVersion", "2010-04-01")]
                content = urlencode(params).encode()
                await emu.post_later(delay - waited, url, content=content,
                                     headers=signed_post_args(account["auth_token"], url, params))
                waited = delay

        def respond(accepted: dict[str, Any]) -> Response:
            public = {k: v for k, v in accepted.items() if k not in ("provider", "status_callback")}
            return JSONResponse(public, 201)

        return await emu.accept_send(
            request,
            provider=PROVIDER,
            body=record,
            make_accepted=make,
            respond=respond,
            idempotency_key=request.headers.get("i-twilio-idempotency-token"),
            fault_response=_fault,
            after_accept=callbacks,
        )

    async def account_info(request: Request) -> Response:
        account = _account(request)
        if account is None:
            return _error(20003, "Authenticate", 401)
        sid = account["account_id"]
        return JSONResponse({"sid": sid, "friendly_name": account.get("friendly_name", "Emulated account"),
                             "status": "active", "type": "Full", "date_created": _now(),
                             "uri": f"{API}/Accounts/{sid}.json"})

    async def media(request: Request) -> Response:
        account = emu.account(PROVIDER, request.path_params["account_sid"])
        # Like "Enforce HTTP Auth on Media URLs": on unless the account turns it off.
        if account is None or (account.get("media_auth", True) and _account(request) is None):
            return _error(20003, "Authenticate", 401)
        media_sid = request.path_params["media_sid"]
        if media_sid not in media_store:
            return _error(20404, f"The requested resource {request.url.path} was not found", 404)
        # Twilio answers with a redirect to short-lived storage; so does the emulator.
        return RedirectResponse(f"/_emulator/twilio/media-content/{media_sid}", 307)

    async def media_content(request: Request) -> Response:
        item = media_store.get(request.path_params["media_sid"])
        if item is None:
            return Response(b"not found", 404)
        return Response(item[1], 200, media_type=item[0])

    async def seed_media(request: Request) -> Response:
        data = await request.json()
        content = base64.b64decode(data["content_b64"])
        media_store[str(data["media_sid"])] = (str(data["content_type"]), content)
        return JSONResponse({"ok": True}, 201)

    async def inbound(request: Request) -> Response:
        data = await request.json()
        account = emu.account(PROVIDER, str(data["account_id"]))
        if account is None:
            return JSONResponse({"error": "unknown account"}, 404)
        url = account.get("sms_url") or account.get("webhook_url")
        if not url:
            return JSONResponse({"error": "account has no sms_url"}, 400)
        media_sids = list(data.get("media", []))
        sid = _sid("MM" if media_sids else "SM")
        body = str(data.get("body", ""))
        params: list[tuple[str, str]] = [
            ("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", str(len(media_sids))), ("SmsSid", sid),
            ("SmsStatus", "received"), ("Body", body), ("To", str(data["to"])),
            ("NumSegments", str(max(1, count_segments(body).segments))), ("MessageSid", sid),
            ("AccountSid", account["account_id"]), ("From", str(data["from"])), ("ApiVersion", "2010-04-01"),
        ]
        for i, media_sid in enumerate(media_sids):
            content_type = media_store.get(media_sid, ("application/octet-stream", b""))[0]
            params += [(f"MediaContentType{i}", content_type),
                       (f"MediaUrl{i}", f"https://api.twilio.com{API}/Accounts/{account['account_id']}"
                                        f"/Messages/{sid}/Media/{media_sid}")]
        resp = await emu.http.post(url, content=urlencode(params).encode(),
                                   headers=signed_post_args(account["auth_token"], url, params))
        return JSONResponse({"message_sid": sid, "hub_status": resp.status_code, "hub_body": resp.text})

    return [
        Route(f"{API}/Accounts/{{account_sid}}/Messages.json", send, methods=["POST"]),
        Route(f"{API}/Accounts/{{account_sid}}.json", account_info, methods=["GET"]),
        Route(f"{API}/Accounts/{{account_sid}}/Messages/{{message_sid}}/Media/{{media_sid}}", media,
              methods=["GET"]),
        Route("/_emulator/twilio/media-content/{media_sid}", media_content, methods=["GET"]),
        Route("/_emulator/twilio/media", seed_media, methods=["POST"]),
        Route("/_emulator/twilio/inbound", inbound, methods=["POST"]),
    ]
