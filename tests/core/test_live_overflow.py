"""The live feed never carries on with a gap: a subscriber whose queue overflowed is marked, so its
WebSocket is closed with 4008 and the page reconnects and reloads (issue 5's latency work batches
events per committed transaction; a batch must not lose events silently)."""

from __future__ import annotations

import asyncio
import json

from crocevia.events.bus import Event, EventBus


def test_a_committed_batch_reaches_the_subscriber_in_one_wake_up_and_in_order() -> None:
    async def scenario() -> list[str]:
        bus = EventBus()
        sub = bus.subscribe_queue(workspace_id=1)
        bus.publish_many([Event("message.created", 1, {"n": i}) for i in range(3)]
                         + [Event("message.created", 2, {"n": 99})])  # another workspace's
        await asyncio.sleep(0)
        got = [sub.queue.get_nowait().json for _ in range(sub.queue.qsize())]
        assert not sub.overflowed
        return got

    got = asyncio.run(scenario())
    assert [json.loads(g)["data"]["n"] for g in got] == [0, 1, 2]


def test_an_overflowing_subscriber_is_marked_for_a_resync() -> None:
    async def scenario() -> tuple[int, bool]:
        bus = EventBus()
        sub = bus.subscribe_queue(workspace_id=1)
        bus.publish_many([Event("message.created", 1, {"n": i}) for i in range(sub.queue.maxsize + 5)])
        await asyncio.sleep(0)
        return sub.queue.qsize(), sub.overflowed

    size, overflowed = asyncio.run(scenario())
    assert (size, overflowed) == (1000, True)
