"""The widget's files, the demo seeding and the /demo page."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from tests.channels.webchat.webchat_support import make_webchat
from tests.conftest import Hub, new_workspace

from crocevia.channels.webchat.demo import demo_channel_public_id, seed_webchat
from crocevia.demo import seed_demo
from crocevia.domain.enums import Role
from crocevia.runtime import Runtime
from crocevia.services import accounts, channels
from crocevia.services.actor import Actor
from crocevia.storage.tables import Channel, Workspace


def test_the_widget_files_are_served_for_any_site(hub: Hub) -> None:
    js = httpx.get(f"{hub.url}/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "data-channel" in js.text and "localStorage" in js.text
    css = httpx.get(f"{hub.url}/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_demo_page_says_how_to_set_up_when_there_is_no_web_chat(hub: Hub) -> None:
    resp = httpx.get(f"{hub.url}/demo")
    assert resp.status_code == 404
    assert "crocevia demo" in resp.text and "widget.js" not in resp.text


def test_seed_webchat_creates_a_channel_the_agent_answers_and_demo_embeds_it(hub: Hub) -> None:
    w = new_workspace(hub.rt)
    agent = accounts.create_user(hub.rt, w.owner, email="anna@demo.test", name="Anna", role=Role.AGENT,
                                 password="password-123")
    channel = seed_webchat(hub.rt, w.owner, agent.id)
    assert channel.kind == "webchat" and channels.list_members(hub.rt, w.owner, channel.id) == [agent.id]
    page = httpx.get(f"{hub.url}/demo")
    assert page.status_code == 200 and "Trattoria Crocevia" in page.text
    assert f'<script src="/widget.js" data-channel="{channel.public_id}"' in page.text
    session = httpx.post(f"{hub.url}/webchat/{channel.public_id}/session", json={}, headers={"Origin": hub.url})
    assert session.status_code == 200 and session.json()["channel"]["title"] == "Trattoria Crocevia"


def test_demo_prefers_the_demo_workspaces_channel(rt: Runtime) -> None:
    other = new_workspace(rt)
    channels.create_channel(rt, other.owner, kind="webchat", name="someone else's",
                            credentials={"widget_secret": "x" * 32})
    seed_demo(rt, emulator_url="http://127.0.0.1:9")
    public_id = demo_channel_public_id(rt)
    with rt.db.read() as s:
        slug = s.scalar(select(Workspace.slug).join(Channel, Channel.workspace_id == Workspace.id)
                        .where(Channel.public_id == public_id))
    assert slug == "demo"


def test_an_inactive_channel_is_not_demoed_and_refuses_visitors(hub: Hub) -> None:
    with make_webchat(hub) as chat:
        assert demo_channel_public_id(hub.rt) == chat.public_id
        with hub.rt.db.read() as s:
            workspace_id = s.scalar(select(Channel.workspace_id).where(Channel.id == chat.channel_id))
        assert workspace_id is not None
        channels.update_channel(hub.rt, Actor.system(workspace_id), chat.channel_id, is_active=False)
        assert demo_channel_public_id(hub.rt) is None
        resp = httpx.post(f"{chat.base}/session", json={}, headers={"Origin": hub.url})
        assert resp.status_code == 404
