"""Channels (inboxes): connect, configure, membership, connection test."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from crocevia.api.deps import ActorDep, IdPath, RuntimeDep
from crocevia.api.schemas import ChannelCreate, ChannelPublic, ChannelUpdate, MembersIn
from crocevia.channels.registry import all_kinds, get_adapter
from crocevia.runtime import Runtime
from crocevia.services import channels
from crocevia.storage.tables import Channel

router = APIRouter(prefix="/channels", tags=["channels"])


def public(rt: Runtime, c: Channel) -> ChannelPublic:
    return ChannelPublic(id=c.id, public_id=c.public_id, kind=c.kind, name=c.name, is_active=c.is_active,
                         webhook_url=f"{rt.settings.public_url.rstrip('/')}/webhooks/{c.kind}/{c.public_id}",
                         settings=c.settings or {})


@router.get("/kinds")
def kinds(actor: ActorDep) -> list[dict[str, Any]]:
    """The channel kinds this hub can connect, with what each can do and which credentials it needs."""
    out = []
    for kind in sorted(all_kinds()):
        adapter = get_adapter(kind)
        caps = adapter.capabilities
        out.append({
            "kind": kind, "display_name": adapter.display_name,
            "credentials_schema": adapter.credentials_model.model_json_schema(),
            "capabilities": {"buttons": caps.buttons, "lists": caps.lists, "templates": caps.templates,
                             "media": caps.media, "location": caps.location, "groups": caps.groups,
                             "max_text_length": caps.max_text_length,
                             "reply_window_hours": caps.reply_window.total_seconds() / 3600
                             if caps.reply_window else None,
                             "rate_per_second": caps.rate_per_second},
        })
    return out


@router.get("", response_model=list[ChannelPublic])
def list_channels(rt: RuntimeDep, actor: ActorDep) -> list[ChannelPublic]:
    return [public(rt, c) for c in channels.list_channels(rt, actor)]


@router.post("", response_model=ChannelPublic, status_code=201)
def create_channel(body: ChannelCreate, rt: RuntimeDep, actor: ActorDep) -> ChannelPublic:
    return public(rt, channels.create_channel(rt, actor, kind=body.kind, name=body.name,
                                              credentials=body.credentials, settings=body.settings))


@router.get("/{channel_id}", response_model=ChannelPublic)
def get_channel(channel_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> ChannelPublic:
    return public(rt, channels.get_channel(rt, actor, channel_id))


@router.patch("/{channel_id}", response_model=ChannelPublic)
def update_channel(channel_id: IdPath, body: ChannelUpdate, rt: RuntimeDep, actor: ActorDep) -> ChannelPublic:
    return public(rt, channels.update_channel(rt, actor, channel_id, **body.model_dump(exclude_unset=True)))


@router.get("/{channel_id}/members")
def get_members(channel_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, list[int]]:
    return {"user_ids": channels.list_members(rt, actor, channel_id)}


@router.put("/{channel_id}/members")
def put_members(channel_id: IdPath, body: MembersIn, rt: RuntimeDep, actor: ActorDep) -> dict[str, list[int]]:
    channels.set_members(rt, actor, channel_id, body.user_ids)
    return {"user_ids": sorted(set(body.user_ids))}


@router.post("/{channel_id}/test")
def test_connection(channel_id: IdPath, rt: RuntimeDep, actor: ActorDep) -> dict[str, str]:
    return {"result": channels.test_connection(rt, actor, channel_id)}
