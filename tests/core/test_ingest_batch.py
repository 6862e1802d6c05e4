"""Webhooks that land in the same group commit are stored together (``ingest._store_messages``):
one statement per step for the whole batch. What each provider and each agent sees must be what
one-at-a-time storing gave: every message once, in order, on the right conversation, with the
right counters, and the same events (on every engine)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import new_workspace
from tests.core.test_group_commit import hold_writer
from tests.core.test_pipeline import CREDS

from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import ConversationStatus, MessageKind
from crocevia.events.bus import Event
from crocevia.runtime import Runtime
from crocevia.services import channels, ingest
from crocevia.storage import fulltext
from crocevia.storage.tables import Channel, Contact, Conversation, Message


def _text(msg_id: str, sender: str, text: str = "ciao", *, thread: str = "",
          reply_to: str | None = None) -> InboundMessage:
    return InboundMessage(external_message_id=msg_id, sender_id=sender, sender_phone=sender, sender_name="Mario",
                          kind=MessageKind.TEXT, text=text, thread_id=thread, reply_to_external_id=reply_to)


def _in_one_batch(rt: Runtime, channel: Channel, deliveries: list[list[InboundMessage]]) -> list[Any]:
    """Deliver these webhooks so that they are committed together: the writer is held busy while
    they queue, then released. Returns each webhook's IngestResult."""
    release, held = hold_writer(rt)
    futures: list[Future[Any]] = [
        rt.db._group_commit.submit_many(ingest._ingest_deliveries, ingest._Delivery(rt, channel, events))
        for events in deliveries]
    assert not any(f.done() for f in futures)  # nothing is acknowledged before its commit
    release.set()
    held.result(10)
    return [f.result(10) for f in futures]


def _published(rt: Runtime) -> list[Event]:
    events: list[Event] = []
    rt.db.add_after_commit_hook(lambda batch: events.extend(e for e in batch if isinstance(e, Event)))
    return events


def test_a_batch_with_a_chatty_sender_a_redelivery_and_a_reply_stores_what_one_by_one_would(rt: Runtime) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    events = _published(rt)
    results = _in_one_batch(rt, channel, [
        [_text("a-1", "+393330000001", "prima")],
        [_text("b-1", "+393330000002", "salve")],
        [_text("a-2", "+393330000001", "seconda")],
        [_text("a-1", "+393330000001", "prima")],  # the provider retried a-1
        [_text("a-3", "+393330000001", "rispondo alla prima", reply_to="a-1")],
        [_text("g-1", "+393330000002", "nel gruppo", thread="grp-1"),
         _text("g-2", "+393330000001", "anche io", thread="grp-1")],  # two events in one webhook
    ])

    assert [len(r.stored) for r in results] == [1, 1, 1, 0, 1, 2]
    assert [r.duplicates for r in results] == [0, 0, 0, 1, 0, 0]
    with rt.db.read() as s:
        msgs = {m.provider_message_id: m for m in s.scalars(select(Message).where(Message.channel_id == channel.id))}
        contacts = list(s.scalars(select(Contact).where(Contact.workspace_id == w.id)))
        convs = list(s.scalars(select(Conversation).where(Conversation.channel_id == channel.id)))
    assert sorted(msgs) == ["a-1", "a-2", "a-3", "b-1", "g-1", "g-2"]
    assert len(contacts) == 2  # the second sender's group message found the contact made in this batch
    assert msgs["a-3"].reply_to_id == msgs["a-1"].id
    assert msgs["a-1"].id < msgs["a-2"].id < msgs["a-3"].id  # stored in arrival order
    mario = next(c for c in convs if c.id == msgs["a-1"].conversation_id)
    assert len(convs) == 3  # Mario, the other sender, and the group
    assert mario.unread_count == 3 and mario.last_message_preview == "rispondo alla prima"
    group = next(c for c in convs if c.thread_key == "grp-1")
    assert group.unread_count == 2 and msgs["g-1"].conversation_id == msgs["g-2"].conversation_id == group.id

    created = [e for e in events if e.type == "message.created"]
    assert [e.data["message"]["provider_message_id"] for e in created] == ["a-1", "b-1", "a-2", "a-3", "g-1", "g-2"]
    # Each event shows the conversation as it was with that message on it, as agents saw it before.
    assert [e.data["conversation"]["unread_count"] for e in created if e.data["conversation"]["id"] == mario.id] \
        == [1, 2, 3]
    assert [e.data["message"]["id"] for e in created] == [msgs[k].id for k in ("a-1", "b-1", "a-2", "a-3", "g-1",
                                                                               "g-2")]
    assert sum(e.type == "conversation.created" for e in events) == 3
    assert sum(e.type == "contact.created" for e in events) == 2


def test_in_a_batch_a_snoozed_conversation_wakes_and_a_resolved_one_is_not_reopened(rt: Runtime) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    ingest.ingest(rt, channel, [_text("s-0", "+393330000011", "prima volta")])
    ingest.ingest(rt, channel, [_text("r-0", "+393330000012", "prima volta")])
    with rt.db.transaction() as s:
        for conv in s.scalars(select(Conversation).where(Conversation.channel_id == channel.id)):
            conv.unread_count = 0
            conv.status = (ConversationStatus.SNOOZED.value if conv.last_message_preview == "prima volta"
                           and conv.contact_id == _contact(s, "+393330000011") else ConversationStatus.RESOLVED.value)
    _in_one_batch(rt, channel, [
        [_text("s-1", "+393330000011", "ci sono ancora")],
        [_text("r-1", "+393330000012", "di nuovo io")],
        [_text("r-2", "+393330000012", "e ancora")],
    ])
    with rt.db.read() as s:
        snoozer = list(s.scalars(select(Conversation).where(
            Conversation.contact_id == _contact(s, "+393330000011"))))
        returning = list(s.scalars(select(Conversation).where(
            Conversation.contact_id == _contact(s, "+393330000012")).order_by(Conversation.id)))
    assert [(c.status, c.unread_count, c.snoozed_until) for c in snoozer] == [("open", 1, None)]
    assert [(c.status, c.unread_count) for c in returning] == [("resolved", 0), ("open", 2)]
    assert returning[1].last_message_preview == "e ancora"


def _contact(s: Session, phone: str) -> int:
    contact_id = s.scalar(select(Contact.id).where(Contact.phone_e164 == phone))
    assert contact_id is not None
    return int(contact_id)


def test_a_large_batch_is_stored_whole_in_arrival_order_searchable_and_stamped_once(rt: Runtime) -> None:
    """37 webhooks in one group commit: their messages go in as multi-row INSERTs (32 + 4 + 1
    rows) with ids given out beforehand; every one is stored, in arrival order, findable by the
    inbox search, last-seen of its sender touched, and its events carry the batch's one time."""
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    events = _published(rt)
    senders = [f"+39333100{i % 7:04d}" for i in range(37)]
    results = _in_one_batch(rt, channel, [[_text(f"big-{i}", senders[i], f"messaggio numero{i} zafferano")]
                                          for i in range(37)])

    assert [len(r.stored) for r in results] == [1] * 37
    ids = [r.stored[0] for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 37
    with rt.db.read() as s:
        stored = {m.id: m for m in s.scalars(select(Message).where(Message.channel_id == channel.id))}
        seen = set(s.scalars(select(Contact.last_seen_at).where(Contact.workspace_id == w.id)))
    assert [stored[i].provider_message_id for i in ids] == [f"big-{i}" for i in range(37)]
    assert [stored[i].text for i in ids] == [f"messaggio numero{i} zafferano" for i in range(37)]
    assert len(seen) == 1 and None not in seen  # all seven senders touched, at the batch's time
    with rt.db.read() as s:  # the inbox search's own full-text query
        dialect = "postgresql" if rt.db.is_postgres else "sqlite"
        found = set(s.scalars(fulltext.matching_messages(dialect, w.id, fulltext.words("zafferano"))))
    assert found == {stored[i].conversation_id for i in ids} and len(found) == 7  # every sender's conversation
    stamps = {e.at for e in events}
    assert stamps == {stored[ids[0]].created_at.isoformat()}
