"""Signed, expiring URLs for attachments, so providers can fetch media we send."""

from __future__ import annotations

import time

from crocevia.runtime import Runtime
from crocevia.security import constant_time_equals
from crocevia.storage.tables import Attachment

LINK_TTL_SECONDS = 24 * 3600


def _payload(attachment_id: int, expires: int) -> str:
    return f"media:{attachment_id}:{expires}"


def signed_media_url(rt: Runtime, attachment: Attachment, ttl: int = LINK_TTL_SECONDS) -> str:
    expires = int(time.time()) + ttl
    sig = rt.box.sign(_payload(attachment.id, expires))
    return f"{rt.settings.public_url.rstrip('/')}/media/{attachment.id}?exp={expires}&sig={sig}"


def check_media_signature(rt: Runtime, attachment_id: int, expires: int, sig: str) -> bool:
    if expires < time.time():
        return False
    return constant_time_equals(rt.box.sign(_payload(attachment_id, expires)), sig)
