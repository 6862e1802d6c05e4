"""What the shared channel contract test needs from WeChat: a config, a signer and a tamperer.

``signed_request`` builds the exact callback WeChat makes for a fixture body: the query string
``signature, timestamp, nonce, openid`` and, when the body is a safe-mode ``<Encrypt>``
envelope, ``encrypt_type=aes`` and ``msg_signature``. Fixtures named ``*_aes.xml`` hold such
envelopes, sealed with the AppID and EncodingAESKey below (by wechatpy's own crypto).

In plaintext mode WeChat signs only token/timestamp/nonce, never the body, so ``tamper``
changes one character of what is signed: the ``signature`` (or, for an encrypted body, one
character of the ``<Encrypt>`` text, which ``msg_signature`` covers).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from crocevia.channels.base import ChannelConfig, WebhookRequest
from crocevia.channels.wechat import crypto
from crocevia.channels.wechat.payloads import parse_xml

FIXTURES = Path(__file__).parent / "fixtures"

APP_ID = "wx8f3c1d2e4b5a6978"
APP_SECRET = "c0ffee1234567890c0ffee1234567890"
TOKEN = "crocevia2025"
ENCODING_AES_KEY = "UvN5V4C8Ttjqy7cZV11bXn03s1YOcVjvn5coCKb2ffg"
ORIGINAL_ID = "gh_3c884a361561"


def config(api_base: str = "", *, message_mode: str = "compatible", **settings: object) -> ChannelConfig:
    # "compatible" accepts both plaintext and encrypted callbacks, so one config serves every
    # fixture; a channel in "safe" mode refuses plaintext ones (tested separately).
    return ChannelConfig(
        channel_id=1,
        public_id="ch_test_wechat",
        kind="wechat",
        credentials={
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "encoding_aes_key": ENCODING_AES_KEY,
            "message_mode": message_mode,
        },
        settings=dict(settings),
        webhook_url="http://127.0.0.1:8000/webhooks/wechat/ch_test_wechat",
        api_base=api_base,
    )


def signed_request(body: bytes, cfg: ChannelConfig, fixture_name: str = "", *,
                   timestamp: str | None = None, nonce: str | None = None) -> WebhookRequest:
    creds = cfg.credentials
    ts = timestamp or str(int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    query = {"signature": crypto.sha1_signature(creds["token"], ts, nonce), "timestamp": ts, "nonce": nonce}
    sealed = _encrypt_text(body)
    openid = _openid(body, sealed, cfg)
    if openid:
        query["openid"] = openid
    if sealed is not None:
        query["encrypt_type"] = "aes"
        query["msg_signature"] = crypto.sha1_signature(creds["token"], ts, nonce, sealed)
    return _request("POST", cfg, query, body)


def handshake_request(cfg: ChannelConfig, echostr: str) -> WebhookRequest:
    """The GET WeChat sends when the server URL is saved in the console."""
    ts, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    query = {"signature": crypto.sha1_signature(cfg.credentials["token"], ts, nonce), "echostr": echostr,
             "timestamp": ts, "nonce": nonce}
    return _request("GET", cfg, query, b"")


def tamper(req: WebhookRequest) -> WebhookRequest:
    """Change one character of what the signature covers."""
    if "msg_signature" in req.query:
        text = req.body.decode()
        match = re.search(r"<Encrypt><!\[CDATA\[(.)", text)
        if match is None:
            raise ValueError("no <Encrypt> text to tamper with")
        i = match.start(1)
        swapped = "B" if text[i] == "A" else "A"
        return replace(req, body=(text[:i] + swapped + text[i + 1 :]).encode())
    query = dict(req.query)
    sig = query["signature"]
    query["signature"] = ("1" if sig[0] == "0" else "0") + sig[1:]
    return replace(req, query=query, url=_url(req.url.split("?")[0], query))


def strip_signature(req: WebhookRequest) -> WebhookRequest:
    """The same request with no signature of any kind."""
    query = {k: v for k, v in req.query.items() if k not in ("signature", "msg_signature")}
    return replace(req, query=query, url=_url(req.url.split("?")[0], query))


def _request(method: str, cfg: ChannelConfig, query: dict[str, str], body: bytes) -> WebhookRequest:
    headers = {"user-agent": "Mozilla/4.0"}
    if body:
        headers["content-type"] = "text/xml"
    return WebhookRequest(method=method, url=_url(cfg.webhook_url, query), headers=headers, query=query,
                          body=body)


def _url(base: str, query: dict[str, str]) -> str:
    return f"{base}?{urlencode(query)}"


def _encrypt_text(body: bytes) -> str | None:
    if b"<Encrypt>" not in body:
        return None
    return parse_xml(body).get("Encrypt", "").strip() or None


def _openid(body: bytes, sealed: str | None, cfg: ChannelConfig) -> str:
    fields = parse_xml(body)
    if fields.get("FromUserName"):
        return fields["FromUserName"].strip()
    if sealed is None:
        return ""
    inner, _ = crypto.decrypt(sealed, crypto.aes_key(str(cfg.credentials["encoding_aes_key"])))
    return parse_xml(inner).get("FromUserName", "").strip()
