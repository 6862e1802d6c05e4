"""Emulator of the QQ bot OpenAPI v2 (C2C and group messages) and of its signed webhooks.

    POST /app/getAppAccessToken                 {"appId","clientSecret"} -> {"access_token","expires_in":"7200"}
    POST /v2/users/{openid}/messages            Authorization: QQBot <token> -> {"id","timestamp"}
    POST /v2/groups/{group_openid}/messages
    POST /v2/users/{openid}/files               {"file_type","url","srv_send_msg"} -> {"file_uuid","file_info","ttl"}
    POST /v2/groups/{group_openid}/files
    PUT  /interactions/{interaction_id}         {"code"} -> 204

Like QQ, the emulator dedupes on ``msg_id``/``event_id`` + ``msg_seq`` and answers a repeat with
HTTP 400 and code 40054005; it refuses sends that answer no inbound message (proactive messages
ended on 2025-04-21; the emulator uses code 50048 "message id 不能为空" for that, QQ's exact code
for it is not published) and, for inbound messages it delivered itself, replies after the
passive window (60 min C2C, 5 min group) with code 304027. QQ sends no delivery receipts, so
neither does the emulator.

Account (``POST /_emulator/accounts/qq``): ``account_id`` (the AppID), ``app_secret``,
``webhook_url``. ``POST /_emulator/qq/push`` delivers a user's message to the hub, signed with
Ed25519 exactly as QQ signs it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.app import Emulator
from crocevia.channels.emulator.state import Fault
from crocevia.channels.qq.signing import signature_for

PROVIDER = "qq"
_WINDOWS = {"users": timedelta(minutes=60), "groups": timedelta(minutes=5)}
_CHINA = timezone(timedelta(hours=8))


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "code": code, "err_code": code,
                         "trace_id": secrets.token_hex(16)}, status, headers=headers)


def _fault_response(fault: Fault) -> Response:
    if fault.body is not None:
        return JSONResponse(fault.body, fault.status)
    if fault.status == 429:
        extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        return _error(429, 22009, "msg limit exceed", extra)
    if fault.status >= 500:
        return _error(fault.status, 1100300, "系统内部错误")
    return _error(fault.status, 12002, "请求体错误")


def signed_callback(account: dict[str, Any], payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    return body, {
        "Content-Type": "application/json",
        "User-Agent": "QQBot-Callback",
        "X-Bot-Appid": str(account["account_id"]),
        "X-Signature-Method": "Ed25519",
        "X-Signature-Timestamp": ts,
        "X-Signature-Ed25519": signature_for(str(account["app_secret"]), ts, body),
    }


def routes(emu: Emulator) -> list[BaseRoute]:
    lock = threading.Lock()
    tokens: dict[str, str] = {}  # token -> AppID
    inbound: dict[str, tuple[str, datetime]] = {}  # msg_id -> (scope, when), for pushed messages

    def _account_for(request: Request) -> dict[str, Any] | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("QQBot "):
            return None
        with lock:
            app_id = tokens.get(auth[len("QQBot "):])
        return emu.account(PROVIDER, app_id) if app_id else None

    async def _json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return None

    async def token(request: Request) -> Response:
        body = await _json_body(request)
        app_id = str(body.get("appId", "")) if isinstance(body, dict) else ""
        emu.record_other(PROVIDER, request, {"appId": app_id}, "token")
        account = emu.account(PROVIDER, app_id)
        if account is None or not secrets.compare_digest(str(account.get("app_secret", "")),
                                                         str(body.get("clientSecret", ""))):
            return JSONResponse({"code": 100007, "message": "appid invalid"})
        issued = "qqtok_" + secrets.token_urlsafe(24)
        with lock:
            tokens[issued] = app_id
        return JSONResponse({"access_token": issued, "expires_in": "7200"})

    async def send(request: Request) -> Response:
        scope = request.url.path.split("/")[2]  # "users" or "groups"
        target = request.path_params["target"]
        account = _account_for(request)
        body = await _json_body(request)
        problem = _check_send(account, scope, body)
        if problem is not None:
            emu.record_other(PROVIDER, request, body, "rejected")
            return problem
        assert isinstance(body, dict)
        reply_to = str(body.get("msg_id") or body.get("event_id"))
        key = f"{reply_to}:{body.get('msg_seq', 1)}"
        with emu.state.lock:
            duplicate = key in emu.state.idempotency
        if duplicate:
            emu.record_other(PROVIDER, request, body, "deduplicated")
            return _error(400, 40054005, "消息被去重，请检查请求msgseq")
        return await emu.accept_send(
            request,
            provider=PROVIDER,
            body=body,
            make_accepted=lambda: {"id": "ROBOT1.0_" + secrets.token_urlsafe(18), "to": target,
                                   "scope": scope, "body": body},
            respond=lambda a: JSONResponse({"id": a["id"], "timestamp": int(time.time())}),
            idempotency_key=key,
            fault_response=_fault_response,
        )

    def _check_send(account: dict[str, Any] | None, scope: str, body: Any) -> Response | None:
        if account is None:
            return _error(401, 11243, "token not exist or expire")
        if not isinstance(body, dict) or body.get("msg_type") not in (0, 2, 3, 4, 7):
            return _error(400, 12002, "请求体错误")
        content = str(body.get("content") or "")
        # Text must say something; a media message needs a placeholder such as " " (send.md).
        if (body["msg_type"] == 0 and not content.strip()) or (body["msg_type"] == 7 and not content):
            return _error(400, 50006, "消息为空")
        if body.get("msg_type") == 7 and not (body.get("media") or {}).get("file_info"):
            return _error(400, 12002, "请求体错误")
        if not body.get("msg_id") and not body.get("event_id"):
            return _error(400, 50048, "message id 不能为空")
        seen = inbound.get(str(body.get("msg_id") or ""))
        if seen is not None and datetime.now(UTC) - seen[1] > _WINDOWS[seen[0]]:
            return _error(400, 304027, "回复的消息过期")
        return None

    async def files(request: Request) -> Response:
        account = _account_for(request)
        body = await _json_body(request)
        if account is None:
            emu.record_other(PROVIDER, request, body, "rejected")
            return _error(401, 11243, "token not exist or expire")
        if not isinstance(body, dict) or body.get("file_type") not in (1, 2, 3) or not body.get("url"):
            emu.record_other(PROVIDER, request, body, "rejected")
            return _error(400, 12002, "请求体错误")
        if body.get("srv_send_msg"):
            emu.record_other(PROVIDER, request, body, "rejected")
            return _error(400, 50048, "message id 不能为空")  # would be a proactive message
        emu.record_other(PROVIDER, request, body, "uploaded")
        return JSONResponse({"file_uuid": secrets.token_hex(16), "file_info": secrets.token_urlsafe(48),
                             "ttl": 0})

    async def interaction(request: Request) -> Response:
        account = _account_for(request)
        body = await _json_body(request)
        emu.record_other(PROVIDER, request, body, "answered" if account else "rejected")
        if account is None:
            return _error(401, 11243, "token not exist or expire")
        return Response(status_code=204)

    async def push(request: Request) -> Response:
        """Deliver a user's message (C2C, or @bot in a group) to the hub, signed as QQ signs it."""
        data = await request.json()
        account = emu.account(PROVIDER, str(data.get("account_id", "")))
        if account is None or not account.get("webhook_url"):
            return JSONResponse({"error": "unknown account or no webhook_url"}, 404)
        when = datetime.fromtimestamp(float(data.get("timestamp") or time.time()), UTC)
        msg_id = "ROBOT1.0_" + secrets.token_urlsafe(18)
        d: dict[str, Any] = {"id": msg_id, "content": str(data.get("content", "")),
                             "timestamp": when.astimezone(_CHINA).isoformat()}
        if data.get("group_openid"):
            event, scope = "GROUP_AT_MESSAGE_CREATE", "groups"
            d["group_openid"] = str(data["group_openid"])
            d["author"] = {"member_openid": str(data["openid"])}
            d["content"] = " " + d["content"]
        else:
            event, scope = "C2C_MESSAGE_CREATE", "users"
            d["author"] = {"user_openid": str(data["openid"])}
        with lock:
            inbound[msg_id] = (scope, when)
        payload = {"op": 0, "s": 1, "t": event, "id": f"{event}:{secrets.token_hex(16)}", "d": d}
        content, headers = signed_callback(account, payload)
        try:
            resp = await emu.http.post(str(account["webhook_url"]), content=content, headers=headers)
        except httpx.HTTPError as exc:
            return JSONResponse({"msg_id": msg_id, "error": str(exc)}, 502)
        return JSONResponse({"msg_id": msg_id, "hub_status": resp.status_code, "hub_body": resp.text})

    return [
        Route("/app/getAppAccessToken", token, methods=["POST"]),
        Route("/v2/users/{target}/messages", send, methods=["POST"]),
        Route("/v2/groups/{target}/messages", send, methods=["POST"]),
        Route("/v2/users/{target}/files", files, methods=["POST"]),
        Route("/v2/groups/{target}/files", files, methods=["POST"]),
        Route("/interactions/{interaction_id}", interaction, methods=["PUT"]),
        Route("/_emulator/qq/push", push, methods=["POST"]),
    ]
