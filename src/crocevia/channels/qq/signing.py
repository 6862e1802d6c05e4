"""QQ bot webhook signatures: Ed25519 keyed by the Bot Secret.

From the official docs (tencent-connect/bot-docs ``interface-framework/sign.md`` and
``event-emit.md``):

* seed = the Bot Secret doubled until it is at least 32 bytes, cut to 32 bytes; it is the
  RFC 8032 private seed, the public key is derived from it;
* every callback: ``X-Signature-Ed25519`` = hex(sign(``X-Signature-Timestamp`` ‖ raw body)),
  refused unless 64 bytes long with ``sig[63] & 0xE0 == 0``;
* op 13 (callback-URL validation): answer ``{"plain_token", "signature": hex(sign(event_ts ‖
  plain_token))}``.
"""

from __future__ import annotations

import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SEED_SIZE = 32
SIGNATURE_SIZE = 64


def seed_from_secret(secret: str) -> bytes:
    seed = secret.encode()
    if not seed:
        raise ValueError("the Bot Secret is empty")
    while len(seed) < SEED_SIZE:
        seed = seed * 2  # the Go sample: strings.Repeat(seed, 2)
    return seed[:SEED_SIZE]


def private_key(secret: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed_from_secret(secret))


def sign(secret: str, message: bytes) -> str:
    return private_key(secret).sign(message).hex()


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    """What QQ puts in ``X-Signature-Ed25519`` for this timestamp and body."""
    return sign(secret, timestamp.encode() + body)


def verify(secret: str, timestamp: str, body: bytes, signature_hex: str) -> bool:
    try:
        sig = binascii.unhexlify(signature_hex)
    except (binascii.Error, ValueError):
        return False
    # The docs' own pre-checks: a full-length signature whose top bits of S are clear.
    if len(sig) != SIGNATURE_SIZE or sig[63] & 0xE0:
        return False
    try:
        private_key(secret).public_key().verify(sig, timestamp.encode() + body)
    except InvalidSignature:
        return False
    return True


def validation_answer(secret: str, event_ts: str, plain_token: str) -> dict[str, str]:
    """The body that proves to QQ that this server holds the Bot Secret (op 13)."""
    return {"plain_token": plain_token, "signature": sign(secret, (event_ts + plain_token).encode())}
