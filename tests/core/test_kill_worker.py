"""Killing a worker mid-send loses nothing and sends nothing twice (on every engine).

The emulator accepts each message and then answers late, so a SIGKILL lands while the
provider has messages the worker never recorded as sent. A second worker re-claims them after
the lease runs out and re-sends with the same idempotency key: the provider replays its
earlier answer instead of delivering again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import new_workspace
from tests.core.test_pipeline import CREDS, wait_for

from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind
from crocevia.runtime import Runtime
from crocevia.services import channels, ingest
from crocevia.services.messages import SendRequest, send_message
from crocevia.storage.tables import Message, OutboxItem

N_MESSAGES = 60


def _start_worker(database_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CROCEVIA_DATABASE_URL": database_url, "CROCEVIA_SECRET_KEY": "test-secret-key",
           "CROCEVIA_DATA_DIR": str(tmp_path), "CROCEVIA_SEND_LEASE_SECONDS": "2", "CROCEVIA_LOG_LEVEL": "WARNING",
           "CROCEVIA_SEND_BACKOFF_BASE": "0.05"}
    return subprocess.Popen([sys.executable, "-m", "crocevia.cli", "worker", "--force", "--threads", "4"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_kill_worker_mid_send_loses_nothing_and_sends_nothing_twice(
    rt: Runtime, database_url: str, tmp_path: Path, emu: httpx.Client, emulator
) -> None:
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind="sandbox", name="Sandbox", credentials=CREDS,
                                      settings={"api_base": emulator.url, "rate_per_second": 1000})
    emu.post("/_emulator/accounts/sandbox", json={**CREDS, "webhook_url": ""})
    emu.post("/_emulator/response-delay", json={"seconds": 0.3})
    conv_ids = []
    for i in range(N_MESSAGES):
        res = ingest.ingest(rt, channel, [InboundMessage(external_message_id=f"in-{i}", sender_id=f"+3933300{i:05d}",
                                                         kind=MessageKind.TEXT, text="ciao")])
        with rt.db.read() as s:
            conv_ids.append(s.scalar(select(Message.conversation_id).where(Message.id == res.stored[0])))
    for i, conv_id in enumerate(conv_ids):
        send_message(rt, w.owner, conv_id, SendRequest(text=f"risposta {i}"))

    first = _start_worker(database_url, tmp_path)
    try:
        wait_for(lambda: len(emu.get("/_emulator/accepted").json()) >= 10, timeout=30,
                 what="the first worker to start sending")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    with rt.db.read() as s:
        in_flight = s.scalar(select(func.count()).where(OutboxItem.status == "in_flight"))
    assert in_flight, "the kill should have left claimed, unrecorded sends behind"

    second = _start_worker(database_url, tmp_path)
    try:
        def all_done() -> bool:
            with rt.db.read() as s:
                return s.scalar(select(func.count()).where(OutboxItem.status != "done")) == 0

        wait_for(all_done, timeout=60, what="the second worker to finish the queue")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)

    accepted = emu.get("/_emulator/accepted").json()
    texts = sorted(a["body"]["text"] for a in accepted)
    assert texts == sorted(f"risposta {i}" for i in range(N_MESSAGES))  # every message, exactly once
    outcomes = [r["outcome"] for r in emu.get("/_emulator/requests").json()]
    assert "replayed" in outcomes, "a re-send after the crash should have been recognised by its key"
    with rt.db.read() as s:
        statuses = set(s.scalars(select(Message.status).where(Message.direction == "out")))
        ids = set(s.scalars(select(Message.provider_message_id).where(Message.direction == "out")))
    assert statuses == {"sent"}
    assert ids == {a["id"] for a in accepted}
