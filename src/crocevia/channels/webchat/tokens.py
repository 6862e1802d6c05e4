"""Visitor tokens and identity verification for the web chat widget.

A visitor token is the visitor's only credential: the widget keeps it in localStorage and sends
it with every call. It is signed (itsdangerous, HMAC-SHA256) with the channel's
``widget_secret`` and names the channel it was issued for, so a token from another channel (or
a tampered one) is refused even when two channels were given the same secret by mistake.

Identity verification follows Intercom's ``user_hash``: the business's server computes
``hex(HMAC-SHA256(identity_secret, user_id))`` and prints it into the page; only then is the
visitor treated as that known customer (and sees that customer's earlier chats).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from crocevia.channels.base import ChannelConfig
from crocevia.errors import SignatureInvalid, ValidationFailed
from crocevia.security import constant_time_equals

# The salt separates these signatures from anything else signed with the same secret.
_SALT = "crocevia-webchat-visitor-v1"
DEFAULT_MAX_AGE_DAYS = 365
MAX_USER_ID = 120  # "u_" + id + "/" + client id must fit provider_message_id (200)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}$")


@dataclass(frozen=True)
class VisitorClaims:
    channel_public_id: str
    visitor_id: str
    name: str | None = None
    email: str | None = None
    user_id: str | None = None  # set only when the business signed it (identity verified)


def _serializer(cfg: ChannelConfig) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(cfg.credentials["widget_secret"]), salt=_SALT)


def max_age_seconds(cfg: ChannelConfig) -> int:
    days = cfg.settings.get("token_max_age_days") or DEFAULT_MAX_AGE_DAYS
    return int(float(days) * 86400)


def issue_token(cfg: ChannelConfig, claims: VisitorClaims) -> str:
    payload: dict[str, Any] = {"c": claims.channel_public_id, "v": claims.visitor_id}
    # Short keys: the token travels in every request and in the WebSocket URL.
    for key, value in (("n", claims.name), ("e", claims.email), ("u", claims.user_id)):
        if value:
            payload[key] = value
    return str(_serializer(cfg).dumps(payload))


def read_token(token: str, cfg: ChannelConfig) -> VisitorClaims:
    """The claims of a token this channel issued; SignatureInvalid (401) for anything else."""
    if not token:
        raise SignatureInvalid("missing visitor token")
    try:
        payload = _serializer(cfg).loads(token, max_age=max_age_seconds(cfg))
    except SignatureExpired as exc:
        raise SignatureInvalid("visitor token expired; start a new session") from exc
    except BadSignature as exc:
        raise SignatureInvalid("visitor token is not valid for this channel") from exc
    if not isinstance(payload, dict) or not constant_time_equals(str(payload.get("c", "")), cfg.public_id):
        raise SignatureInvalid("visitor token was issued for another channel")
    visitor_id = payload.get("v")
    if not isinstance(visitor_id, str) or not visitor_id:
        raise SignatureInvalid("visitor token carries no visitor")
    return VisitorClaims(cfg.public_id, visitor_id, payload.get("n"), payload.get("e"), payload.get("u"))


def user_hash(identity_secret: str, user_id: str) -> str:
    """What the business's server computes for a logged-in customer (documented in README.md)."""
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def new_visitor_claims(cfg: ChannelConfig, *, name: str | None = None, email: str | None = None,
                       user_id: str | None = None, given_hash: str | None = None) -> VisitorClaims:
    """Claims for a new session: anonymous, or a verified customer when user_hash matches."""
    name = (name or "").strip()[:200] or None
    email = (email or "").strip()[:254] or None
    if email and not _EMAIL.match(email):
        raise ValidationFailed("email does not look like an e-mail address", field="email")
    user_id = (user_id or "").strip() or None
    if user_id is None:
        if given_hash:
            raise ValidationFailed("user_hash was sent without user_id", field="user_id")
        return VisitorClaims(cfg.public_id, "v_" + secrets.token_urlsafe(16), name, email)
    if len(user_id) > MAX_USER_ID:
        raise ValidationFailed(f"user_id is longer than {MAX_USER_ID} characters", field="user_id")
    secret = str(cfg.credentials.get("identity_secret") or "")
    if not secret:
        # Without verification anyone could type another customer's id and read their chats.
        raise ValidationFailed("this channel has no identity_secret, so user_id cannot be verified",
                               field="user_id")
    if not given_hash:
        raise ValidationFailed("user_id needs user_hash (HMAC-SHA256 of user_id with the identity secret)",
                               field="user_hash")
    if not constant_time_equals(given_hash.strip().lower(), user_hash(secret, user_id)):
        raise SignatureInvalid("user_hash does not match user_id")
    # The same customer on another device or browser is the same visitor: same history.
    return VisitorClaims(cfg.public_id, "u_" + user_id, name, email, user_id)
