"""Prometheus /metrics: queue depth, ingest rate, send latency, failures by channel and reason, DLP findings,
counted from the rows in the database (so every process tells the same story)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from crocevia.app import build_app
from crocevia.clock import FakeClock
from crocevia.runtime import Runtime
from crocevia.storage.tables import DlpFinding, Message, OutboxItem
from tests.advisor.seed import add_channel, add_contact, add_conversation, add_message, at
from tests.conftest import Workspace

NOW = at(14, 12)


@pytest.fixture
def http(rt: Runtime) -> Iterator[TestClient]:
    rt.settings = rt.settings.model_copy(update={"metrics_token": "scrape-me-please"})
    rt.clock = FakeClock(NOW)
    with TestClient(build_app(rt.settings, runtime=rt, run_workers=False)) as c:
        yield c


def value(text: str, name: str, **labels: str) -> float:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{inner}}}" if inner else name) + r" (\S+)$"
    found = re.search(pattern, text, re.M)
    assert found, f"no {name} {labels} in:\n{text}"
    return float(found.group(1))


def test_metrics_from_the_database(rt: Runtime, ws: Workspace, http: TestClient) -> None:
    ch = add_channel(rt, ws.id, "Negozio")
    conv = add_conversation(rt, ws.id, ch, add_contact(rt, ws.id, "Pia", on=(ch,)), NOW - timedelta(hours=3))
    for minutes in (1, 2, 10):  # two inside the 5-minute window
        add_message(rt, ws.id, conv, ch, NOW - timedelta(minutes=minutes), "in")
    add_message(rt, ws.id, conv, ch, NOW - timedelta(minutes=20), "out", "agent", "failed", "invalid recipient")
    add_message(rt, ws.id, conv, ch, NOW - timedelta(hours=2), "out", "agent", "failed", "too old to count")
    with rt.db.transaction() as s:
        for created, waited in ((60, 1), (30, 3)):  # accepted → taken by the provider: 1 s and 3 s
            s.add(Message(workspace_id=ws.id, conversation_id=conv, channel_id=ch, direction="out",
                          author_type="agent", status="sent", created_at=NOW - timedelta(seconds=created),
                          sent_at=NOW - timedelta(seconds=created - waited)))
        waiting = Message(workspace_id=ws.id, conversation_id=conv, channel_id=ch, direction="out",
                          author_type="agent", status="queued", created_at=NOW)
        s.add(waiting)
        s.flush()
        s.add(OutboxItem(workspace_id=ws.id, message_id=waiting.id, channel_id=ch, status="pending"))
        s.add(DlpFinding(workspace_id=ws.id, channel_id=ch, direction="inbound", label="iban", detector="iban",
                         score=1.0, action="mask", created_at=NOW - timedelta(minutes=5)))

    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    resp = http.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert value(text, "crocevia_outbox_queue_depth", status="pending") == 1
    # 2 inbound messages in 300 s; outbound: the two sent and the queued one, also inside the window.
    assert value(text, "crocevia_messages_per_second", channel_kind="sandbox", direction="in") == round(2 / 300, 4)
    assert value(text, "crocevia_messages_per_second", channel_kind="sandbox", direction="out") == round(3 / 300, 4)
    assert value(text, "crocevia_send_failures_last_hour", channel_kind="sandbox", reason="invalid recipient") == 1
    assert "too old to count" not in text
    assert value(text, "crocevia_send_latency_seconds_count") == 2
    assert value(text, "crocevia_send_latency_seconds_sum") == 4
    assert value(text, "crocevia_send_latency_seconds", quantile="0.99") == 3
    assert value(text, "crocevia_dlp_findings_last_hour", label="iban", action="mask") == 1
    assert "/metrics" not in http.get("/api/v1/openapi.json").text
