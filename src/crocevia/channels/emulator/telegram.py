"""Emulator of the Telegram Bot API: send methods, getFile and file download, setWebhook.

Same paths as api.telegram.org (/bot<token>/<method>, /file/bot<token>/<path>), same
envelope ({"ok": true, "result": ...} or {"ok": false, "error_code", "description",
"parameters"}). Telegram has no delivery receipts, so this emulator sends none; instead it can
deliver an Update to the hub the way Telegram does (POST with X-Telegram-Bot-Api-Secret-Token).

Account settings (POST /_emulator/accounts/telegram):
    {"account_id": "<bot id, the digits before ':'>", "bot_token": "<id>:<secret>",
     "username": "my_bot", "webhook_url": "...", "secret_token": "...",   (or set by setWebhook)
     "blocked_chats": [123]}   sends there fail 403 "Forbidden: bot was blocked by the user"
Extra control routes:
    POST /_emulator/telegram/files    {"file_id", "file_path", "content_b64"}  a file getFile knows
    POST /_emulator/telegram/updates  {"account_id", "update": {...}}  deliver an Update to the hub
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.app import Emulator
from crocevia.channels.emulator.state import Fault
from crocevia.channels.telegram.adapter import SECRET_HEADER
from crocevia.channels.telegram.outbound import MAX_CALLBACK_DATA, MAX_CAPTION, MAX_TEXT, utf16_len

PROVIDER = "telegram"
# method -> the parameter that carries the file, for the send methods the emulator knows.
MEDIA_METHODS = {"sendPhoto": "photo", "sendDocument": "document", "sendVideo": "video",
                 "sendAudio": "audio", "sendVoice": "voice", "sendAnimation": "animation"}
_HTTP_PHRASES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
                 502: "Bad Gateway", 503: "Service Unavailable"}


def ok(result: Any) -> Response:
    return JSONResponse({"ok": True, "result": result})


def fail(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, code)


async def _params(request: Request) -> dict[str, Any]:
    """Bot API parameters arrive as JSON, form data (nested values JSON-encoded) or query."""
    params: dict[str, Any] = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if "application/json" in ctype:
        data = await request.json()
        if isinstance(data, dict):
            params.update(data)
    elif request.method == "POST":
        form = await request.form()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _maybe_json(value) if key in ("reply_markup", "reply_parameters", "reaction",
                                                              "allowed_updates") else value
    return params


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _chat(chat_id: Any) -> dict[str, Any] | None:
    """The chat a chat_id names; None when it cannot exist (Telegram: "chat not found")."""
    try:
        cid = int(chat_id)
    except (TypeError, ValueError):
        if isinstance(chat_id, str) and chat_id.startswith("@") and len(chat_id) > 1:
            # A public channel by @username: a stable negative id, as Telegram gives channels.
            return {"id": -1000000000000 - zlib.crc32(chat_id.encode()), "type": "channel",
                    "username": chat_id[1:]}
        return None
    return {"id": cid, "type": "private" if cid > 0 else "supergroup"}


def routes(emu: Emulator) -> list[BaseRoute]:
    files: dict[str, dict[str, Any]] = {}  # file_id -> {"file_path", "content"}
    message_ids: dict[int, itertools.count[int]] = {}  # message_id is a counter per chat

    def _bot(token: str) -> dict[str, Any] | None:
        account = emu.account(PROVIDER, token.partition(":")[0])
        return account if account is not None and account.get("bot_token") == token else None

    def _bot_user(account: dict[str, Any]) -> dict[str, Any]:
        return {"id": int(account["account_id"]), "is_bot": True,
                "first_name": account.get("first_name", "Emulated Bot"),
                "username": account.get("username", "emulated_bot")}

    def _fault(fault: Fault) -> Response:
        if fault.body is not None:
            return JSONResponse(fault.body, fault.status)
        if fault.status == 429:
            wait = int(fault.retry_after if fault.retry_after is not None else 1)
            return fail(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        return fail(fault.status, _HTTP_PHRASES.get(fault.status, "Internal Server Error"))

    def _check_send(account: dict[str, Any], method: str, p: dict[str, Any]) -> Response | None:
        if p.get("chat_id") in (None, ""):
            return fail(400, "Bad Request: chat_id is empty")
        chat = _chat(p["chat_id"])
        if chat is None:
            return fail(400, "Bad Request: chat not found")
        if chat["id"] in account.get("blocked_chats", []):
            return fail(403, "Forbidden: bot was blocked by the user")
        if method == "sendMessage":
            text = p.get("text")
            if not text:
                return fail(400, "Bad Request: message text is empty")
            if utf16_len(str(text)) > MAX_TEXT:
                return fail(400, "Bad Request: message is too long")
        if method in MEDIA_METHODS:
            if not p.get(MEDIA_METHODS[method]):
                return fail(400, f"Bad Request: there is no {MEDIA_METHODS[method]} in the request")
            if utf16_len(str(p.get("caption", ""))) > MAX_CAPTION:
                return fail(400, "Bad Request: message caption is too long")
        if method == "sendLocation" and (p.get("latitude") is None or p.get("longitude") is None):
            return fail(400, "Bad Request: latitude and longitude are required")
        markup = p.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                data = str(button.get("callback_data", ""))
                if "callback_data" in button and not 0 < len(data.encode()) <= MAX_CALLBACK_DATA:
                    return fail(400, "Bad Request: BUTTON_DATA_INVALID")
        return None

    def _message(account: dict[str, Any], method: str, p: dict[str, Any]) -> dict[str, Any]:
        chat = _chat(p["chat_id"]) or {}
        counter = message_ids.setdefault(chat["id"], itertools.count(1))
        msg: dict[str, Any] = {"message_id": next(counter), "from": _bot_user(account), "chat": chat,
                               "date": int(time.time())}
        if method == "sendMessage":
            msg["text"] = p["text"]
        elif method == "sendLocation":
            msg["location"] = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        else:
            param = MEDIA_METHODS[method]
            fid = f"emu-{param}-{msg['message_id']}-{chat['id']}"
            item = {"file_id": fid, "file_unique_id": fid[-12:]}
            msg[param] = [{**item, "width": 1280, "height": 960}] if param == "photo" else item
            if p.get("caption"):
                msg["caption"] = p["caption"]
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        return msg

    async def send(request: Request, account: dict[str, Any], method: str, p: dict[str, Any]) -> Response:
        problem = _check_send(account, method, p)
        if problem is not None:
            emu.record_other(PROVIDER, request, {"method": method, **p}, "rejected")
            return problem
        def make() -> dict[str, Any]:
            return {"method": method, "result": _message(account, method, p)}

        return await emu.accept_send(
            request,
            provider=PROVIDER,
            body={"method": method, **p},
            make_accepted=make,
            respond=lambda a: ok(a["result"]),
            idempotency_key=request.headers.get("idempotency-key"),
            fault_response=_fault,
        )

    async def bot_method(request: Request) -> Response:
        account = _bot(request.path_params["token"])
        method = request.path_params["method"]
        p = await _params(request)
        if account is None:
            emu.record_other(PROVIDER, request, {"method": method}, "rejected")
            return fail(401, "Unauthorized")
        if method in MEDIA_METHODS or method in ("sendMessage", "sendLocation"):
            return await send(request, account, method, p)
        emu.record_other(PROVIDER, request, {"method": method, **p}, "answered")
        if method == "getMe":
            return ok(_bot_user(account))
        if method == "setWebhook":
            with emu.state.lock:
                account.update(webhook_url=p.get("url", ""), secret_token=p.get("secret_token", ""),
                               allowed_updates=p.get("allowed_updates", []))
            return ok(True)
        if method == "deleteWebhook":
            with emu.state.lock:
                account["webhook_url"] = ""
            return ok(True)
        if method == "getWebhookInfo":
            return ok({"url": account.get("webhook_url", ""), "has_custom_certificate": False,
                       "pending_update_count": 0, "allowed_updates": account.get("allowed_updates", [])})
        if method == "getFile":
            item = files.get(str(p.get("file_id", "")))
            if item is None:
                return fail(400, "Bad Request: invalid file_id")
            return ok({"file_id": p["file_id"], "file_unique_id": str(p["file_id"])[-12:],
                       "file_size": len(item["content"]), "file_path": item["file_path"]})
        if method in ("answerCallbackQuery", "setMessageReaction"):
            return ok(True)
        return fail(404, "Not Found")

    async def download(request: Request) -> Response:
        if _bot(request.path_params["token"]) is None:
            return fail(401, "Unauthorized")
        path = request.path_params["file_path"]
        item = next((f for f in files.values() if f["file_path"] == path), None)
        if item is None:
            return fail(404, "Not Found")
        # Telegram serves files as octet-stream whatever they are.
        return Response(item["content"], 200, media_type="application/octet-stream")

    async def seed_file(request: Request) -> Response:
        data = await request.json()
        files[str(data["file_id"])] = {"file_path": str(data["file_path"]),
                                       "content": base64.b64decode(data["content_b64"])}
        return JSONResponse({"ok": True}, 201)

    async def deliver_update(request: Request) -> Response:
        data = await request.json()
        account = emu.account(PROVIDER, str(data["account_id"]))
        if account is None or not account.get("webhook_url"):
            return JSONResponse({"error": "unknown bot or no webhook set"}, 404)
        headers = {"Content-Type": "application/json"}
        if account.get("secret_token"):
            headers[SECRET_HEADER] = account["secret_token"]
        resp = await emu.http.post(account["webhook_url"], content=json.dumps(data["update"]).encode(),
                                   headers=headers)
        return JSONResponse({"hub_status": resp.status_code, "hub_body": resp.text})

    return [
        Route("/bot{token}/{method}", bot_method, methods=["GET", "POST"]),
        Route("/file/bot{token}/{file_path:path}", download, methods=["GET"]),
        Route("/_emulator/telegram/files", seed_file, methods=["POST"]),
        Route("/_emulator/telegram/updates", deliver_update, methods=["POST"]),
    ]
