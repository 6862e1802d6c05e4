"""The ingest hot path's shortcuts change how fast a webhook is stored, never what is stored.

Rows written through ``storage.fast.FastStatement`` (raw DBAPI cursor) read back through the
ORM exactly as rows the ORM wrote, on every engine; outgoing-webhook rows are still written
in the same transaction; inbound messages no longer wake the outbox dispatcher, outbound ones
still do; the webhook route answers unknown kinds and channels with problem+json.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, insert, select
from tests.conftest import Hub, new_workspace
from tests.core.test_pipeline import CREDS

from crocevia.channels import registry
from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.events.bus import Event
from crocevia.jobs.dispatcher import _is_outbound_message
from crocevia.runtime import Runtime
from crocevia.services import channels, ingest
from crocevia.services.events import emit
from crocevia.storage.fast import FastStatement
from crocevia.storage.tables import Contact, Conversation, Message, WebhookDelivery, WebhookSubscription


def _text(msg_id: str, sender: str, text: str = "ciao", thread: str = "") -> InboundMessage:
    return InboundMessage(external_message_id=msg_id, sender_id=sender, sender_phone=sender, sender_name="Mario",
                          kind=MessageKind.TEXT, text=text, thread_id=thread,
                          timestamp=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))


def test_inbound_rows_read_back_through_the_orm_as_written(rt: Runtime) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    first = ingest.ingest(rt, channel, [_text("m-1", "+393330000001", "prima")])
    again = ingest.ingest(rt, channel, [_text("m-2", "+393330000001", "seconda")])
    group = ingest.ingest(rt, channel, [_text("m-3", "+393330000002", "nel gruppo", thread="grp-9")])
    group2 = ingest.ingest(rt, channel, [_text("m-4", "+393330000001", "anche io", thread="grp-9")])
    with rt.db.read() as s:
        msg = s.get(Message, again.stored[0])
        assert msg is not None
        conv = s.get(Conversation, msg.conversation_id)
        contact = s.get(Contact, conv.contact_id if conv else 0)
        group_msgs = [s.get(Message, group.stored[0]), s.get(Message, group2.stored[0])]
    assert msg.text == "seconda" and msg.direction == "in" and msg.provider_message_id == "m-2"
    assert msg.content == {} and msg.created_at.tzinfo is not None
    assert conv is not None and conv.unread_count == 2 and conv.last_message_preview == "seconda"
    assert conv.last_inbound_at == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert conv.labels == [] and conv.thread_key == ""
    # Columns the hot path does not set got their model defaults.
    assert contact is not None and contact.phone_e164 == "+393330000001" and contact.name == "Mario"
    assert first.stored[0] != again.stored[0]
    assert {m.conversation_id for m in group_msgs if m} != {msg.conversation_id}
    assert len({m.conversation_id for m in group_msgs if m}) == 1  # one conversation per group, whoever writes


def test_fast_statement_round_trips_every_column_type(rt: Runtime) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    table = cast(Table, Conversation.__table__)
    when = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    with rt.db.transaction() as s:
        contact = Contact(workspace_id=w.id, name="Anna")
        s.add(contact)
        s.flush()
        values: dict[str, Any] = {"workspace_id": w.id, "channel_id": channel.id, "contact_id": contact.id,
                                  "thread_key": "", "labels": ["vip", "è"], "snoozed_until": when,
                                  "last_activity_at": when}
        stmt = FastStatement(insert(table).returning(table.c.id, table.c.labels, table.c.snoozed_until),
                             keys=tuple(values))
        conv_id, labels, snoozed = stmt.rows(s.connection(), values)[0]
    assert labels == ["vip", "è"] and snoozed == when
    with rt.db.read() as s:
        conv = s.get(Conversation, conv_id)
    assert conv is not None
    assert conv.labels == ["vip", "è"] and conv.snoozed_until == when and conv.last_activity_at == when
    # Not passed, filled from the model's Python-side defaults as the ORM would.
    assert conv.status == "open" and conv.unread_count == 0 and conv.bot_active is False
    assert conv.created_at.tzinfo is not None and abs(conv.created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_outgoing_webhook_rows_are_written_in_the_ingest_transaction(rt: Runtime) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="S", credentials=CREDS)
    with rt.db.transaction() as s:
        s.add(WebhookSubscription(workspace_id=w.id, url="http://127.0.0.1:9/hook", secret_encrypted=b"x",
                                  events=["message.created"]))
        s.add(WebhookSubscription(workspace_id=w.id, url="http://127.0.0.1:9/off", secret_encrypted=b"x",
                                  events=["*"], is_active=False))
    stored = ingest.ingest(rt, channel, [_text("m-1", "+393330000001")]).stored
    with rt.db.read() as s:
        rows = list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.workspace_id == w.id)))
    assert [r.event_type for r in rows] == ["message.created"]  # the inactive subscription gets nothing
    assert rows[0].payload["data"]["message"]["id"] == stored[0]


def test_a_subscription_added_in_the_same_transaction_gets_the_event(rt: Runtime) -> None:
    w = new_workspace(rt)
    with rt.db.transaction() as s:
        s.add(WebhookSubscription(workspace_id=w.id, url="http://127.0.0.1:9/hook", secret_encrypted=b"x",
                                  events=["*"]))
        emit(s, "contact.created", w.id, {"id": 1})
    with rt.db.read() as s:
        assert [r.event_type for r in s.scalars(select(WebhookDelivery))] == ["contact.created"]


def test_only_outbound_messages_wake_the_dispatcher() -> None:
    def created(direction: str) -> Event:
        return Event(type="message.created", workspace_id=1, data={"message": {"direction": direction}})

    assert _is_outbound_message(created("out"))
    assert not _is_outbound_message(created("in"))
    assert not _is_outbound_message(Event(type="conversation.created", workspace_id=1, data={}))


def test_registry_lookups_after_a_refresh_find_the_same_adapters() -> None:
    before = registry.all_kinds()
    registry.refresh_plugins()
    assert registry.all_kinds() == before
    assert registry.get_adapter("sandbox") is registry.get_adapter("sandbox")


def test_unknown_kind_or_channel_is_a_problem_json_404(hub: Hub) -> None:
    for path in ("/webhooks/nosuchkind/ch_x", "/webhooks/sandbox/ch_does_not_exist"):
        resp = httpx.post(f"{hub.url}{path}", content=b"{}", timeout=10)
        assert resp.status_code == 404, path
        assert resp.headers["content-type"].startswith("application/problem+json")
