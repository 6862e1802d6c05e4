"""Group commit (``Database.write``): webhooks that arrive together share one transaction, yet
each caller gets its own outcome, only after the commit that holds its work, and the events of
work that failed are never published (on every engine)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import new_workspace
from tests.core.test_pipeline import CREDS

from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.events.bus import Event
from crocevia.runtime import Runtime
from crocevia.services import channels, ingest
from crocevia.services.events import emit
from crocevia.storage.tables import Contact, Conversation, Message


def _text(msg_id: str, sender: str, text: str = "ciao") -> InboundMessage:
    return InboundMessage(external_message_id=msg_id, sender_id=sender, sender_phone=sender, sender_name="Mario",
                          kind=MessageKind.TEXT, text=text)


def hold_writer(rt: Runtime) -> tuple[threading.Event, Future[None]]:
    """Occupy the writer with a unit of work that waits, so what is submitted next is queued
    behind it and committed as one batch once it is released."""
    started, release = threading.Event(), threading.Event()

    def wait(_s: Session) -> None:
        started.set()
        release.wait(10)

    held = rt.db._group_commit.submit(wait)
    assert started.wait(10)
    return release, held


def test_concurrent_webhooks_are_stored_once_each_and_told_apart(rt: Runtime) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    # 40 deliveries from 4 senders, every message delivered twice (providers retry).
    deliveries = [(f"m-{i}", f"+3933300000{i % 4}") for i in range(20)] * 2
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda d: ingest.ingest(rt, channel, [_text(*d)]), deliveries))

    assert sum(len(r.stored) for r in results) == 20
    assert sum(r.duplicates for r in results) == 20
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.channel_id == channel.id)) == 20
        assert s.scalar(select(func.count()).select_from(Contact).where(Contact.workspace_id == w.id)) == 4
        convs = list(s.scalars(select(Conversation).where(Conversation.channel_id == channel.id)))
    assert len(convs) == 4
    assert sorted(c.unread_count for c in convs) == [5, 5, 5, 5]


def test_one_failing_unit_does_not_take_its_batch_down(rt: Runtime) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    published: list[str] = []
    rt.db.add_after_commit_hook(lambda events: published.extend(e.data["message"]["provider_message_id"]
                                                                for e in events if isinstance(e, Event)
                                                                and e.type == "message.created"))

    def store(msg_id: str, fail: bool = False) -> Any:
        def work(s: Session) -> Any:
            result = ingest._ingest_in(s, rt, channel, [_text(msg_id, "+393330000001")])
            if fail:
                raise ValueError("this webhook's processing broke after writing")
            return result
        return work

    release, held = hold_writer(rt)
    futures = [rt.db._group_commit.submit(store(f"b-{i}", fail=(i == 2))) for i in range(5)]
    assert not any(f.done() for f in futures)  # nothing is acknowledged before its commit
    release.set()
    held.result(10)

    with pytest.raises(ValueError, match="broke after writing"):
        futures[2].result(10)
    stored = [f.result(10).stored for i, f in enumerate(futures) if i != 2]
    assert all(len(ids) == 1 for ids in stored)
    with rt.db.read() as s:
        ids = set(s.scalars(select(Message.provider_message_id).where(Message.channel_id == channel.id)))
        conv = s.scalar(select(Conversation).where(Conversation.channel_id == channel.id))
    assert ids == {"b-0", "b-1", "b-3", "b-4"}
    assert conv is not None and conv.unread_count == 4
    assert sorted(published) == ["b-0", "b-1", "b-3", "b-4"]  # the failed one's event never went out


def test_events_are_handed_over_only_after_the_commit(rt: Runtime) -> None:
    w = new_workspace(rt)
    seen_at_publish: list[int] = []

    def count_rows(events: list[object]) -> None:
        # Another connection: sees only committed data.
        with rt.db.read() as s:
            seen_at_publish.append(s.scalar(select(func.count()).select_from(Contact)
                                            .where(Contact.workspace_id == w.id)) or 0)

    rt.db.add_after_commit_hook(count_rows)

    def work(s: Session) -> int:
        contact = Contact(workspace_id=w.id, name="Anna")
        s.add(contact)
        s.flush()
        emit(s, "contact.created", w.id, {"id": contact.id})
        return contact.id

    release, held = hold_writer(rt)
    futures = [rt.db._group_commit.submit(work) for _ in range(3)]
    release.set()
    held.result(10)
    assert len({f.result(10) for f in futures}) == 3
    assert seen_at_publish == [3]  # one batch, published once, after all three were committed
