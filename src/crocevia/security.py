"""Passwords (argon2), opaque tokens (stored as SHA-256), secrets encrypted at rest (Fernet)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def token_hash(token: str) -> str:
    """Tokens carry 256 bits of randomness, so a fast hash is enough (no salt, no stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def hmac_sha256_hex(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


class SecretBox:
    """Encrypts credentials and webhook secrets with a key derived from the instance secret."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(_derive(secret_key, b"crocevia-secretbox-v1"))
        self._signing_key = _derive_raw(secret_key, b"crocevia-signing-v1")

    def encrypt(self, data: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode())

    def decrypt(self, blob: bytes) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(blob))
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this instance's key") from exc
        return value

    def encrypt_text(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def decrypt_text(self, blob: bytes) -> str:
        return self._fernet.decrypt(blob).decode()

    def sign(self, data: str) -> str:
        return base64.urlsafe_b64encode(
            hmac.new(self._signing_key, data.encode(), hashlib.sha256).digest()
        ).decode().rstrip("=")


def _derive_raw(secret_key: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret_key.encode())


def _derive(secret_key: str, info: bytes) -> bytes:
    return base64.urlsafe_b64encode(_derive_raw(secret_key, info))
