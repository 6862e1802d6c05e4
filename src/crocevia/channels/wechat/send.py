"""Turning an OutboundMessage into WeChat customer-service or template calls.

Customer-service messages (``/cgi-bin/message/custom/send``) answer ``{"errcode":0,"errmsg":"ok"}``
and carry no message id, so we store ``wxcs:<idempotency key>``; no delivery receipt ever comes
for them. Template messages answer a ``msgid`` that the later TEMPLATESENDJOBFINISH event names.

WeChat has no idempotency key of its own: we send ``Idempotency-Key`` anyway, which the real
platform ignores and the local emulator uses to dedupe retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from crocevia.channels.base import OutboundMessage, SendResult, fallback_text, raise_for_provider_status
from crocevia.channels.wechat.api import WeChatAPI
from crocevia.errors import ProviderError

CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
MEDIA_UPLOAD = "/cgi-bin/media/upload"
MENU_MAX_ITEMS = 3

# MIME type -> (WeChat media type, size cap in bytes) for temporary media uploads.
_MEDIA_TYPES: dict[str, tuple[str, int]] = {
    "image/jpeg": ("image", 10 * 1024 * 1024),
    "image/png": ("image", 10 * 1024 * 1024),
    "image/gif": ("image", 10 * 1024 * 1024),
    "audio/amr": ("voice", 2 * 1024 * 1024),
    "audio/mpeg": ("voice", 2 * 1024 * 1024),
    "audio/mp3": ("voice", 2 * 1024 * 1024),
    "video/mp4": ("video", 10 * 1024 * 1024),
}


class WeChatSender:
    def __init__(self, api: WeChatAPI, settings: Mapping[str, Any]) -> None:
        self.api = api
        self.settings = settings

    def send(self, msg: OutboundMessage) -> SendResult:
        if msg.template:
            return self._template(msg)
        if msg.media_url or msg.content.get("media_id"):
            return self._media(msg)
        if msg.buttons:
            return self._buttons(msg)
        return self._custom(msg, {"msgtype": "text", "text": {"content": msg.text}}, msg.idempotency_key)

    # -- kinds of message ---------------------------------------------------------------------
    def _buttons(self, msg: OutboundMessage) -> SendResult:
        text_body = {"msgtype": "text", "text": {"content": fallback_text(msg)}}
        if len(msg.buttons) > MENU_MAX_ITEMS or not self.settings.get("menu_messages", True):
            return self._custom(msg, text_body, msg.idempotency_key)
        menu: dict[str, Any] = {
            "head_content": msg.text,
            "list": [{"id": b.id, "content": b.title} for b in msg.buttons],
        }
        if msg.content.get("menu_tail"):
            menu["tail_content"] = str(msg.content["menu_tail"])
        try:
            return self._custom(msg, {"msgtype": "msgmenu", "msgmenu": menu}, msg.idempotency_key)
        except ProviderError as exc:
            if exc.provider_code != "40200":
                raise
        # 40200 "invalid account type": only verified service accounts may send menus.
        return self._custom(msg, text_body, _derived(msg.idempotency_key, "text"))

    def _media(self, msg: OutboundMessage) -> SendResult:
        media_id = str(msg.content.get("media_id", ""))
        wx_type = str(msg.content.get("media_type", "image"))
        if not media_id:
            uploaded = self._upload(msg)
            if uploaded is None:
                # Not a type or size WeChat takes: send the link instead of failing the message.
                text = "\n".join(t for t in (msg.text, msg.media_url) if t)
                return self._custom(msg, {"msgtype": "text", "text": {"content": text}}, msg.idempotency_key)
            media_id, wx_type = uploaded
        if wx_type == "video":
            video = {"media_id": media_id, "title": msg.media_filename, "description": msg.text}
            return self._custom(msg, {"msgtype": "video", "video": video}, msg.idempotency_key)
        result = self._custom(msg, {"msgtype": wx_type, wx_type: {"media_id": media_id}},
                              _derived(msg.idempotency_key, "media"))
        if msg.text:
            # Images and voice have no caption: the text follows as a second message
            # (it counts against the 5-message quota).
            self._custom(msg, {"msgtype": "text", "text": {"content": msg.text}},
                         _derived(msg.idempotency_key, "caption"))
        return result

    def _template(self, msg: OutboundMessage) -> SendResult:
        tpl = msg.template or {}
        template_id = str(tpl.get("name") or "")
        if not template_id:
            raise ProviderError("template.name must be the WeChat template_id", retryable=False,
                                provider_code="invalid_message")
        body: dict[str, Any] = {
            "touser": msg.recipient_id,
            "template_id": template_id,
            "data": _template_data(tpl.get("parameters")),
        }
        if tpl.get("url"):
            body["url"] = str(tpl["url"])
        if isinstance(tpl.get("miniprogram"), dict):
            body["miniprogram"] = tpl["miniprogram"]
        data = self.api.call("POST", TEMPLATE_SEND, body=body,
                             headers={"Idempotency-Key": msg.idempotency_key}, what="WeChat template/send")
        return SendResult(provider_message_id=str(data.get("msgid", f"wxtpl:{msg.idempotency_key}")))

    # -- plumbing -----------------------------------------------------------------------------
    def _custom(self, msg: OutboundMessage, payload: dict[str, Any], key: str) -> SendResult:
        body: dict[str, Any] = {"touser": msg.recipient_id, **payload}
        kf_account = self.settings.get("kf_account")
        if kf_account:
            body["customservice"] = {"kf_account": str(kf_account)}
        data = self.api.call("POST", CUSTOM_SEND, body=body, headers={"Idempotency-Key": key},
                             what="WeChat custom/send")
        # No id comes back for customer-service messages (a msgid is used if one ever does).
        return SendResult(provider_message_id=str(data.get("msgid") or f"wxcs:{msg.idempotency_key}"))

    def _upload(self, msg: OutboundMessage) -> tuple[str, str] | None:
        """Download ``media_url`` and upload it as temporary media; None if WeChat cannot take it."""
        try:
            resp = self.api.http.get(msg.media_url, follow_redirects=True)
        except httpx.TimeoutException as exc:
            raise ProviderError("downloading media_url timed out", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"cannot download media_url: {exc}", retryable=True) from exc
        raise_for_provider_status(resp, detail=f"cannot download media_url (HTTP {resp.status_code})")
        mime = (msg.media_mime_type or resp.headers.get("content-type", "")).split(";")[0].strip().lower()
        spec = _MEDIA_TYPES.get(mime)
        if spec is None or len(resp.content) > spec[1]:
            return None
        wx_type = spec[0]
        filename = msg.media_filename or f"upload.{mime.split('/')[1]}"
        data = self.api.call("POST", MEDIA_UPLOAD, params={"type": wx_type},
                             files={"media": (filename, resp.content, mime)}, what="WeChat media/upload")
        media_id = str(data.get("media_id", ""))
        if not media_id:
            raise ProviderError("WeChat media/upload returned no media_id", retryable=True)
        return media_id, wx_type


def _template_data(parameters: Any) -> dict[str, dict[str, str]]:
    """WeChat template data is keyed by the template's own field names ("thing1", "time2"...)."""
    if parameters is None:
        return {}
    if isinstance(parameters, dict):
        return {str(k): _template_value(v) for k, v in parameters.items()}
    if isinstance(parameters, list):
        data: dict[str, dict[str, str]] = {}
        for item in parameters:
            if not isinstance(item, dict) or not (item.get("name") or item.get("key")):
                raise ProviderError(
                    "WeChat template parameters must be named: {\"name\": \"thing1\", \"value\": \"...\"}",
                    retryable=False, provider_code="invalid_message",
                )
            data[str(item.get("name") or item.get("key"))] = _template_value(item)
        return data
    raise ProviderError("template.parameters must be a list or an object", retryable=False,
                        provider_code="invalid_message")


def _template_value(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        out = {"value": str(value.get("value", ""))}
        if value.get("color"):
            out["color"] = str(value["color"])
        return out
    return {"value": str(value)}


def _derived(key: str, part: str) -> str:
    """A distinct idempotency key per API call when one message takes several calls."""
    return f"{key}:{part}"
