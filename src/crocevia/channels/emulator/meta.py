"""Emulator of Meta's Graph API for WhatsApp Cloud API, Messenger and Instagram Messaging.

Same paths as graph.facebook.com / graph.instagram.com (the adapters' api_base points here):

    POST /{version}/{node}/messages   send: WhatsApp (node = phone number id, Bearer token),
                                      Messenger (node = page id or "me"), Instagram (node = IG id
                                      or "me"; ?access_token=...); optional appsecret_proof checked
    POST /{version}/{node}/media      WhatsApp media upload (multipart: file, type, messaging_product)
    GET  /{version}/{node}            WhatsApp media info ({url, mime_type, sha256, file_size, id}),
                                      or the account itself (test_connection)
    GET  /whatsapp_business/attachments/?mid=...   the media download URL (Bearer token required)

Accounts come from ``POST /_emulator/accounts/{whatsapp|messenger|instagram}`` with
``account_id`` (phone number id / page id / IG account id), ``access_token``, ``app_secret``,
``webhook_url`` and optionally ``waba_id``, ``display_phone_number``, ``verified_name``, ``name``,
``username``, ``allowed_recipients`` (WhatsApp test-number list → 131030), ``undeliverable``
(accepted, then a ``failed`` status with 131026), ``blocked`` (Messenger/Instagram → 551) and
``outside_window`` (Messenger/Instagram → 10/2018278 unless a message tag is used).

After a send is accepted the emulator posts status webhooks back to ``webhook_url``, signed with
``X-Hub-Signature-256`` over the raw body exactly as Meta does: WhatsApp ``statuses[]`` (sent,
then each configured status delay), Messenger ``delivery.mids`` / ``read.watermark``, Instagram
``messaging_seen`` ``read.mid`` (Instagram sends no delivery receipts).

Real Graph ignores the ``Idempotency-Key`` header; here it replays an accepted send, so tests can
prove that the adapters' retries do not double a message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.app import Emulator
from crocevia.channels.emulator.state import Fault
from crocevia.channels.meta.graph import appsecret_proof
from crocevia.channels.meta.signature import SIGNATURE_HEADER, sign
from crocevia.security import constant_time_equals

PROVIDERS = ("whatsapp", "messenger", "instagram")
_DIGITS = re.compile(r"^\d{5,20}$")
_BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?\d+$")


class _GraphVersion(Convertor[str]):
    regex = r"v\d+\.\d+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _GraphNode(Convertor[str]):
    # Graph node ids are numeric; "me" is the token's own account. Restricting the pattern keeps
    # these catch-all routes from shadowing other providers' emulators.
    regex = r"\d+|me"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("meta_graph_version", _GraphVersion())
register_url_convertor("meta_graph_node", _GraphNode())


@dataclass(frozen=True)
class _Media:
    media_id: str
    owner: str  # phone number id that uploaded it
    content: bytes
    mime_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    type_: str = "OAuthException",
    subcode: int | None = None,
    details: str | None = None,
    transient: bool | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Graph's error envelope: ``{"error": {"message", "type", "code", ..., "fbtrace_id"}}``."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if transient is not None:
        error["is_transient"] = transient
    error["fbtrace_id"] = "AEmuLatOr" + base64.urlsafe_b64encode(hashlib.sha1(message.encode()).digest()[:9]).decode()
    return JSONResponse({"error": error}, status, headers=headers)


def _fault_response(provider: str) -> Callable[[Fault], Response]:
    def respond(fault: Fault) -> Response:
        headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else None
        if fault.body is not None:
            return JSONResponse(fault.body, fault.status, headers=headers)
        if fault.status == 429:
            if provider == "whatsapp":
                return graph_error(
                    429,
                    130429,
                    "(#130429) Rate limit hit",
                    headers=headers,
                    details="Cloud API message throughput has been reached.",
                )
            return graph_error(429, 613, "(#613) Calls to this api have exceeded the rate limit.", headers=headers)
        if fault.status >= 500:
            return graph_error(fault.status, 2, "Service temporarily unavailable", transient=True, headers=headers)
        return graph_error(fault.status, 100, "(#100) Invalid parameter", headers=headers)

    return respond


def routes(emu: Emulator) -> list[BaseRoute]:
    media: dict[str, _Media] = {}
    media_lock = threading.Lock()

    # -- helpers -----------------------------------------------------------------------
    def token_of(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return request.query_params.get("access_token", "")

    def accounts_of(provider: str) -> list[dict[str, Any]]:
        with emu.state.lock:
            return list(emu.state.accounts.get(provider, {}).values())

    def resolve(providers: tuple[str, ...], node: str, token: str) -> tuple[str, dict[str, Any]] | None:
        for provider in providers:
            for account in accounts_of(provider):
                if node == "me" and account.get("access_token") == token:
                    return provider, account
                if str(account.get("account_id")) == node:
                    return provider, account
        return None

    def auth_error(request: Request, account: dict[str, Any]) -> Response | None:
        token = token_of(request)
        if not token or not constant_time_equals(token, str(account.get("access_token", ""))):
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        proof = request.query_params.get("appsecret_proof")
        secret = str(account.get("app_secret", ""))
        if proof is not None and secret and not constant_time_equals(proof, appsecret_proof(secret, token)):
            return graph_error(
                400, 100, "Invalid appsecret_proof provided in the API argument", type_="GraphMethodException"
            )
        if proof is None and account.get("require_appsecret_proof"):
            return graph_error(400, 100, "API calls from the server require an appsecret_proof argument")
        return None

    def deliver(account: dict[str, Any], payload: dict[str, Any], delay: float) -> None:
        url = account.get("webhook_url")
        if not url:
            return
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            SIGNATURE_HEADER: sign(str(account.get("app_secret", "")), body),
        }
        emu.spawn(emu.post_later(delay, str(url), content=body, headers=headers))

    def stages() -> list[tuple[str, float]]:
        with emu.state.lock:
            return sorted(emu.state.status_delays.items(), key=lambda kv: kv[1])

    # -- WhatsApp send -------------------------------------------------------------------
    async def whatsapp_send(request: Request, account: dict[str, Any], body: dict[str, Any]) -> Response:
        provider = "whatsapp"
        if body.get("status") == "read" and body.get("message_id"):
            emu.record_other(provider, request, body, "read")
            return JSONResponse({"success": True})
        problem = _check_whatsapp(body, account)
        if problem is not None:
            emu.record_other(provider, request, body, "rejected")
            return problem
        recipient = str(body.get("to") or body.get("recipient"))

        def make() -> dict[str, Any]:
            wamid = "wamid." + base64.b64encode(emu.state.next_id("EMU").encode()).decode()
            return {"id": wamid, "to": recipient, "account_id": account["account_id"], "body": body}

        def respond(accepted: dict[str, Any]) -> Response:
            key = "to" if body.get("to") else "recipient"
            sent: dict[str, Any] = {"id": accepted["id"]}
            if body.get("type") == "template":
                sent["message_status"] = "accepted"
            contact = (
                {"input": recipient, "wa_id": recipient} if key == "to" else {"input": recipient, "user_id": recipient}
            )
            return JSONResponse({"messaging_product": "whatsapp", "contacts": [contact], "messages": [sent]})

        async def callbacks(accepted: dict[str, Any]) -> None:
            plan = [("sent", 0.0), *stages()]
            if recipient in account.get("undeliverable", []):
                plan = [("failed", 0.0)]
            for status, delay in plan:
                deliver(account, _whatsapp_status(account, accepted["id"], recipient, status), delay)

        return await emu.accept_send(
            request,
            provider=provider,
            body=body,
            make_accepted=make,
            respond=respond,
            idempotency_key=request.headers.get("idempotency-key"),
            fault_response=_fault_response(provider),
            after_accept=callbacks if account.get("webhook_url") else None,
        )

    # -- Messenger / Instagram send ------------------------------------------------------
    async def messaging_send(
        request: Request, provider: str, account: dict[str, Any], body: dict[str, Any]
    ) -> Response:
        problem = _check_messaging(body, account, provider)
        if problem is not None:
            emu.record_other(provider, request, body, "rejected")
            return problem
        recipient = str(body["recipient"]["id"])
        prefix = "m_EMU" if provider == "messenger" else "aWdfZAG1faXRlbToxOkVNVQ"

        def make() -> dict[str, Any]:
            return {
                "id": emu.state.next_id(prefix),
                "to": recipient,
                "account_id": account["account_id"],
                "body": body,
            }

        async def callbacks(accepted: dict[str, Any]) -> None:
            for status, delay in stages():
                item = _messaging_status(provider, account, accepted["id"], recipient, status)
                if item is not None:
                    obj = "page" if provider == "messenger" else "instagram"
                    entry = {"id": str(account["account_id"]), "time": _now_ms(), "messaging": [item]}
                    deliver(account, {"object": obj, "entry": [entry]}, delay)

        return await emu.accept_send(
            request,
            provider=provider,
            body=body,
            make_accepted=make,
            respond=lambda a: JSONResponse({"recipient_id": a["to"], "message_id": a["id"]}),
            idempotency_key=request.headers.get("idempotency-key"),
            fault_response=_fault_response(provider),
            after_accept=callbacks if account.get("webhook_url") else None,
        )

    # -- routes --------------------------------------------------------------------------
    async def send(request: Request) -> Response:
        node = request.path_params["node"]
        body = await _read_body(request)
        if not isinstance(body, dict):
            return graph_error(400, 100, "(#100) The request body must be a JSON object")
        is_whatsapp = body.get("messaging_product") == "whatsapp"
        providers: tuple[str, ...] = ("whatsapp",) if is_whatsapp else ("messenger", "instagram")
        found = resolve(providers, node, token_of(request))
        if found is None:
            emu.record_other(providers[0], request, body, "rejected")
            return graph_error(
                400,
                100,
                f"Unsupported post request. Object with ID '{node}' does not exist, cannot "
                "be loaded due to missing permissions, or does not support this operation.",
                type_="GraphMethodException",
                subcode=33,
            )
        provider, account = found
        problem = auth_error(request, account)
        if problem is not None:
            emu.record_other(provider, request, body, "rejected")
            return problem
        if is_whatsapp:
            return await whatsapp_send(request, account, body)
        return await messaging_send(request, provider, account, body)

    async def upload(request: Request) -> Response:
        node = request.path_params["node"]
        account = emu.account("whatsapp", node)
        if account is None:
            return graph_error(
                400,
                100,
                f"Unsupported post request. Object with ID '{node}' does not exist.",
                type_="GraphMethodException",
                subcode=33,
            )
        problem = auth_error(request, account)
        if problem is not None:
            return problem
        form = await request.form()
        upload_file = form.get("file")
        if form.get("messaging_product") != "whatsapp" or upload_file is None or isinstance(upload_file, str):
            return graph_error(400, 100, "(#100) The parameters messaging_product and file are required.")
        content = await upload_file.read()
        mime = str(form.get("type") or upload_file.content_type or "application/octet-stream")
        media_id = str(900_000_000_000_000 + int(emu.state.next_id("")))
        with media_lock:
            media[media_id] = _Media(media_id, node, content, mime)
        emu.record_other("whatsapp", request, {"type": mime, "size": len(content)}, "uploaded")
        return JSONResponse({"id": media_id})

    async def node_info(request: Request) -> Response:
        node = request.path_params["node"]
        with media_lock:
            item = media.get(node)
        if item is not None:
            account = emu.account("whatsapp", item.owner) or {}
            problem = auth_error(request, account)
            if problem is not None:
                return problem
            emu.record_other("whatsapp", request, None, "media_info")
            base = str(request.base_url).rstrip("/")
            url = f"{base}/whatsapp_business/attachments/?mid={item.media_id}&ext={int(time.time())}&hash=emu"
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "url": url,
                    "mime_type": item.mime_type,
                    "sha256": item.sha256,
                    "file_size": len(item.content),
                    "id": item.media_id,
                }
            )
        found = resolve(PROVIDERS, node, token_of(request))
        if found is None:
            return graph_error(
                400,
                100,
                f"Unsupported get request. Object with ID '{node}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                type_="GraphMethodException",
                subcode=33,
            )
        provider, account = found
        problem = auth_error(request, account)
        if problem is not None:
            return problem
        account_id = str(account["account_id"])
        if provider == "whatsapp":
            return JSONResponse(
                {
                    "display_phone_number": account.get("display_phone_number", "+1 555-078-3881"),
                    "verified_name": account.get("verified_name", "Emulated Business"),
                    "id": account_id,
                }
            )
        if provider == "messenger":
            return JSONResponse({"name": account.get("name", "Emulated Page"), "id": account_id})
        return JSONResponse(
            {
                "username": account.get("username", "emulated.business"),
                "user_id": account_id,
                "id": account_id,
            }
        )

    async def download(request: Request) -> Response:
        with media_lock:
            item = media.get(request.query_params.get("mid", ""))
        if item is None:
            return Response(b"Not Found", 404)
        account = emu.account("whatsapp", item.owner) or {}
        token = token_of(request)
        # The URL alone is not enough: Meta requires the same Bearer token to download.
        if not token or not constant_time_equals(token, str(account.get("access_token", ""))):
            emu.record_other("whatsapp", request, None, "download_refused")
            return Response(b"Unauthorized", 401)
        emu.record_other("whatsapp", request, None, "downloaded")
        return Response(item.content, media_type=item.mime_type)

    return [
        Route("/{version:meta_graph_version}/{node:meta_graph_node}/messages", send, methods=["POST"]),
        Route("/{version:meta_graph_version}/{node:meta_graph_node}/media", upload, methods=["POST"]),
        Route("/{version:meta_graph_version}/{node:meta_graph_node}", node_info, methods=["GET"]),
        Route("/whatsapp_business/attachments/", download, methods=["GET"]),
    ]


async def _read_body(request: Request) -> Any:
    """Graph takes JSON, or form fields whose values are JSON-encoded (as the official
    facebook-business SDK and many Ruby/PHP clients send them)."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        return {key: _maybe_json(str(value)) for key, value in form.items()}
    try:
        return await request.json()
    except ValueError:
        return None


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


# -- request checks (the subset of Graph's validation that adapters can get wrong) ---------
def _check_whatsapp(body: dict[str, Any], account: dict[str, Any]) -> Response | None:
    to = str(body.get("to") or "")
    recipient = str(body.get("recipient") or "")
    if not to and not recipient:
        return graph_error(400, 100, "(#100) The parameter to is required.")
    if body.get("recipient_type", "individual") == "individual":
        if to and not _DIGITS.match(to):
            return graph_error(400, 100, "(#100) Invalid parameter", details=f"Invalid phone number {to!r}")
        if recipient and not _BSUID.match(recipient):
            return graph_error(
                400, 100, "(#100) Invalid parameter", details=f"Invalid business-scoped user id {recipient!r}"
            )
    allowed = account.get("allowed_recipients")
    if allowed is not None and (to or recipient) not in allowed:
        return graph_error(
            400,
            131030,
            "(#131030) Recipient phone number not in allowed list",
            details="Recipient phone number not in allowed list: "
            "Add recipient phone number to recipient list and try again.",
        )
    mtype = body.get("type", "text")
    part = body.get(mtype)
    expected = list if mtype == "contacts" else dict
    if mtype not in (
        "text",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "template",
        "reaction",
    ) or not isinstance(part, expected):
        return graph_error(400, 100, f"(#100) Param {mtype} is required for messages of type {mtype}")
    if mtype == "text":
        text = str(part.get("body", "")) if isinstance(part, dict) else ""
        if not text or len(text) > 4096:
            return graph_error(400, 100, "(#100) Param text['body'] must be between 1 and 4096 characters long.")
    is_media = mtype in ("image", "video", "audio", "document", "sticker")
    if is_media and isinstance(part, dict) and not part.get("link") and not part.get("id"):
        return graph_error(400, 100, f"(#100) Param {mtype} must have either link or id")
    if mtype == "template" and isinstance(part, dict):
        language = part.get("language")
        if not part.get("name") or not isinstance(language, dict) or not language.get("code"):
            return graph_error(400, 100, "(#100) Param template['name'] and template['language']['code'] are required.")
    if mtype == "interactive" and isinstance(part, dict):
        return _check_interactive(part)
    return None


def _check_interactive(part: dict[str, Any]) -> Response | None:
    raw_action = part.get("action")
    action: dict[str, Any] = raw_action if isinstance(raw_action, dict) else {}
    text = str((part.get("body") or {}).get("text", "")) if isinstance(part.get("body"), dict) else ""
    if not text or len(text) > 1024:
        return graph_error(
            400,
            131009,
            "(#131009) Parameter value is not valid",
            details="body text must be 1-1024 characters",
        )
    if part.get("type") == "button":
        buttons = action.get("buttons") or []
        titles = [str((b.get("reply") or {}).get("title", "")) for b in buttons if isinstance(b, dict)]
        if not 1 <= len(buttons) <= 3 or any(not t or len(t) > 20 for t in titles):
            return graph_error(
                400,
                131009,
                "(#131009) Parameter value is not valid",
                details="buttons: 1 to 3 reply buttons, titles of at most 20 characters",
            )
    elif part.get("type") == "list":
        rows = [r for s in action.get("sections") or [] if isinstance(s, dict) for r in s.get("rows") or []]
        label = str(action.get("button", ""))
        if (
            not 1 <= len(rows) <= 10
            or not label
            or len(label) > 20
            or any(len(str(r.get("title", ""))) > 24 for r in rows)
        ):
            return graph_error(
                400,
                131009,
                "(#131009) Parameter value is not valid",
                details="list: 1 to 10 rows with titles of at most 24 characters, button label at most 20",
            )
    return None


def _check_messaging(body: dict[str, Any], account: dict[str, Any], provider: str) -> Response | None:
    recipient = body.get("recipient")
    rid = str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
    if not rid:
        return graph_error(400, 100, "(#100) The parameter recipient is required")
    message = body.get("message")
    if not isinstance(message, dict) and not body.get("sender_action"):
        return graph_error(400, 100, "(#100) Must send either message or sender action")
    messaging_type = body.get("messaging_type")
    if messaging_type not in (None, "RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return graph_error(400, 100, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    if messaging_type == "MESSAGE_TAG" and not body.get("tag"):
        return graph_error(400, 100, "(#100) Param tag is required when messaging_type is MESSAGE_TAG")
    if not _DIGITS.match(rid):
        return graph_error(400, 100, "(#100) No matching user found", subcode=2018001)
    if rid in account.get("blocked", []):
        return graph_error(400, 551, "This person isn't available right now.", subcode=1545041)
    if rid in account.get("outside_window", []) and messaging_type != "MESSAGE_TAG":
        return graph_error(400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278)
    if isinstance(message, dict):
        limit = 2000 if provider == "messenger" else 1000
        if len(str(message.get("text", ""))) > limit:
            return graph_error(400, 100, f"(#100) Length of param message[text] must be less than or equal to {limit}")
        if len(message.get("quick_replies") or []) > 13:
            return graph_error(400, 100, "(#100) param message[quick_replies] must have at most 13 elements")
        payload = (message.get("attachment") or {}).get("payload") or {}
        if isinstance(payload, dict) and len(payload.get("buttons") or []) > 3:
            return graph_error(
                400, 100, "(#100) param message[attachment][payload][buttons] must have at most 3 elements"
            )
    return None


# -- status webhooks -------------------------------------------------------------------------
def _now_ms() -> int:
    return int(time.time() * 1000)


def _whatsapp_status(account: dict[str, Any], wamid: str, recipient: str, status: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if status == "failed":
        item["errors"] = [
            {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
            }
        ]
    elif status in ("sent", "delivered"):
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": account.get("display_phone_number", "15550783881"),
            "phone_number_id": str(account["account_id"]),
        },
        "statuses": [item],
    }
    waba = str(account.get("waba_id") or account["account_id"])
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"value": value, "field": "messages"}]}],
    }


def _messaging_status(
    provider: str, account: dict[str, Any], mid: str, recipient: str, status: str
) -> dict[str, Any] | None:
    """The receipt item, or None when the platform sends none for this status."""
    base: dict[str, Any] = {
        "sender": {"id": recipient},
        "recipient": {"id": str(account["account_id"])},
        "timestamp": _now_ms(),
    }
    if provider == "messenger" and status == "delivered":
        return {**base, "delivery": {"mids": [mid], "watermark": _now_ms()}}
    if provider == "messenger" and status == "read":
        return {**base, "read": {"watermark": _now_ms()}}
    if provider == "instagram" and status == "read":
        return {**base, "read": {"mid": mid}}
    return None
