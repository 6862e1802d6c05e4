"""Calling the Graph API: one place for auth parameters, time-outs and error mapping."""

from __future__ import annotations

from typing import Any

import httpx

from crocevia.channels.meta.graph_errors import raise_for_graph_error
from crocevia.errors import ProviderError
from crocevia.security import hmac_sha256_hex

DEFAULT_API_VERSION = "v25.0"
GRAPH_FACEBOOK = "https://graph.facebook.com"
GRAPH_INSTAGRAM = "https://graph.instagram.com"
# Graph itself ignores this header; the Crocevia emulator uses it to dedupe retried sends.
IDEMPOTENCY_HEADER = "Idempotency-Key"


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """HMAC-SHA256 of the token keyed by the App Secret; required when the app turns on
    "Require App Secret", and harmless otherwise (facebook-business computes it the same way)."""
    return hmac_sha256_hex(app_secret.encode(), access_token.encode())


def graph_request(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    params: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send one request; time-outs and network failures are retryable, Graph errors mapped."""
    try:
        resp = http.request(method, url, params=params, json=json_body, headers=headers)
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{what} timed out", retryable=True) from exc
    except httpx.TransportError as exc:
        raise ProviderError(f"{what} unreachable: {exc}", retryable=True) from exc
    raise_for_graph_error(resp)
    return resp


def json_object(resp: httpx.Response, what: str) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError as exc:
        raise ProviderError(f"{what} answered with non-JSON: {resp.text[:200]}", retryable=False) from exc
    if not isinstance(data, dict):
        raise ProviderError(f"{what} answered with an unexpected body: {resp.text[:200]}", retryable=False)
    return data
