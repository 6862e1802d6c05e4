"""Emulator of the WeChat Official Account API, with signed (and, in safe mode, encrypted) callbacks.

Same paths and answers as api.weixin.qq.com: API errors are HTTP 200 with
``{"errcode", "errmsg"}``, the way WeChat reports them.

    GET  /cgi-bin/token?grant_type=client_credential&appid&secret   a new token voids the old one
         at once (stricter than WeChat, which keeps the old one valid a few minutes)
    POST /cgi-bin/message/custom/send?access_token                   {"errcode":0,"errmsg":"ok"}
    POST /cgi-bin/message/template/send?access_token                 ... "msgid"; then a signed
         TEMPLATESENDJOBFINISH callback to the account's webhook_url
    POST /cgi-bin/media/upload?access_token&type                     multipart field "media"
    GET  /cgi-bin/media/get?access_token&media_id                    bytes (videos: {"video_url"})

Account (``POST /_emulator/accounts/wechat``): ``account_id`` (the AppID), ``app_secret``,
``token``, ``encoding_aes_key``, ``message_mode`` (plaintext|compatible|safe), ``webhook_url``,
optionally ``original_id`` (gh_...), ``account_type`` ("subscription" refuses menu messages
with 40200), ``blocked_openids`` (template receipts then say "failed:user block") and
``expired_openids`` (customer-service sends to them get 45015, the closed 48-hour window).

Control: ``POST /_emulator/wechat/media`` seeds an inbound media item; ``POST /_emulator/wechat/push``
sends a user's message to the hub exactly as WeChat would (for demos and end-to-end tests).

WeChat has no idempotency key: the emulator dedupes on the ``Idempotency-Key`` header that the
adapter sends, which the real platform ignores.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import httpx
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from crocevia.channels.emulator.app import Emulator
from crocevia.channels.emulator.state import Fault
from crocevia.channels.wechat import crypto

PROVIDER = "wechat"
_OPENID = re.compile(r"^[\w\-]{28}$")
_MSGTYPES = {"text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu",
             "wxcard", "miniprogrampage", "link"}
_MEDIA_TYPES = {"image", "voice", "video", "thumb"}


def _err(code: int, msg: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": msg})


def _fault_response(fault: Fault) -> Response:
    if fault.body is not None:
        return JSONResponse(fault.body, fault.status)
    if fault.status == 429:
        # WeChat signals rate limits with an errcode in an HTTP 200, never with 429/Retry-After.
        return _err(45011, "api minute-quota reach limit  mustslower  retry next minute")
    if fault.status >= 500:
        return JSONResponse({"errcode": -1, "errmsg": "system error"}, fault.status)
    return _err(47001, "data format error")


def callback(account: dict[str, Any], xml: bytes) -> tuple[str, bytes, dict[str, str]]:
    """(url, body, headers) of a callback signed, and sealed if the account says so, like WeChat's."""
    token = str(account["token"])
    ts, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    openid_match = re.search(rb"<FromUserName><!\[CDATA\[([^\]]*)\]\]>", xml)
    query = {"signature": crypto.sha1_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": openid_match.group(1).decode() if openid_match else ""}
    body = xml
    mode = account.get("message_mode", "plaintext")
    if mode in ("compatible", "safe") and account.get("encoding_aes_key"):
        sealed = crypto.encrypt(xml, crypto.aes_key(account["encoding_aes_key"]), str(account["account_id"]))
        to_user = escape(str(account.get("original_id", "gh_emulator")))
        if mode == "safe":
            body = (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>").encode()
        else:  # compatible: the plaintext fields and the sealed copy side by side
            body = xml[: xml.rindex(b"</xml>")] + f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>".encode()
        query["encrypt_type"] = "aes"
        query["msg_signature"] = crypto.sha1_signature(token, ts, nonce, sealed)
    url = f"{account['webhook_url']}?{urlencode(query)}"
    return url, body, {"Content-Type": "text/xml", "User-Agent": "Mozilla/4.0"}


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def routes(emu: Emulator) -> list[BaseRoute]:
    lock = threading.Lock()
    tokens: dict[str, str] = {}  # AppID -> its one valid token
    media: dict[str, tuple[bytes, str]] = {}
    msgids = iter(range(200_000_001, 2**31))

    def _account_for(request: Request) -> dict[str, Any] | None:
        token = request.query_params.get("access_token", "")
        with lock:
            app_id = next((a for a, t in tokens.items() if secrets.compare_digest(t, token)), None)
        return emu.account(PROVIDER, app_id) if app_id else None

    async def _json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return None

    async def token(request: Request) -> Response:
        q = request.query_params
        app_id = q.get("appid", "")
        account = emu.account(PROVIDER, app_id)
        emu.record_other(PROVIDER, request, {"appid": app_id}, "token")
        if q.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        if account is None:
            return _err(40013, "invalid appid")
        if not secrets.compare_digest(str(account.get("app_secret", "")), q.get("secret", "")):
            return _err(40125, "invalid appsecret")
        issued = "wxtok_" + secrets.token_urlsafe(24)
        with lock:
            tokens[app_id] = issued  # like WeChat: the previous token stops working
        return JSONResponse({"access_token": issued, "expires_in": 7200})

    async def custom_send(request: Request) -> Response:
        account = _account_for(request)
        body = await _json_body(request)
        problem = _check_custom(account, body)
        if problem is not None:
            emu.record_other(PROVIDER, request, body, "rejected")
            return problem
        assert isinstance(body, dict)
        return await emu.accept_send(
            request,
            provider=PROVIDER,
            body=body,
            make_accepted=lambda: {"id": emu.state.next_id("wxcs_"), "to": body["touser"], "body": body},
            respond=lambda a: _err(0, "ok"),
            idempotency_key=request.headers.get("idempotency-key"),
            fault_response=_fault_response,
        )

    def _check_custom(account: dict[str, Any] | None, body: Any) -> Response | None:
        if account is None:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if not isinstance(body, dict):
            return _err(47001, "data format error")
        if not _OPENID.match(str(body.get("touser", ""))):
            return _err(40003, "invalid openid")
        msgtype = body.get("msgtype")
        if msgtype not in _MSGTYPES or not isinstance(body.get(msgtype), dict):
            return _err(40008, "invalid message type")
        if msgtype == "text" and not str(body["text"].get("content", "")).strip():
            return _err(44004, "empty content")
        if msgtype in ("image", "voice", "video") and body[msgtype].get("media_id") not in media:
            return _err(40007, "invalid media_id")
        if msgtype == "msgmenu":
            if account.get("account_type") == "subscription":
                return _err(40200, "invalid account type")
            items = body["msgmenu"].get("list")
            if not isinstance(items, list) or not items:
                return _err(47001, "data format error")
        if body["touser"] in account.get("expired_openids", []):
            return _err(45015, "response out of time limit or subscription is canceled")
        return None

    async def template_send(request: Request) -> Response:
        account = _account_for(request)
        body = await _json_body(request)
        if account is None:
            emu.record_other(PROVIDER, request, body, "rejected")
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if not isinstance(body, dict) or not body.get("template_id") or not isinstance(body.get("data"), dict):
            emu.record_other(PROVIDER, request, body, "rejected")
            return _err(40037, "invalid template_id")
        if not _OPENID.match(str(body.get("touser", ""))):
            emu.record_other(PROVIDER, request, body, "rejected")
            return _err(40003, "invalid openid")

        def make() -> dict[str, Any]:
            return {"id": str(next(msgids)), "to": body["touser"], "body": body}

        async def receipt(accepted: dict[str, Any]) -> None:
            status = "failed:user block" if accepted["to"] in account.get("blocked_openids", []) else "success"
            xml = (
                f"<xml><ToUserName>{_cdata(str(account.get('original_id', 'gh_emulator')))}</ToUserName>"
                f"<FromUserName>{_cdata(accepted['to'])}</FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{accepted['id']}</MsgID>"
                f"<Status>{_cdata(status)}</Status></xml>"
            ).encode()
            url, content, headers = callback(account, xml)
            delay = emu.state.status_delays.get("delivered", 0.05)
            emu.spawn(emu.post_later(delay, url, content=content, headers=headers))

        return await emu.accept_send(
            request,
            provider=PROVIDER,
            body=body,
            make_accepted=make,
            respond=lambda a: JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": int(a["id"])}),
            idempotency_key=request.headers.get("idempotency-key"),
            fault_response=_fault_response,
            after_accept=receipt if account.get("webhook_url") else None,
        )

    async def media_upload(request: Request) -> Response:
        account = _account_for(request)
        media_type = request.query_params.get("type", "")
        form = await request.form()
        upload = form.get("media")
        emu.record_other(PROVIDER, request, {"type": media_type,
                                             "filename": getattr(upload, "filename", None)}, "upload")
        if account is None:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if media_type not in _MEDIA_TYPES:
            return _err(40004, "invalid media type")
        if not isinstance(upload, UploadFile):
            return _err(41005, "media data missing")
        data = await upload.read()
        media_id = "wxmedia_" + secrets.token_urlsafe(18)
        with lock:
            media[media_id] = (data, upload.content_type or "application/octet-stream")
        return JSONResponse({"type": media_type, "media_id": media_id, "created_at": int(time.time())})

    async def media_get(request: Request) -> Response:
        account = _account_for(request)
        media_id = request.query_params.get("media_id", "")
        emu.record_other(PROVIDER, request, {"media_id": media_id}, "download")
        if account is None:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        item = media.get(media_id)
        if item is None:
            return _err(40007, "invalid media_id")
        if item[1].startswith("video/"):
            return JSONResponse({"video_url": str(request.url_for("wechat_video", media_id=media_id))})
        return Response(item[0], media_type=item[1],
                        headers={"Content-disposition": f'attachment; filename="{media_id}"'})

    async def video(request: Request) -> Response:
        item = media.get(request.path_params["media_id"])
        if item is None:
            return Response(status_code=404)
        return Response(item[0], media_type=item[1])

    async def seed_media(request: Request) -> Response:
        data = await request.json()
        try:
            content = base64.b64decode(data["data_base64"], validate=True)
        except (KeyError, binascii.Error, ValueError):
            return JSONResponse({"error": "data_base64 is required"}, 400)
        media_id = str(data.get("media_id") or "wxmedia_" + secrets.token_urlsafe(18))
        with lock:
            media[media_id] = (content, str(data.get("content_type", "application/octet-stream")))
        return JSONResponse({"media_id": media_id}, 201)

    async def push(request: Request) -> Response:
        """Deliver a user's text message to the hub, signed as WeChat signs it."""
        data = await request.json()
        account = emu.account(PROVIDER, str(data.get("account_id", "")))
        if account is None or not account.get("webhook_url"):
            return JSONResponse({"error": "unknown account or no webhook_url"}, 404)
        msg_id = str(data.get("msg_id") or secrets.randbelow(10**17))
        xml = (
            f"<xml><ToUserName>{_cdata(str(account.get('original_id', 'gh_emulator')))}</ToUserName>"
            f"<FromUserName>{_cdata(str(data['openid']))}</FromUserName>"
            f"<CreateTime>{int(data.get('create_time') or time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{_cdata(str(data.get('content', '')))}</Content>"
            f"<MsgId>{msg_id}</MsgId></xml>"
        ).encode()
        url, content, headers = callback(account, xml)
        try:
            resp = await emu.http.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            return JSONResponse({"msg_id": msg_id, "error": str(exc)}, 502)
        return JSONResponse({"msg_id": msg_id, "hub_status": resp.status_code, "hub_body": resp.text})

    return [
        Route("/cgi-bin/token", token, methods=["GET"]),
        Route("/cgi-bin/message/custom/send", custom_send, methods=["POST"]),
        Route("/cgi-bin/message/template/send", template_send, methods=["POST"]),
        Route("/cgi-bin/media/upload", media_upload, methods=["POST"]),
        Route("/cgi-bin/media/get", media_get, methods=["GET"]),
        Route("/_emulator/wechat/video/{media_id}", video, methods=["GET"], name="wechat_video"),
        Route("/_emulator/wechat/media", seed_media, methods=["POST"]),
        Route("/_emulator/wechat/push", push, methods=["POST"]),
    ]
