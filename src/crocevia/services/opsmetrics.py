"""Operations metrics for Prometheus, read from the database at scrape time.

Web processes and workers share nothing but the database, so counting there gives one coherent
picture whatever the number of processes (an in-process counter in a worker would have no
HTTP endpoint to be scraped from). Rates are windowed counts of recent rows, found through the
(workspace_id, created_at) indexes; queue depths are counts of the queue tables by status.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select

from crocevia.runtime import Runtime
from crocevia.storage.tables import Channel, DlpFinding, Message, OutboxItem, Task, WebhookDelivery, Workspace

RATE_WINDOW = timedelta(minutes=5)
FAILURE_WINDOW = timedelta(hours=1)
LATENCY_SAMPLE = 10_000
MAX_REASONS = 20


def _label(value: object) -> str:
    text = str(value if value is not None else "")
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")[:80]


def _metric(name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, object], float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")
    return lines


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def exposition(rt: Runtime) -> str:
    """The Prometheus text format (version 0.0.4)."""
    now = rt.clock.now()
    with rt.db.read() as s:
        ws_ids = list(s.scalars(select(Workspace.id)))
        ws_filter = Message.workspace_id.in_(ws_ids or [-1])
        kinds = dict(s.execute(select(Channel.id, Channel.kind)).all())
        outbox = s.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status)).all()
        tasks = s.execute(select(Task.kind, Task.status, func.count())
                          .where(Task.status.in_(("pending", "running", "in_flight")))
                          .group_by(Task.kind, Task.status)).all()
        hooks = s.execute(select(WebhookDelivery.status, func.count())
                          .where(WebhookDelivery.status != "done").group_by(WebhookDelivery.status)).all()
        recent = s.execute(select(Message.channel_id, Message.direction, func.count())
                           .where(ws_filter, Message.created_at >= now - RATE_WINDOW)
                           .group_by(Message.channel_id, Message.direction)).all()
        failures = s.execute(select(Message.channel_id, Message.failure_reason, func.count())
                             .where(ws_filter, Message.created_at >= now - FAILURE_WINDOW,
                                    Message.direction == "out", Message.status == "failed")
                             .group_by(Message.channel_id, Message.failure_reason)).all()
        latencies = s.execute(select(Message.created_at, Message.sent_at)
                              .where(ws_filter, Message.created_at >= now - RATE_WINDOW, Message.direction == "out",
                                     Message.sent_at.is_not(None))
                              .order_by(Message.created_at.desc()).limit(LATENCY_SAMPLE)).all()
        dlp = s.execute(select(DlpFinding.label, DlpFinding.action, func.count())
                        .where(DlpFinding.workspace_id.in_(ws_ids or [-1]),
                               DlpFinding.created_at >= now - FAILURE_WINDOW)
                        .group_by(DlpFinding.label, DlpFinding.action)).all()

    per_kind: dict[tuple[str, str], int] = {}
    for channel_id, direction, n in recent:
        key = (kinds.get(channel_id, "unknown"), direction)
        per_kind[key] = per_kind.get(key, 0) + int(n)
    failed: dict[tuple[str, str], int] = {}
    for channel_id, reason, n in failures:
        key = (kinds.get(channel_id, "unknown"), (reason or "unknown")[:80])
        failed[key] = failed.get(key, 0) + int(n)
    top_failed = sorted(failed.items(), key=lambda kv: -kv[1])[:MAX_REASONS]
    waits = sorted(max(0.0, (sent - created).total_seconds()) for created, sent in latencies if sent is not None)
    seconds = RATE_WINDOW.total_seconds()

    lines: list[str] = []
    lines += _metric("crocevia_outbox_queue_depth", "gauge", "Outgoing messages in the outbox, by status.",
                     [({"status": st}, float(n)) for st, n in outbox if st in ("pending", "in_flight")])
    lines += _metric("crocevia_tasks_queue_depth", "gauge", "Durable background tasks waiting or running.",
                     [({"kind": k, "status": st}, float(n)) for k, st, n in tasks])
    lines += _metric("crocevia_webhook_deliveries_queue_depth", "gauge", "Outgoing webhooks not yet delivered.",
                     [({"status": st}, float(n)) for st, n in hooks])
    lines += _metric("crocevia_messages_per_second", "gauge",
                     "Messages stored per second over the last 5 minutes (direction in = ingest rate).",
                     [({"channel_kind": k, "direction": d}, round(n / seconds, 4))
                      for (k, d), n in sorted(per_kind.items())])
    lines += _metric("crocevia_send_failures_last_hour", "gauge", "Outgoing messages that failed in the last hour.",
                     [({"channel_kind": k, "reason": r}, float(n)) for (k, r), n in top_failed])
    lines += _metric("crocevia_send_latency_seconds", "summary",
                     "From accepting an outgoing message to the provider taking it, last 5 minutes.",
                     [({"quantile": q}, round(_quantile(waits, q), 3)) for q in (0.5, 0.9, 0.99)])
    lines += [f"crocevia_send_latency_seconds_count {len(waits)}",
              f"crocevia_send_latency_seconds_sum {round(sum(waits), 3)}"]
    lines += _metric("crocevia_dlp_findings_last_hour", "gauge", "Sensitive data found in the last hour.",
                     [({"label": lbl, "action": act}, float(n)) for lbl, act, n in dlp])
    return "\n".join(lines) + "\n"
