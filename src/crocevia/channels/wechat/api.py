"""Calls to the WeChat Official Account API: access_token, error codes, one retry on a stale token.

WeChat answers API errors with HTTP 200 and ``{"errcode": N, "errmsg": "..."}``; the codes we
map come from wechatpy ``constants.WeChatErrorCode`` and the official global return-code page.
wechatpy refreshes the token and retries on 40001/40014/42001; so do we, once.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from crocevia.channels.base import raise_for_provider_status
from crocevia.channels.tokens import TokenCache
from crocevia.errors import ProviderError

TOKEN_PATH = "/cgi-bin/token"
# A token is refreshed this long before WeChat says it expires, so that a slow call never
# carries a token that dies on the way.
_REFRESH_MARGIN = 300.0
STALE_TOKEN_CODES = frozenset({40001, 40014, 42001})

# errcode -> (retryable, retry_after, what a person should read)
_ERRCODES: dict[int, tuple[bool, float | None, str]] = {
    -1: (True, None, "WeChat is busy (errcode -1); retry later"),
    45009: (True, None, "WeChat API call quota reached (errcode 45009)"),
    45011: (True, 60.0, "WeChat per-minute API quota reached (errcode 45011)"),
    45015: (False, None, "the 48-hour customer-service window has closed (errcode 45015): WeChat accepts "
                         "free-form replies only within 48 h of the user's last message; send a template "
                         "message instead"),
    45047: (False, None, "customer-service message quota used up for this interaction (errcode 45047): 5 "
                         "messages per user message within 48 h, 3 within a minute of a menu click, follow "
                         "or scan"),
    40003: (False, None, "invalid recipient: the OpenID does not belong to this account (errcode 40003)"),
    43004: (False, None, "the user does not follow the account (errcode 43004)"),
    43019: (False, None, "the user is on the account's blacklist (errcode 43019)"),
    43101: (False, None, "the user refused to receive this message (errcode 43101)"),
    48001: (False, None, "this API is not authorised for the account (errcode 48001)"),
    40200: (False, None, "this account type cannot send that message (errcode 40200)"),
    45002: (False, None, "message content is too long (errcode 45002)"),
    40013: (False, None, "invalid AppID (errcode 40013)"),
    40125: (False, None, "invalid AppSecret (errcode 40125)"),
    40164: (False, None, "this server's IP is not on the account's IP whitelist (errcode 40164): add it "
                         "under Settings and Development > Basic Configuration"),
    40007: (False, None, "invalid media_id (errcode 40007)"),
}


TOKENS = TokenCache(refresh_margin=_REFRESH_MARGIN)


def error_for(data: dict[str, Any], *, what: str) -> ProviderError:
    code = _int(data.get("errcode"))
    errmsg = str(data.get("errmsg", ""))
    retryable, retry_after, reason = _ERRCODES.get(
        code, (False, None, f"WeChat refused the call (errcode {code}: {errmsg})")
    )
    return ProviderError(f"{what}: {reason}", retryable=retryable, retry_after=retry_after,
                         provider_code=str(code))


class WeChatAPI:
    """One account's view of the API, for the duration of one adapter call."""

    def __init__(self, base: str, app_id: str, app_secret: str, http: httpx.Client) -> None:
        self.base = base
        self.app_id = app_id
        self._secret = app_secret
        self.http = http
        self._key = (base, app_id)

    def access_token(self) -> str:
        token = TOKENS.get(self._key)
        if token is not None:
            return token
        resp = self._request(
            "GET",
            TOKEN_PATH,
            params={"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret},
        )
        data = _json(resp, what="WeChat access_token")
        if "access_token" not in data:
            raise error_for(data, what="WeChat access_token")
        token = str(data["access_token"])
        TOKENS.put(self._key, token, float(_int(data.get("expires_in"), default=7200)))
        return token

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
        what: str,
    ) -> dict[str, Any]:
        """An authenticated call; one fresh token and one retry if WeChat calls ours stale."""
        for attempt in (1, 2):
            token = self.access_token()
            resp = self._request(method, path, params={**(params or {}), "access_token": token},
                                 body=body, files=files, headers=headers)
            data = _json(resp, what=what)
            code = _int(data.get("errcode"))
            if code == 0:
                return data
            if code in STALE_TOKEN_CODES and attempt == 1:
                TOKENS.discard(self._key, token)
                continue
            if code in STALE_TOKEN_CODES:
                # Refused twice in a row: something else is issuing tokens for this AppID.
                raise ProviderError(
                    f"{what}: WeChat rejected a fresh access_token (errcode {code}); another system may "
                    "be requesting tokens for the same AppID",
                    retryable=True,
                    provider_code=str(code),
                )
            raise error_for(data, what=what)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_raw(self, path: str, params: dict[str, str], *, what: str) -> httpx.Response:
        """A GET whose success is binary (media download); errors still come back as JSON."""
        for attempt in (1, 2):
            token = self.access_token()
            resp = self._request("GET", path, params={**params, "access_token": token})
            if not _looks_like_json(resp):
                return resp
            data = _json(resp, what=what)
            code = _int(data.get("errcode"))
            if code == 0:
                return resp
            if code in STALE_TOKEN_CODES and attempt == 1:
                TOKENS.discard(self._key, token)
                continue
            raise error_for(data, what=what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str],
        body: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        content: bytes | None = None
        if body is not None:
            # WeChat shows \\uXXXX escapes literally, so the JSON must carry raw UTF-8
            # (wechatpy does the same with ensure_ascii=False).
            content = json.dumps(body, ensure_ascii=False).encode()
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            resp = self.http.request(method, f"{self.base}{path}", params=params, content=content,
                                     files=files, headers=all_headers)
        except httpx.TimeoutException as exc:
            raise ProviderError(f"WeChat API timed out ({path})", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(f"WeChat API unreachable ({path}): {exc}", retryable=True) from exc
        raise_for_provider_status(resp)
        return resp


def _looks_like_json(resp: httpx.Response) -> bool:
    ctype = resp.headers.get("content-type", "")
    return "json" in ctype or ("text/plain" in ctype and resp.content[:1] == b"{")


def _json(resp: httpx.Response, *, what: str) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError as exc:
        raise ProviderError(f"{what}: WeChat's answer is not JSON", retryable=True) from exc
    if not isinstance(data, dict):
        raise ProviderError(f"{what}: unexpected WeChat answer {data!r:.200}", retryable=True)
    return data


def _int(value: Any, *, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
