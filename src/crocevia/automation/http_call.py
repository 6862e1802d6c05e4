"""The flow's ``http`` step: a call to the business's own endpoint, signed so it can tell the call
comes from its Crocevia, with a short timeout because the customer is waiting for the answer.

Signature header (like Stripe's): ``X-Crocevia-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the step's secret>``; for GET the signed body is the query string. The endpoint
should refuse a stale ``t`` (replays) and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import urlencode

import httpx

from crocevia.automation.flow import HttpStep

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Crocevia-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def call(step: HttpStep, payload: dict[str, Any], timestamp: int) -> dict[str, Any] | None:
    """The endpoint's JSON object, or None when it failed, timed out or answered something else."""
    if step.method == "GET":
        flat = {k: v for k, v in payload.items() if isinstance(v, str | int | float | bool)}
        flat.update({k: v for k, v in payload.get("slots", {}).items() if isinstance(v, str | int | float | bool)})
        body = urlencode(flat).encode()
        request = httpx.Request("GET", step.url, params=flat)
    else:
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        request = httpx.Request("POST", step.url, content=body, headers={"Content-Type": "application/json"})
    request.headers[SIGNATURE_HEADER] = signature(step.secret, timestamp, body)
    try:
        with httpx.Client(timeout=step.timeout, follow_redirects=False) as client:
            resp = client.send(request)
    except httpx.HTTPError as exc:
        log.warning("bot http step %s: %s", step.id, type(exc).__name__)
        return None
    if resp.status_code >= 300:
        log.warning("bot http step %s: status %s", step.id, resp.status_code)
        return None
    try:
        answer = resp.json() if resp.content else {}
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
