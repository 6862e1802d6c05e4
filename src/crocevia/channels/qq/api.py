"""Calls to the QQ bot OpenAPI: app access token, ``Authorization: QQBot <token>``, error codes.

Token (``interface-framework/api-use.md``): ``POST https://bots.qq.com/app/getAppAccessToken``
with ``{"appId", "clientSecret"}`` -> ``{"access_token", "expires_in": "7200"}`` (a string);
asking again in the last 60 s of a token's life returns a new one, the old one staying valid
for those 60 s. Errors (``openapi/error/error.md``) are an HTTP status plus
``{"message", "code", "err_code", "trace_id"}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from crocevia.channels.base import parse_retry_after
from crocevia.channels.tokens import TokenCache
from crocevia.errors import ProviderError

REAL_TOKEN_URL = "https://bots.qq.com/app/getAppAccessToken"
# Refresh inside the last minute, when QQ hands out the next token (api-use.md).
_REFRESH_MARGIN = 60.0
STALE_TOKEN_CODES = frozenset({11241, 11243})
DEDUPED = 40054005  # "消息被去重，请检查请求msgseq": this msg_id + msg_seq was already sent
MSG_EXPIRED = 304027

# code -> (retryable, retry_after, what a person should read)
_CODES: dict[int, tuple[bool, float | None, str]] = {
    22009: (True, 1.0, "QQ message rate limit hit (code 22009 msg limit exceed)"),
    20028: (True, 1.0, "QQ channel write rate limit hit (code 20028)"),
    304082: (True, None, "QQ could not fetch the media URL (code 304082); retrying"),
    304083: (True, None, "QQ could not convert the media (code 304083); retrying"),
    11242: (True, None, "QQ token check failed on QQ's side (code 11242); retrying"),
    11252: (True, None, "QQ permission check failed on QQ's side (code 11252); retrying"),
    MSG_EXPIRED: (False, None, "the passive-reply window has closed (code 304027 MSG_EXPIRE): QQ accepts "
                               "replies for 60 min after a one-to-one message and 5 min after a group "
                               "message, and proactive messages ended on 2025-04-21"),
    304026: (False, None, "the message being replied to is unknown to QQ (code 304026)"),
    304028: (False, None, "QQ allows replies only to messages that @-mention the bot (code 304028)"),
    304003: (False, None, "a URL in the message is not registered (code 304003): add it in the q.qq.com "
                          "console under 开发设置 > 消息URL配置"),
    50006: (False, None, "QQ refuses an empty message (code 50006)"),
    50045: (False, None, "QQ cannot reply to the bot's own message (code 50045)"),
    11251: (False, None, "QQ does not recognise the AppID (code 11251)"),
    11253: (False, None, "the bot lacks permission for this API (code 11253)"),
    11254: (False, None, "this API is blocked for the bot (code 11254)"),
    11265: (False, None, "the bot is banned (code 11265)"),
    304025: (False, None, "QQ's content security blocked the message (code 304025)"),
    1100101: (False, None, "QQ's content security flagged the text (code 1100101)"),
    1100104: (False, None, "the group no longer exists (code 1100104)"),
}


TOKENS = TokenCache(refresh_margin=_REFRESH_MARGIN)


def token_url(api_base: str) -> str:
    """The real token endpoint lives on bots.qq.com; an emulator serves it under its own base."""
    host = urlsplit(api_base).hostname or ""
    if host == "api.sgroup.qq.com" or host.endswith(".api.sgroup.qq.com"):
        return REAL_TOKEN_URL
    return f"{api_base}/app/getAppAccessToken"


def error_code(resp: httpx.Response) -> tuple[int, str]:
    try:
        data = resp.json()
    except ValueError:
        return 0, resp.text[:200]
    if not isinstance(data, dict):
        return 0, str(data)[:200]
    code = data.get("code") or data.get("err_code") or 0
    try:
        return int(code), str(data.get("message", ""))
    except (TypeError, ValueError):
        return 0, str(data.get("message", ""))


def error_for(resp: httpx.Response, *, what: str) -> ProviderError:
    code, message = error_code(resp)
    retry_after = parse_retry_after(resp.headers.get("retry-after"))
    if code in _CODES:
        retryable, default_after, reason = _CODES[code]
        return ProviderError(f"{what}: {reason}", retryable=retryable,
                             retry_after=retry_after if retry_after is not None else default_after,
                             provider_code=str(code))
    status = resp.status_code
    detail = f"{what}: QQ answered HTTP {status}" + (f", code {code}" if code else "") + (
        f": {message}" if message else "")
    if status == 429 or status >= 500:
        return ProviderError(detail, retryable=True, retry_after=retry_after,
                             provider_code=str(code or status))
    return ProviderError(detail, retryable=False, provider_code=str(code or status))


class QQAPI:
    """One bot's view of the OpenAPI for the duration of one adapter call."""

    def __init__(self, base: str, app_id: str, app_secret: str, http: httpx.Client) -> None:
        self.base = base
        self.app_id = app_id
        self._secret = app_secret
        self.http = http
        self._key = (token_url(base), app_id)

    def access_token(self) -> str:
        token = TOKENS.get(self._key)
        if token is not None:
            return token
        resp = self._send("POST", self._key[0], json={"appId": self.app_id, "clientSecret": self._secret},
                          what="QQ getAppAccessToken")
        if resp.status_code >= 400:
            raise error_for(resp, what="QQ getAppAccessToken")
        try:
            data = resp.json()
        except ValueError as exc:
            raise ProviderError("QQ getAppAccessToken: answer is not JSON", retryable=True) from exc
        if not isinstance(data, dict) or "access_token" not in data:
            # e.g. {"code": 100007, "message": "appid invalid"}
            raise ProviderError(f"QQ refused the bot credentials: {str(data)[:200]}", retryable=False,
                                provider_code=str(data.get("code", "")) if isinstance(data, dict) else None)
        token = str(data["access_token"])
        try:
            expires_in = float(data.get("expires_in", 7200))
        except (TypeError, ValueError):
            expires_in = 7200.0
        TOKENS.put(self._key, token, expires_in)
        return token

    def call(self, method: str, path: str, *, json: dict[str, Any] | None, what: str) -> httpx.Response:
        """An authenticated call; one fresh token and one retry when QQ calls the token stale.

        Returns the response when it is a success or a QQ error the caller interprets (dedupe).
        """
        for attempt in (1, 2):
            token = self.access_token()
            headers = {"Authorization": f"QQBot {token}", "X-Union-Appid": self.app_id}
            resp = self._send(method, f"{self.base}{path}", json=json, headers=headers, what=what)
            if resp.status_code < 400:
                return resp
            code, _ = error_code(resp)
            if (resp.status_code == 401 or code in STALE_TOKEN_CODES) and attempt == 1:
                TOKENS.discard(self._key, token)
                continue
            if code == DEDUPED:
                return resp
            raise error_for(resp, what=what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, url: str, *, json: dict[str, Any] | None, what: str,
              headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            return self.http.request(method, url, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise ProviderError(f"{what}: QQ API timed out", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"{what}: QQ API unreachable: {exc}", retryable=True) from exc
