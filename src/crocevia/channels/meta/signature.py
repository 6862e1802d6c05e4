"""Meta's webhook signature: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``.

The same scheme covers WhatsApp Cloud API, Messenger and Instagram (one App Secret per Meta app).
There is no timestamp in it, so replay protection is the hub's dedupe on message ids.
"""

from __future__ import annotations

from crocevia.channels.base import WebhookRequest
from crocevia.errors import SignatureInvalid
from crocevia.security import constant_time_equals, hmac_sha256_hex

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body``."""
    return _PREFIX + hmac_sha256_hex(app_secret.encode(), body)


def verify_signature(req: WebhookRequest, app_secret: str) -> None:
    """Raise ``SignatureInvalid`` unless the raw body was signed with ``app_secret``."""
    given = req.header(SIGNATURE_HEADER)
    if not given:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    # Meta writes lowercase hex; normalise only the prefix and digits' case, then compare in
    # constant time so the check leaks nothing about how much of the digest matched.
    if not constant_time_equals(given.strip().lower(), sign(app_secret, req.body)):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")
