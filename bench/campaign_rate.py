"""Campaign dispatch against each channel's configured rate, over the real HTTP provider emulator.

    python -m bench --only campaigns [--rate-seconds 10]

One SQLite hub, three sandbox channels configured at different rates (``rate_per_second`` in the
channel's settings), and one campaign whose contacts are each reachable on one of them (the
campaign's fallback order picks it). The fan-out runs first; then the outbox dispatcher (the one the
hub runs, with its default threads and batch) sends everything to the emulator served over HTTP on a
local port. The emulator side stamps each send request as it arrives, so the rate is the one the
provider sees: (n − 1) / (last − first) per channel, and the most requests seen in any one second
(a provider's "N per second" forbids a burst above N in any second, not only on average).

The bar: every channel within ±2 % of its configured rate.
"""

from __future__ import annotations

import bisect
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import Table, func, insert, select

from bench.campaigns import _runtime
from crocevia.runtime import Runtime

RATES = (10.0, 25.0, 50.0)
TOLERANCE = 0.02
Scope = dict[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class ArrivalClock:
    """Wraps the emulator app: the monotonic arrival time of every send request, per provider account."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.hits: dict[str, list[float]] = defaultdict(list)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and scope.get("method") == "POST" and path.endswith("/messages"):
            self.hits[path.split("/")[4]].append(time.monotonic())  # /sandbox/v1/accounts/<id>/messages
        await self.app(scope, receive, send)


def _setup(rt: Runtime, emu_url: str, per_channel: dict[float, int]) -> tuple[Any, int, dict[float, tuple[int, str]]]:
    """A workspace with one sandbox channel per rate, each with its own contacts, and a campaign to all."""
    import httpx

    from crocevia.services import accounts, campaigns, channels, segments, templates
    from crocevia.services.actor import Actor
    from crocevia.storage.tables import Contact, ContactConsent, ContactIdentity

    slug = f"rate-{uuid.uuid4().hex[:6]}"
    ws, _ = accounts.create_workspace(rt, slug=slug, name=slug, owner_email=f"o@{slug}.test",
                                      owner_password="password-123")
    actor = Actor.system(ws.id)
    chans: dict[float, tuple[int, str]] = {}
    now = rt.clock.now()
    for n, (rate, count) in enumerate(per_channel.items()):
        creds = {"account_id": f"acct-rate-{n}", "api_key": f"key-rate-{n}2345", "webhook_secret": f"secret-rate-{n}23"}
        ch = channels.create_channel(rt, actor, kind="sandbox", name=f"{rate:g}/s", credentials=creds,
                                     settings={"api_base": emu_url, "rate_per_second": rate})
        httpx.post(f"{emu_url}/_emulator/accounts/sandbox", json=creds).raise_for_status()
        chans[rate] = (ch.id, creds["account_id"])
        with rt.db.transaction() as s:
            first = int(s.scalar(select(func.coalesce(func.max(Contact.id), 0))) or 0) + 1
            s.execute(insert(cast(Table, Contact.__table__)), [
                {"id": first + i, "workspace_id": ws.id, "name": f"Cliente {n}-{i}", "language": "it",
                 "tags": ["rate"], "attributes": {}, "created_at": now, "updated_at": now} for i in range(count)])
            s.execute(insert(cast(Table, ContactIdentity.__table__)), [
                {"workspace_id": ws.id, "contact_id": first + i, "channel_id": ch.id,
                 "external_id": f"+39{n}{i:08d}", "created_at": now} for i in range(count)])
            s.execute(insert(cast(Table, ContactConsent.__table__)), [
                {"workspace_id": ws.id, "contact_id": first + i, "channel_id": ch.id, "status": "opted_in",
                 "source": "bench", "changed_at": now} for i in range(count)])
    seg = segments.create_segment(rt, actor, name="Tutti", filter={"tags_any": ["rate"]})
    tpl = templates.create_template(rt, actor, {"name": "Saldi", "variants": {"it": {"text": "Ciao {{first_name}}"}}})
    camp = campaigns.create_campaign(rt, actor, {"name": "Saldi", "segment_id": seg.id, "template_id": tpl.id,
                                                 "channel_ids": [chans[r][0] for r in per_channel]})
    campaigns.start(rt, actor, camp.id)
    campaigns.run(rt, camp.id)  # the fan-out first: what is timed below is the dispatch alone
    return actor, ws.id, chans


def _max_in_one_second(stamps: list[float]) -> int:
    return max((bisect.bisect_left(stamps, t + 1.0) - i for i, t in enumerate(stamps)), default=0)


def run(seconds: float = 10.0) -> tuple[bool, str]:
    from crocevia.channels.emulator.app import build_emulator_app
    from crocevia.channels.emulator.server import serve_in_thread
    from crocevia.jobs.dispatcher import Dispatcher
    from crocevia.storage.tables import OutboxItem

    per_channel = {rate: int(rate * seconds) for rate in RATES}
    clock = ArrivalClock(cast(Asgi, build_emulator_app()))
    server = serve_in_thread(clock)
    lines = ["== Campaign dispatch vs each channel's configured rate, SQLite, HTTP emulator (bench/campaign_rate.py)",
             f"{'channel rate':>12} {'messages':>9} {'seconds':>8} {'achieved/s':>11} {'deviation':>10} "
             f"{'max in 1 s':>11}"]
    ok = True
    try:
        with _runtime("sqlite") as rt:
            _, ws_id, chans = _setup(rt, server.url, per_channel)
            total = sum(per_channel.values())
            dispatcher = Dispatcher(rt)
            dispatcher.start()
            try:
                deadline = time.monotonic() + 10 * seconds + 30
                while time.monotonic() < deadline:
                    with rt.db.read() as s:
                        done = int(s.scalar(select(func.count()).select_from(OutboxItem).where(
                            OutboxItem.workspace_id == ws_id, OutboxItem.status == "done")) or 0)
                    if done >= total:
                        break
                    time.sleep(0.2)
            finally:
                dispatcher.stop()
        for rate, (_, account) in chans.items():
            stamps = sorted(clock.hits.get(account, []))
            n = len(stamps)
            span = stamps[-1] - stamps[0] if n > 1 else 0.0
            achieved = (n - 1) / span if span else 0.0
            deviation = achieved / rate - 1
            burst = _max_in_one_second(stamps)
            ok &= n == per_channel[rate] and abs(deviation) <= TOLERANCE
            lines.append(f"{rate:>10.0f}/s {n:>9,} {span:>8.2f} {achieved:>11.2f} {deviation:>+9.1%} {burst:>11}")
    finally:
        server.stop()
    lines.append(f"bar: each channel within ±{TOLERANCE:.0%} of its configured rate -> {'MET' if ok else 'NOT MET'}")
    return ok, "\n".join(lines)


if __name__ == "__main__":
    print(run()[1])
