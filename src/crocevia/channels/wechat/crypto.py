"""WeChat's callback signatures and the AES envelope of "safe mode" (WXBizMsgCrypt).

    signature     = hex sha1("".join(sorted([token, timestamp, nonce])))            every call
    msg_signature = hex sha1("".join(sorted([token, timestamp, nonce, Encrypt])))   safe/compatible
    Encrypt       = base64(AES-256-CBC(key, iv=key[:16],
                           PKCS#7 to 32 bytes(random 16 ‖ uint32 BE len(xml) ‖ xml ‖ AppID)))
    key           = base64decode(EncodingAESKey + "=")                              32 bytes

Checked against wechatpy ``utils.WeChatSigner``, ``crypto/base.py`` and ``crypto/pkcs7.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# WeChat pads to 32 bytes, not to the AES block of 16: PKCS#7 with a 256-bit "block".
_PAD_BITS = 256
_RANDOM_PREFIX = 16


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: the parts sorted as byte strings, joined, hex SHA-1."""
    return hashlib.sha1(b"".join(sorted(p.encode() for p in parts))).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def encrypt(xml: bytes, key: bytes, app_id: str, *, random_prefix: bytes | None = None) -> str:
    """Seal ``xml`` as WeChat does; returns the base64 text of the ``<Encrypt>`` element."""
    prefix = os.urandom(_RANDOM_PREFIX) if random_prefix is None else random_prefix
    if len(prefix) != _RANDOM_PREFIX:
        raise ValueError("random prefix must be 16 bytes")
    plain = prefix + struct.pack(">I", len(xml)) + xml + app_id.encode()
    padder = padding.PKCS7(_PAD_BITS).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt(encrypted: str, key: bytes) -> tuple[bytes, str]:
    """Open an ``<Encrypt>`` value: (inner xml, the AppID it was sealed for).

    Raises ValueError on anything malformed; the caller turns that into a refusal.
    """
    try:
        sealed = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("Encrypt is not base64") from exc
    if not sealed or len(sealed) % 16:
        raise ValueError("Encrypt is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    unpadder = padding.PKCS7(_PAD_BITS).unpadder()
    plain = unpadder.update(padded) + unpadder.finalize()  # ValueError on bad padding
    if len(plain) < _RANDOM_PREFIX + 4:
        raise ValueError("decrypted envelope is too short")
    (length,) = struct.unpack(">I", plain[_RANDOM_PREFIX : _RANDOM_PREFIX + 4])
    start = _RANDOM_PREFIX + 4
    if start + length > len(plain):
        raise ValueError("decrypted envelope announces more XML than it holds")
    xml = plain[start : start + length]
    try:
        app_id = plain[start + length :].decode()
    except UnicodeDecodeError as exc:
        raise ValueError("AppID in the envelope is not text") from exc
    return xml, app_id
