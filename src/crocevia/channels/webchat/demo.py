"""Demo content: the Trattoria's web chat channel, and finding it for the /demo page."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from crocevia.runtime import Runtime
from crocevia.services import channels
from crocevia.services.actor import Actor
from crocevia.storage.tables import Channel, Workspace

DEMO_SETTINGS = {
    "title": "Trattoria Crocevia",
    "greeting": "Ciao! Scrivici per prenotare un tavolo o chiedere del menù. / Hi! Write to book a table.",
    "color": "#9c2f1f",
}


def seed_webchat(rt: Runtime, actor: Actor, agent_user_id: int) -> Channel:
    """Create the demo web chat channel (widget on /demo) and put the demo agent on it."""
    channel = channels.create_channel(
        rt, actor, kind="webchat", name="Web chat (sito)",
        # A fresh secret per demo: nothing to configure, nothing guessable.
        credentials={"widget_secret": secrets.token_urlsafe(32), "identity_secret": secrets.token_urlsafe(32)},
        settings=dict(DEMO_SETTINGS),
    )
    channels.set_members(rt, actor, channel.id, [agent_user_id])
    return channel


def demo_channel_public_id(rt: Runtime) -> str | None:
    """The demo workspace's first active web chat channel, else any instance's first one."""
    from crocevia.demo import DEMO_SLUG  # the demo module imports us; import late

    with rt.db.read() as s:
        base = select(Channel.public_id).where(Channel.kind == "webchat", Channel.is_active.is_(True))
        in_demo = base.join(Workspace, Workspace.id == Channel.workspace_id).where(Workspace.slug == DEMO_SLUG)
        return s.scalar(in_demo.order_by(Channel.id).limit(1)) or s.scalar(base.order_by(Channel.id).limit(1))
