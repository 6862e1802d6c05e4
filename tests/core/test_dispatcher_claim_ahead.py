"""The dispatcher claims ahead per channel: a slow channel's backlog neither gets leased far beyond
what its rate can send nor holds back another channel's rows queued after it (jobs/dispatcher.py).
No timing is asserted here; the pacing itself is measured in bench/campaign_rate.py."""

from __future__ import annotations

from itertools import pairwise

from sqlalchemy import select
from tests.conftest import new_workspace

from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.jobs.dispatcher import HORIZON, Dispatcher
from crocevia.runtime import Runtime
from crocevia.services import channels, ingest
from crocevia.services.messages import SendRequest, send_message
from crocevia.storage.tables import Message, OutboxItem

DEAD = "http://127.0.0.1:9"  # nothing is sent in these tests: only claimed


def _queue(rt: Runtime, owner: object, channel: object, prefix: str, n: int) -> list[int]:
    """n replies on ``channel``, each in its own conversation; their outbox ids in order."""
    ids = []
    for i in range(n):
        res = ingest.ingest(rt, channel, [InboundMessage(external_message_id=f"{prefix}-in-{i}",  # type: ignore[arg-type]
                                                         sender_id=f"+39{prefix}{i:05d}", kind=MessageKind.TEXT,
                                                         text="ciao")])
        with rt.db.read() as s:
            conv_id = s.scalar(select(Message.conversation_id).where(Message.id == res.stored[0]))
        msg = send_message(rt, owner, conv_id, SendRequest(text=f"risposta {i}"))  # type: ignore[arg-type]
        with rt.db.read() as s:
            ids.append(s.scalars(select(OutboxItem.id).where(OutboxItem.message_id == msg.id)).one())
    return ids


def _statuses(rt: Runtime, ids: list[int]) -> dict[int, tuple[str, int]]:
    with rt.db.read() as s:
        return {r.id: (r.status, r.attempts) for r in s.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids)))}


def test_a_slow_channels_backlog_is_leased_only_a_horizon_ahead_and_does_not_block_a_fast_one(rt: Runtime) -> None:
    w = new_workspace(rt)
    slow = channels.create_channel(rt, w.owner, kind="sandbox", name="Lento", settings={"api_base": DEAD,
                                   "rate_per_second": 1},
                                   credentials={"account_id": "acct-slow", "api_key": "key-slow-12345",
                                                "webhook_secret": "secret-slow-123"})
    fast = channels.create_channel(rt, w.owner, kind="sandbox", name="Veloce", settings={"api_base": DEAD,
                                   "rate_per_second": 1000},
                                   credentials={"account_id": "acct-fast", "api_key": "key-fast-12345",
                                                "webhook_secret": "secret-fast-123"})
    slow_ids = _queue(rt, w.owner, slow, "1", 8)  # first in id order: 8 s of sends at 1 per second
    fast_ids = _queue(rt, w.owner, fast, "2", 5)

    dispatcher = Dispatcher(rt)
    try:
        first = dispatcher.claim(limit=10)  # reaches only two of the fast rows by id order
        second = dispatcher.claim(limit=10)
    finally:
        dispatcher.stop()

    claimed = [c.outbox_id for c in first + second]
    # Every fast row went out in the claims, although 8 slow rows come before them.
    assert set(fast_ids) <= set(claimed)
    # The slow channel: only about HORIZON seconds of its sends are leased; the rest stay pending and untried.
    slow_claimed = [i for i in slow_ids if i in claimed]
    assert 1 <= len(slow_claimed) <= HORIZON + 2 < len(slow_ids)
    statuses = _statuses(rt, slow_ids)
    for i in slow_ids:
        assert statuses[i] == (("in_flight", 1) if i in slow_claimed else ("pending", 0))
    # Each slow slot is a second after the previous one: the rate is kept in the reservations.
    slots = sorted(c.send_at for c in first + second if c.outbox_id in slow_claimed)
    assert all(abs((b - a) - 1.0) < 0.01 for a, b in pairwise(slots))
