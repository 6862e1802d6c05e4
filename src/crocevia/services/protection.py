"""Data-leak protection applied to every message and note, in both directions.

Masking happens before anything is stored, so everything downstream — the API, exports,
search, outgoing webhooks, logs, the live feed — only ever sees the masked text. A vaulted
original is kept encrypted and revealed only to allowed roles, each reveal audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crocevia.dlp.findings import Finding
from crocevia.dlp.masking import mask_with_spans
from crocevia.dlp.policy import (
    SAFE_ALTERNATIVES,
    Action,
    Decision,
    Direction,
    Rule,
    RuleKey,
    check_rule,
    decide,
    rule_for,
)
from crocevia.dlp.scanner import Scanner, build_scanner, default_scanner
from crocevia.domain.enums import Role
from crocevia.errors import NotFound, PermissionDenied, PolicyViolation, ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services.accounts import audit
from crocevia.services.actor import Actor
from crocevia.services.events import emit
from crocevia.storage.tables import Channel, DlpFinding, DlpRule, DlpVaultItem, Message, Note

EXCERPT_CONTEXT = 40
REVEAL_ROLES = frozenset({Role.OWNER, Role.ADMIN})


_scanners: dict[str, Scanner] = {}


def scanner(custom: Path | None = None) -> Scanner:
    """The built-in detectors and plugins, plus the business's own detectors file if configured."""
    if custom is None:
        return default_scanner()
    key = str(custom)
    if key not in _scanners:
        try:
            _scanners[key] = build_scanner(custom)
        except (OSError, ValueError) as exc:
            raise ValidationFailed(f"custom DLP detectors in {custom}: {exc}", field="dlp_custom_detectors") from exc
    return _scanners[key]


@dataclass
class Protected:
    """A text (and captions) after protection, and what to record once the row exists."""

    text: str
    content: dict[str, Any]
    direction: str
    channel_id: int | None
    decision: Decision
    original_text: str = ""
    original_captions: list[str] = field(default_factory=list)
    excerpts: list[tuple[Finding, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.decision.to_mask)


# The decision for a message with no finding: shared, it is never modified.
_NOTHING_FOUND = Decision([])


def _rules(s: Session, workspace_id: int) -> dict[RuleKey, Rule]:
    cache: dict[int, dict[RuleKey, Rule]] = s.info.setdefault("dlp_rules", {})
    if workspace_id not in cache:
        cache[workspace_id] = {
            (r.channel_id, r.direction, r.label): Rule(Action(r.action), r.alert)
            for r in s.scalars(select(DlpRule).where(DlpRule.workspace_id == workspace_id))
        }
    return cache[workspace_id]


def protect(
    s: Session, *, workspace_id: int, channel_id: int | None, direction: Direction, text: str,
    content: dict[str, Any] | None = None, custom: Path | None = None, text_findings: list[Finding] | None = None,
) -> Protected:
    """Scan text and media captions; mask what the rules say; refuse a blocked outbound send.

    ``text_findings``: what ``scanner(custom).scan(text)`` found, when the caller scanned the text
    already, outside the transaction (``scan_ahead``)."""
    content = dict(content) if content else {}
    sc = scanner(custom)
    found = text_findings if text_findings is not None else sc.scan(text) if text else []
    media = content.get("media")
    if not media:
        # The usual message: text only, nothing found. Nothing else to compute.
        if not found:
            return Protected(text, content, direction.value, channel_id, _NOTHING_FOUND)
        captions: list[str] = []
        per_text = [found]
    else:
        captions = [str(m.get("caption", "")) for m in media]
        per_text = [found, *(sc.scan(c) if c else [] for c in captions)]
        if not any(per_text):
            return Protected(text, content, direction.value, channel_id, _NOTHING_FOUND)
    texts = [text, *captions]
    rules = _rules(s, workspace_id)
    decisions = [decide(fs, rules, channel_id=channel_id, direction=direction.value) for fs in per_text]
    merged = Decision([pair for d in decisions for pair in d.findings])
    if merged.blocked_labels:
        labels = merged.blocked_labels
        raise PolicyViolation(
            f"This message contains {', '.join(lbl.replace('_', ' ').lower() for lbl in labels)}, which may not "
            f"be sent in chat. {' '.join(SAFE_ALTERNATIVES.get(lbl, '') for lbl in labels).strip()}",
            rule="dlp_block", labels=labels,
            alternatives={lbl: SAFE_ALTERNATIVES[lbl] for lbl in labels if lbl in SAFE_ALTERNATIVES},
        )
    masked_texts: list[str] = []
    excerpts: list[tuple[Finding, str]] = []
    for original, d in zip(texts, decisions, strict=True):
        if not d.findings:
            masked_texts.append(original)
            continue
        masked, spans = mask_with_spans(original, d.to_mask) if d.to_mask else (original, [])
        masked_texts.append(masked)
        new_span = {id(f): (a, b) for f, a, b in spans}
        for f, _rule in d.findings:
            a, b = new_span.get(id(f), (f.start, f.end))
            # Allowed data is still never copied into the audit trail in clear.
            excerpt = masked[max(0, a - EXCERPT_CONTEXT): b + EXCERPT_CONTEXT] if f in d.to_mask else f"[{f.label}]"
            excerpts.append((f, excerpt))
    if len(captions):
        content["media"] = [{**m, "caption": c} if m.get("caption") else m
                            for m, c in zip(content["media"], masked_texts[1:], strict=True)]
    protected = Protected(masked_texts[0], content, direction.value, channel_id, merged, excerpts=excerpts)
    if any(r.action is Action.VAULT for _, r in merged.findings):
        protected.original_text, protected.original_captions = text, captions
    if protected.changed:
        content.setdefault("dlp", {})["masked"] = sorted({f.label for f in merged.to_mask})
    return protected


def scan_ahead(text: str, custom: Path | None = None) -> list[Finding]:
    """What ``protect`` would find in ``text``, for a caller that can scan before its transaction.

    Why: scanning needs no database. Ingest scans each webhook's texts on the request's own
    thread, before handing the webhook to the database writer, which every webhook waits for."""
    return scanner(custom).scan(text) if text else []


def record(
    s: Session, p: Protected, *, workspace_id: int, conversation_id: int | None, message_id: int | None = None,
    note_id: int | None = None, agent_user_id: int | None = None, box_encrypt: Any = None,
    now: datetime | None = None,
) -> None:
    """Write the findings (masked excerpts only), the vault entry, and an alert event."""
    if not p.decision.findings:
        return
    for finding, excerpt in p.excerpts:
        rule = next(r for f, r in p.decision.findings if f is finding)
        if rule.action is Action.ALLOW and not rule.alert:
            continue  # allowed data (an e-mail a customer gives) is not an incident
        row = DlpFinding(workspace_id=workspace_id, channel_id=p.channel_id, conversation_id=conversation_id,
                         message_id=message_id, note_id=note_id, direction=p.direction, label=finding.label,
                         detector=finding.detector, score=finding.score, action=rule.action.value,
                         agent_user_id=agent_user_id, excerpt=excerpt[:300])
        if now is not None:
            row.created_at = now
        s.add(row)
    if p.original_text and box_encrypt is not None:
        s.add(DlpVaultItem(workspace_id=workspace_id, message_id=message_id, note_id=note_id,
                           original_encrypted=box_encrypt({"text": p.original_text,
                                                           "captions": p.original_captions})))
    if p.decision.alert:
        emit(s, "dlp.alert", workspace_id,
             {"labels": sorted({f.label for f, _ in p.decision.findings}), "direction": p.direction,
              "message_id": message_id, "note_id": note_id, "conversation_id": conversation_id,
              "action": p.decision.action.value}, channel_id=p.channel_id)


# -- reveal ---------------------------------------------------------------------------------
def reveal(rt: Runtime, actor: Actor, *, message_id: int | None = None, note_id: int | None = None) -> dict[str, Any]:
    if actor.role not in REVEAL_ROLES:
        raise PermissionDenied("your role may not reveal protected data")
    with rt.db.transaction() as s:
        if message_id is not None:
            msg = s.get(Message, message_id)
            if msg is None or msg.workspace_id != actor.workspace_id or not actor.can_see_channel(msg.channel_id):
                raise NotFound("message not found")
            item = s.scalar(select(DlpVaultItem).where(DlpVaultItem.message_id == message_id))
        else:
            note = s.get(Note, note_id)
            if note is None or note.workspace_id != actor.workspace_id:
                raise NotFound("note not found")
            item = s.scalar(select(DlpVaultItem).where(DlpVaultItem.note_id == note_id))
        if item is None:
            raise NotFound("nothing is vaulted for this message")
        audit(s, actor, "dlp.reveal", f"message:{message_id}" if message_id else f"note:{note_id}")
        return rt.box.decrypt(item.original_encrypted)


# -- rules ----------------------------------------------------------------------------------
def effective_rules(rt: Runtime, actor: Actor, channel_id: int | None = None) -> list[dict[str, Any]]:
    from crocevia.dlp.findings import Label

    with rt.db.read() as s:
        rules = _rules(s, actor.workspace_id)
    out = []
    for direction in Direction:
        for label in Label:
            r = rule_for(rules, channel_id, direction.value, label.value)
            out.append({"direction": direction.value, "label": label.value, "action": r.action.value,
                        "alert": r.alert, "channel_id": channel_id})
    return out


def set_rule(rt: Runtime, actor: Actor, *, direction: str, label: str, action: str, alert: bool = False,
             channel_id: int | None = None) -> None:
    actor.require_admin()
    try:
        d, a = Direction(direction), Action(action)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="direction" if "Direction" in str(exc) else "action") from exc
    try:
        check_rule(d.value, label, a)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="action") from exc
    with rt.db.transaction() as s:
        if channel_id is not None:
            ch = s.get(Channel, channel_id)
            if ch is None or ch.workspace_id != actor.workspace_id:
                raise NotFound("channel not found", field="channel_id")
        row = s.scalar(select(DlpRule).where(DlpRule.workspace_id == actor.workspace_id,
                                             DlpRule.channel_id.is_(None) if channel_id is None
                                             else DlpRule.channel_id == channel_id,
                                             DlpRule.direction == d.value, DlpRule.label == label))
        if row is None:
            s.add(DlpRule(workspace_id=actor.workspace_id, channel_id=channel_id, direction=d.value, label=label,
                          action=a.value, alert=alert))
        else:
            row.action, row.alert = a.value, alert
        audit(s, actor, "dlp.rule", f"{d.value}:{label}", rule_action=a.value, channel_id=channel_id)


# -- audit and report -----------------------------------------------------------------------
def findings_report(rt: Runtime, actor: Actor, *, since: datetime | None = None,
                    until: datetime | None = None) -> dict[str, Any]:
    actor.require_admin()
    with rt.db.read() as s:
        base = select(DlpFinding).where(DlpFinding.workspace_id == actor.workspace_id)
        if since:
            base = base.where(DlpFinding.created_at >= since)
        if until:
            base = base.where(DlpFinding.created_at < until)
        sub = base.subquery()

        def by(col: str) -> dict[str, int]:
            c = sub.c[col]
            return {str(k): int(v) for k, v in s.execute(select(c, func.count()).group_by(c).order_by(c)).all()}

        day = func.date(sub.c.created_at)
        per_day = [{"day": str(d), "label": lbl, "count": int(n)} for d, lbl, n in s.execute(
            select(day, sub.c.label, func.count()).group_by(day, sub.c.label).order_by(day, sub.c.label)).all()]
        return {"total": sum(by("label").values()), "by_label": by("label"), "by_direction": by("direction"),
                "by_channel": by("channel_id"), "by_agent": by("agent_user_id"), "by_action": by("action"),
                "per_day": per_day}


def list_findings(rt: Runtime, actor: Actor, *, limit: int = 100, before: int | None = None) -> list[DlpFinding]:
    actor.require_admin()
    with rt.db.read() as s:
        q = select(DlpFinding).where(DlpFinding.workspace_id == actor.workspace_id)
        if before:
            q = q.where(DlpFinding.id < before)
        return list(s.scalars(q.order_by(DlpFinding.id.desc()).limit(max(1, min(limit, 1000)))))


CSV_COLUMNS = ["id", "created_at", "label", "direction", "action", "channel_id", "conversation_id", "message_id",
               "agent_user_id", "detector", "score", "excerpt"]


def findings_csv(rt: Runtime, actor: Actor) -> Iterator[str]:
    actor.require_admin()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    with rt.db.read() as s:
        for f in s.scalars(select(DlpFinding).where(DlpFinding.workspace_id == actor.workspace_id)
                           .order_by(DlpFinding.id)):
            writer.writerow([f.id, f.created_at.isoformat(), f.label, f.direction, f.action, f.channel_id or "",
                             f.conversation_id or "", f.message_id or "", f.agent_user_id or "", f.detector,
                             round(f.score, 3), f.excerpt])
    yield buf.getvalue()
