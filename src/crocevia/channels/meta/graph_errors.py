"""Map a Graph API error answer to ``ProviderError`` (retry later, or fail for good).

Graph errors come as ``{"error": {"message", "type", "code", "error_subcode"?, "error_data"?,
"is_transient"?, "fbtrace_id"}}``; the *code* decides, not the HTTP status, because Graph
answers most errors (rate limits included) with HTTP 400.

Sources: pywa ``errors.py`` (WhatsApp Cloud API codes, grouped there as ThrottlingError,
SendMessageError...), Meta's Messenger error-codes page, and the Graph API error handling guide.
"""

from __future__ import annotations

from typing import Any

import httpx

from crocevia.channels.base import parse_retry_after, raise_for_provider_status
from crocevia.errors import ProviderError

# Worth retrying with back-off: throttling and temporary failures.
RETRYABLE_CODES: frozenset[int] = frozenset(
    {
        1,  # unknown error, "possibly a temporary issue"
        2,  # service temporarily unavailable
        4,  # application request limit reached
        17,  # user request limit reached
        32,  # page request limit reached
        613,  # Messenger: calls to this API exceeded the rate limit
        80007,  # WhatsApp: WABA rate limit
        130429,  # WhatsApp: Cloud API throughput reached (per number)
        131048,  # WhatsApp: spam rate limit
        131056,  # WhatsApp: pair rate limit (too many messages to the same user)
        131064,  # WhatsApp: messaging limit reached (frees up within the moving 24 h)
        131000,  # WhatsApp: "something went wrong"
        131016,  # WhatsApp: service unavailable
        131057,  # WhatsApp: account in maintenance mode (throughput upgrade, up to a minute)
    }
)

# Codes a person must act on; named here so logs and the UI can say why.
RECIPIENT_CODES: dict[int, str] = {
    131026: "message undeliverable (not on WhatsApp, old app version, or terms not accepted)",
    131047: "more than 24 hours since the customer last wrote: send an approved template",
    131030: "recipient is not in the test number's allowed list",
    131050: "the customer stopped marketing messages from this business",
    131049: "not delivered to keep the ecosystem healthy (per-user marketing limit)",
    131062: "this message type cannot be sent to a business-scoped user id",
    551: "this person isn't available right now",
    190: "the access token expired or was revoked: reconnect the channel",
}


def graph_error(resp: httpx.Response) -> dict[str, Any] | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def raise_for_graph_error(resp: httpx.Response) -> None:
    """Return on success; otherwise raise ``ProviderError`` with the Graph code as provider_code."""
    if resp.status_code < 400:
        return
    error = graph_error(resp)
    if error is None or not isinstance(error.get("code"), int):
        raise_for_provider_status(resp)  # not a Graph answer: judge by HTTP status alone
        return
    code: int = error["code"]
    subcode = error.get("error_subcode")
    retryable = (
        code in RETRYABLE_CODES
        or error.get("is_transient") is True
        or resp.status_code == 429
        or resp.status_code >= 500
    )
    raise ProviderError(
        describe(error),
        retryable=retryable,
        retry_after=parse_retry_after(resp.headers.get("retry-after")) if retryable else None,
        provider_code=f"{code}/{subcode}" if subcode else str(code),
    )


def describe(error: dict[str, Any]) -> str:
    """``(#131047) Re-engagement message: <details>`` — the provider's own words first."""
    code = error.get("code")
    parts = [f"(#{code}) {error.get('message') or error.get('title') or 'Graph API error'}"]
    details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    if details:
        parts.append(str(details))
    if isinstance(code, int) and code in RECIPIENT_CODES:
        parts.append(RECIPIENT_CODES[code])
    return ": ".join(parts)
