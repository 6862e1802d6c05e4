"""Twilio's webhook signature: X-Twilio-Signature = base64(HMAC(key, URL + sorted params)).

Built from Twilio's own validator (twilio-python ``twilio/request_validator.py``) and
https://www.twilio.com/docs/usage/webhooks/webhooks-security:

* the string signed is the full URL Twilio requested (query included), followed by every
  POST parameter as ``name + value``, names sorted, several values of one name sorted;
* the key is the account Auth Token with HMAC-SHA1, unless a Webhook Setting signs with a
  SharedKey: then the request carries ``X-Twilio-Webhooks-Signature-Settings:
  key=...,algorithm=HMAC_SHA256`` and the SharedKey secret is the key;
* JSON-bodied webhooks put ``bodySHA256=<hex>`` in the URL and sign the URL alone;
* Twilio signs some URLs with the default port (:443/:80) and some without, so both count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit, urlunsplit

from crocevia.errors import SignatureInvalid
from crocevia.security import constant_time_equals

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
HMAC_SHA1 = "HMAC_SHA1"
HMAC_SHA256 = "HMAC_SHA256"
_DIGESTS = {HMAC_SHA1: hashlib.sha1, HMAC_SHA256: hashlib.sha256}


def compute_signature(
    key: str, url: str, params: Iterable[tuple[str, str]], algorithm: str = HMAC_SHA1
) -> str:
    digest = _DIGESTS.get(algorithm.upper())
    if digest is None:
        raise ValueError(f"unsupported Twilio signature algorithm {algorithm!r}")
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))
    mac = hmac.new(key.encode("utf-8"), signed.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def algorithm_from_settings(header: str | None) -> str:
    """The algorithm named by X-Twilio-Webhooks-Signature-Settings; none means HMAC-SHA1."""
    for part in (header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return HMAC_SHA1


def url_variants(url: str) -> list[str]:
    """The URL without and with its default port, as Twilio may have signed either."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal: urlsplit dropped its brackets
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default_port = 443 if parts.scheme == "https" else 80
    bare = urlunsplit(parts._replace(netloc=prefix + host))
    port = parts.port or default_port
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))
    return [url, bare, with_port] if url not in (bare, with_port) else [bare, with_port]


def verify_signature(
    *,
    url: str,
    params: list[tuple[str, str]],
    raw_body: bytes,
    signature: str | None,
    settings_header: str | None,
    auth_token: str,
    shared_key: str = "",
) -> None:
    """Raise SignatureInvalid unless ``signature`` is Twilio's for this request."""
    if not signature:
        raise SignatureInvalid(f"missing {SIGNATURE_HEADER} header")
    algorithm = algorithm_from_settings(settings_header)
    if algorithm not in _DIGESTS:
        raise SignatureInvalid(f"unsupported Twilio signature algorithm {algorithm!r}")
    if settings_header:
        if not shared_key:
            raise SignatureInvalid("request is signed with a Twilio SharedKey, but none is configured")
        key = shared_key
    else:
        key = auth_token
    body_hash = parse_qs(urlsplit(url).query).get("bodySHA256")
    if body_hash:
        # JSON webhooks: the URL is signed, and it pins the body through its SHA-256.
        if not constant_time_equals(hashlib.sha256(raw_body).hexdigest(), body_hash[0]):
            raise SignatureInvalid("bodySHA256 does not match the body")
        params = []
    for candidate in url_variants(url):
        if constant_time_equals(compute_signature(key, candidate, params, algorithm), signature):
            return
    raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the request")
