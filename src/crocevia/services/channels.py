"""Connected channels (inboxes): create, configure, membership, connection test."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import delete, select

from crocevia.channels.base import ChannelAdapter, ChannelConfig
from crocevia.channels.registry import get_adapter
from crocevia.errors import NotFound, ProviderError, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit, get_user
from crocevia.services.actor import Actor
from crocevia.storage.tables import Channel, ChannelMember


def check_credentials(adapter: ChannelAdapter, credentials: dict[str, Any]) -> dict[str, Any]:
    try:
        model = adapter.credentials_model.model_validate(credentials)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"credentials.{loc}: {first['msg']}", field=f"credentials.{loc}") from exc
    return model.model_dump()


def create_channel(
    rt: Runtime, actor: Actor, *, kind: str, name: str, credentials: dict[str, Any],
    settings: dict[str, Any] | None = None,
) -> Channel:
    actor.require_admin()
    adapter = get_adapter(kind)
    if not name.strip():
        raise ValidationFailed("a channel needs a name", field="name")
    creds = check_credentials(adapter, credentials)
    with rt.db.transaction() as s:
        channel = Channel(
            workspace_id=actor.workspace_id,
            public_id="ch_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y"),
            kind=kind,
            name=name.strip(),
            credentials_encrypted=rt.box.encrypt(creds),
            settings=settings or {},
        )
        s.add(channel)
        s.flush()
        audit(s, actor, "channel.create", f"channel:{channel.id}", kind=kind)
        return channel


def update_channel(
    rt: Runtime, actor: Actor, channel_id: int, *, name: str | None = None,
    credentials: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
    is_active: bool | None = None,
) -> Channel:
    actor.require_admin()
    with rt.db.transaction() as s:
        channel = _get(s, actor, channel_id)
        if name is not None:
            channel.name = name
        if credentials is not None:
            channel.credentials_encrypted = rt.box.encrypt(check_credentials(get_adapter(channel.kind), credentials))
        if settings is not None:
            channel.settings = {**channel.settings, **settings}
        if is_active is not None:
            channel.is_active = is_active
        audit(s, actor, "channel.update", f"channel:{channel.id}")
    _cache.clear()
    return channel


def _get(s: Any, actor: Actor, channel_id: int) -> Channel:
    channel: Channel | None = s.get(Channel, channel_id)
    if channel is None or channel.workspace_id != actor.workspace_id or not actor.can_see_channel(channel_id):
        raise NotFound("channel not found")
    return channel


def get_channel(rt: Runtime, actor: Actor, channel_id: int) -> Channel:
    with rt.db.read() as s:
        return _get(s, actor, channel_id)


def list_channels(rt: Runtime, actor: Actor) -> list[Channel]:
    with rt.db.read() as s:
        q = select(Channel).where(Channel.workspace_id == actor.workspace_id).order_by(Channel.id)
        return [c for c in s.scalars(q) if actor.can_see_channel(c.id)]


def set_members(rt: Runtime, actor: Actor, channel_id: int, user_ids: list[int]) -> None:
    actor.require_admin()
    with rt.db.transaction() as s:
        _get(s, actor, channel_id)
        for uid in user_ids:
            get_user(s, actor, uid, field="user_ids")
        s.execute(delete(ChannelMember).where(ChannelMember.channel_id == channel_id))
        for uid in sorted(set(user_ids)):
            s.add(ChannelMember(channel_id=channel_id, user_id=uid))
        audit(s, actor, "channel.members", f"channel:{channel_id}", user_ids=sorted(set(user_ids)))


def list_members(rt: Runtime, actor: Actor, channel_id: int) -> list[int]:
    with rt.db.read() as s:
        _get(s, actor, channel_id)
        return list(s.scalars(select(ChannelMember.user_id).where(ChannelMember.channel_id == channel_id)))


def config_for(rt: Runtime, channel: Channel) -> ChannelConfig:
    return ChannelConfig(
        channel_id=channel.id,
        public_id=channel.public_id,
        kind=channel.kind,
        credentials=rt.box.decrypt(channel.credentials_encrypted),
        settings=channel.settings or {},
        webhook_url=f"{rt.settings.public_url.rstrip('/')}/webhooks/{channel.kind}/{channel.public_id}",
        api_base=str((channel.settings or {}).get("api_base", "")),
    )


class _TTLCache:
    """Webhook hot path: channel rows and decrypted configs, kept a few seconds.

    Short-lived on purpose: another process may change a channel, and a stale entry only
    lives ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._data: dict[tuple[str, str], tuple[float, Channel, ChannelConfig]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[Channel, ChannelConfig] | None:
        with self._lock:
            hit = self._data.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1], hit[2]
        return None

    def put(self, key: tuple[str, str], channel: Channel, cfg: ChannelConfig) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + self.ttl, channel, cfg)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_cache = _TTLCache()


def cached_channel(kind: str, public_id: str) -> tuple[Channel, ChannelConfig] | None:
    """The cached entry only, never the database: lets the webhook route skip a thread hop."""
    return _cache.get((kind, public_id))


def channel_by_public_id(rt: Runtime, kind: str, public_id: str) -> tuple[Channel, ChannelConfig]:
    key = (kind, public_id)
    hit = _cache.get(key)
    if hit:
        return hit
    with rt.db.read() as s:
        channel = s.scalar(select(Channel).where(Channel.public_id == public_id, Channel.kind == kind))
    if channel is None or not channel.is_active:
        raise NotFound("no such channel")
    cfg = config_for(rt, channel)
    _cache.put(key, channel, cfg)
    return channel, cfg


def test_connection(rt: Runtime, actor: Actor, channel_id: int) -> str:
    actor.require_admin()
    channel = get_channel(rt, actor, channel_id)
    adapter = get_adapter(channel.kind)
    with httpx.Client(timeout=10.0) as http:
        try:
            return adapter.test_connection(config_for(rt, channel), http)
        except ProviderError as exc:
            raise ValidationFailed(f"connection test failed: {exc.detail}", field="credentials") from exc
        except httpx.HTTPError as exc:
            raise ValidationFailed(f"connection test failed: {exc}", field="credentials") from exc
