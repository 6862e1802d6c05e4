"""Satisfaction surveys in chat: CSAT (1–5) after a resolution, NPS (0–10) by campaign.

Asked with buttons where the channel has enough of them, otherwise as text; the answer is
understood from a button press or free text in Italian or English ("9", "nove", "10/10",
"⭐⭐⭐⭐"). Answers are recorded in the inbound transaction (ingest calls ``on_inbound_in``);
the follow-up question and the thank-you are sent by durable tasks after commit.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import Session

from crocevia.channels.registry import get_adapter
from crocevia.domain.enums import AuthorType
from crocevia.errors import NotFound, ValidationFailed
from crocevia.jobs.tasks import enqueue_in as enqueue_task
from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services import csat_once
from crocevia.services.actor import Actor
from crocevia.services.conversations import get_conversation_in
from crocevia.storage.fast import FastInStatement, FastStatement, connection_of
from crocevia.storage.tables import (
    Channel,
    Contact,
    Conversation,
    SurveyResponse,
    SurveySettings,
    Task,
    Workspace,
)

KINDS = {"csat": (1, 5), "nps": (0, 10)}
ANSWER_WITHIN = timedelta(days=7)
COMMENT_WITHIN = timedelta(days=1)
_MAX_ANSWER_LEN = 40

TEXTS: dict[str, dict[str, str]] = {
    "it": {
        "csat": "Come valuti l'assistenza che hai ricevuto? Rispondi con un numero da 1 (pessima) a 5 (ottima).",
        "nps": "Da 0 a 10, quanto consiglieresti {business} a un amico o a un collega? Rispondi con un numero.",
        "follow_up": "Grazie! Qual è il motivo principale del tuo voto?",
        "thanks": "Grazie per il tuo riscontro!",
    },
    "en": {
        "csat": "How would you rate the help you received? Reply with a number from 1 (poor) to 5 (excellent).",
        "nps": "From 0 to 10, how likely are you to recommend {business} to a friend or colleague? "
               "Reply with a number.",
        "follow_up": "Thank you! What is the main reason for your score?",
        "thanks": "Thanks for your feedback!",
    },
}
CSAT_LABELS = {"it": ["1 Pessima", "2 Scarsa", "3 Nella media", "4 Buona", "5 Ottima"],
               "en": ["1 Poor", "2 Fair", "3 Average", "4 Good", "5 Excellent"]}

NUMBER_WORDS = {
    # Italian
    "zero": 0, "uno": 1, "una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7,
    "otto": 8, "nove": 9, "dieci": 10,
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_OUT_OF = re.compile(r"^\D*?(\d{1,2})\s*(?:/|su|out of|of|di)\s*(\d{1,2})\b")
_DIGITS = re.compile(r"\d+")
_STARS = ("⭐", "★", "🌟")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().strip()


def parse_score(kind: str, text: str, button_id: str | None = None) -> int | None:
    """The score a reply gives, or None when it is not an answer to this survey."""
    low, high = KINDS[kind]
    if button_id and button_id.startswith(f"{kind}:"):
        value = button_id.split(":", 1)[1]
        return int(value) if value.isdigit() and low <= int(value) <= high else None
    raw = text.strip()
    if not raw or len(raw) > _MAX_ANSWER_LEN:
        return None
    stars = sum(raw.count(s) for s in _STARS)
    if stars and kind == "csat" and not _DIGITS.search(raw):
        return stars if low <= stars <= high else None
    plain = _plain(raw)
    out_of = _OUT_OF.match(plain)
    if out_of:
        score, scale = int(out_of.group(1)), int(out_of.group(2))
        if scale == high and low <= score <= high:
            return score
        return None
    numbers = [int(n) for n in _DIGITS.findall(plain)]
    if len(numbers) == 1:
        return numbers[0] if low <= numbers[0] <= high else None
    if numbers:
        return None
    words = re.findall(r"[a-z]+", plain)
    if len(words) > 3:  # "sei stato molto gentile" is a sentence, not a six
        return None
    found = [NUMBER_WORDS[w] for w in words if w in NUMBER_WORDS]
    if len(found) == 1 and low <= found[0] <= high:
        return found[0]
    return None


def language_for(contact: Contact | None, workspace: Workspace | None) -> str:
    for lang in ((contact.language if contact else None), (workspace.language if workspace else None)):
        short = (lang or "").split("-")[0].lower()
        if short in TEXTS:
            return short
    return "en"


def question(kind: str, lang: str, business: str) -> str:
    return TEXTS[lang][kind].format(business=business)


def ask_in(s: Session, rt: Runtime, conv: Conversation, kind: str, *, campaign_id: int | None = None,
           idempotency_key: str | None = None) -> SurveyResponse:
    """Ask a survey in this conversation (the caller holds the transaction). Raises what the send
    policy raises (closed window, opt-out), so a caller can record why it was not asked."""
    from crocevia.services.messages import SendRequest, enqueue_in

    if kind not in KINDS:
        raise ValidationFailed("kind must be csat or nps", field="kind")
    channel = s.get(Channel, conv.channel_id)
    contact = s.get(Contact, conv.contact_id)
    ws = s.get(Workspace, conv.workspace_id)
    assert channel is not None
    lang = language_for(contact, ws)
    caps = get_adapter(channel.kind).capabilities
    buttons: list[dict[str, str]] = []
    if kind == "csat" and caps.buttons >= 5:
        buttons = [{"id": f"csat:{i + 1}", "title": label} for i, label in enumerate(CSAT_LABELS[lang])]
    now = rt.clock.now()
    # One open question per contact and channel: an older one no longer expects an answer.
    for old in s.scalars(select(SurveyResponse).where(
            SurveyResponse.contact_id == conv.contact_id, SurveyResponse.channel_id == conv.channel_id,
            SurveyResponse.status.in_(("asked", "answered")))):
        old.status = "expired" if old.status == "asked" else "done"
    enqueue_in(s, rt, conv, SendRequest(text=question(kind, lang, ws.name if ws else ""), buttons=buttons,
                                              idempotency_key=idempotency_key, author_type=AuthorType.BOT),
                     author_user_id=None)
    resp = SurveyResponse(workspace_id=conv.workspace_id, kind=kind, conversation_id=conv.id,
                          contact_id=conv.contact_id, channel_id=conv.channel_id, campaign_id=campaign_id,
                          language=lang, status="asked", asked_at=now)
    s.add(resp)
    s.flush()
    return resp


def ask(rt: Runtime, actor: Actor, conversation_id: int, kind: str) -> SurveyResponse:
    """An agent asks a survey now."""
    actor.require_write()
    with rt.db.transaction() as s:
        conv = get_conversation_in(s, actor, conversation_id)
        return ask_in(s, rt, conv, kind)


# -- answers (called by ingest, inside its transaction) --------------------------------------------
# On the raw cursor (storage/fast.py), with or_() rather than in_() (an IN list is re-rendered on
# every execution): through the ORM session this one lookup cost as much as storing the message.
_OPEN_RESPONSE = FastStatement(select(SurveyResponse.id).where(
    SurveyResponse.contact_id == bindparam("contact_id"), SurveyResponse.channel_id == bindparam("channel_id"),
    or_(SurveyResponse.status == "asked", SurveyResponse.status == "answered"),
).order_by(SurveyResponse.id.desc()).limit(1))


_WAITING = FastInStatement(lambda contacts: select(SurveyResponse.channel_id, SurveyResponse.contact_id).where(
    SurveyResponse.contact_id.in_(contacts),
    or_(SurveyResponse.status == "asked", SurveyResponse.status == "answered")).distinct())


def open_survey_questions(conn: Connection, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (channel, contact) have a survey question waiting for their answer: one
    statement for a whole ingest batch, so that ``on_inbound_in`` runs only for them."""
    if not pairs:
        return set()
    rows = _WAITING.rows(conn, {}, sorted({contact for _, contact in pairs}))
    return {(int(channel), int(contact)) for channel, contact in rows} & pairs


def on_inbound_in(s: Session, *, channel_id: int, contact_id: int, conversation_id: int, text: str,
                  content: dict[str, Any], now: datetime) -> bool:
    """Record a survey answer or its follow-up comment; True when the message was one."""
    # Runs for every inbound message: a statement built once, an index lookup, and the ORM
    # only when there is an open question (rare).
    s.flush()  # a Core statement does not autoflush: a question asked in this transaction counts
    row = _OPEN_RESPONSE.one_or_none(connection_of(s), {"contact_id": contact_id, "channel_id": channel_id})
    if row is None:
        return False
    open_id = row[0]
    open_resp = s.get(SurveyResponse, open_id)
    if open_resp is None:
        return False
    if open_resp.status == "asked":
        if open_resp.asked_at < now - ANSWER_WITHIN:
            open_resp.status = "expired"
            return False
        button_id = str(content.get("id") or "") or None
        score = parse_score(open_resp.kind, text, button_id)
        if score is None:
            return False
        settings = s.get(SurveySettings, open_resp.workspace_id)
        follow_up = settings.follow_up if settings is not None else True
        open_resp.score, open_resp.answered_at = score, now
        open_resp.status = "answered" if follow_up else "done"
        enqueue_task(s, workspace_id=open_resp.workspace_id, kind="survey.reply",
                     payload={"response_id": open_resp.id, "conversation_id": conversation_id,
                              "what": "follow_up" if follow_up else "thanks"})
        return True
    # Answered, waiting for the reason behind the score.
    if open_resp.answered_at is None or open_resp.answered_at < now - COMMENT_WITHIN or not text.strip():
        open_resp.status = "done"
        return False
    open_resp.comment, open_resp.status = text.strip()[:2000], "done"
    enqueue_task(s, workspace_id=open_resp.workspace_id, kind="survey.reply",
                 payload={"response_id": open_resp.id, "conversation_id": conversation_id, "what": "thanks"})
    return True


def on_resolved_in(s: Session, conv: Conversation, now: datetime | None = None) -> None:
    """A conversation was just resolved: ask CSAT (after commit, by a task) if the workspace wants it,
    unless the ticket solved for it already asked (one survey per resolution: services/csat_once.py)."""
    settings = s.get(SurveySettings, conv.workspace_id)
    if settings is not None and settings.csat_on_resolve:
        if now is not None and csat_once.ticket_asked(s, conv, now):
            return
        enqueue_task(s, workspace_id=conv.workspace_id, kind="survey.ask",
                     payload={"conversation_id": conv.id, "kind": "csat"})


@task_handler("survey.ask")
def _ask_task(rt: Runtime, task: Task) -> None:
    from crocevia.errors import PolicyViolation

    with rt.db.transaction() as s:
        conv = s.get(Conversation, int(task.payload["conversation_id"]))
        if conv is None or conv.workspace_id != task.workspace_id:
            return
        if task.payload["kind"] == "csat" and csat_once.ticket_asked(s, conv, rt.clock.now()):
            return  # the ticket was solved in the meantime and its update asked already
        try:
            ask_in(s, rt, conv, str(task.payload["kind"]), idempotency_key=f"survey-ask-{task.id}")
        except PolicyViolation:
            return  # e.g. the WhatsApp window closed: a survey is not worth a paid template


@task_handler("survey.reply")
def _reply_task(rt: Runtime, task: Task) -> None:
    from crocevia.services.messages import SendRequest, enqueue_in

    with rt.db.transaction() as s:
        resp = s.get(SurveyResponse, int(task.payload["response_id"]))
        conv = s.get(Conversation, int(task.payload["conversation_id"]))
        if resp is None or conv is None or conv.workspace_id != task.workspace_id:
            return
        what = str(task.payload["what"])
        lang = resp.language if resp.language in TEXTS else "en"
        enqueue_in(s, rt, conv, SendRequest(text=TEXTS[lang][what], author_type=AuthorType.BOT,
                                            idempotency_key=f"survey-{resp.id}-{what}"), author_user_id=None)


# -- results -----------------------------------------------------------------------------------------
def score_of(kind: str, scores: list[int]) -> float | None:
    """CSAT: share of 4–5 answers (%). NPS: % promoters (9–10) minus % detractors (0–6)."""
    if not scores:
        return None
    n = len(scores)
    if kind == "csat":
        return round(100 * sum(1 for x in scores if x >= 4) / n, 1)
    return round(100 * (sum(1 for x in scores if x >= 9) - sum(1 for x in scores if x <= 6)) / n, 1)


def results(rt: Runtime, actor: Actor, kind: str, *, days: int = 90, campaign_id: int | None = None) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValidationFailed("kind must be csat or nps", field="kind")
    if not 1 <= days <= 3650:
        raise ValidationFailed("days must be between 1 and 3650", field="days")
    since = rt.clock.now() - timedelta(days=days)
    with rt.db.read() as s:
        stmt = select(SurveyResponse).where(
            SurveyResponse.workspace_id == actor.workspace_id, SurveyResponse.kind == kind,
            SurveyResponse.score.is_not(None), SurveyResponse.answered_at >= since)
        if campaign_id is not None:
            stmt = stmt.where(SurveyResponse.campaign_id == campaign_id)
        rows = list(s.scalars(stmt.order_by(SurveyResponse.answered_at)))
        asked = int(s.scalar(select(func.count()).select_from(SurveyResponse).where(
            SurveyResponse.workspace_id == actor.workspace_id, SurveyResponse.kind == kind,
            SurveyResponse.asked_at >= since)) or 0)
    low, high = KINDS[kind]
    scores = [int(r.score) for r in rows if r.score is not None]
    dist = Counter(scores)
    weeks: dict[str, list[int]] = {}
    for r in rows:
        assert r.answered_at is not None and r.score is not None
        iso = r.answered_at.isocalendar()
        weeks.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(int(r.score))
    return {
        "kind": kind, "days": days, "asked": asked, "answered": len(scores),
        "score": score_of(kind, scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "distribution": [{"score": v, "count": dist.get(v, 0)} for v in range(low, high + 1)],
        "trend": [{"week": w, "score": score_of(kind, sc), "answered": len(sc)} for w, sc in weeks.items()],
        "comments": [{"score": r.score, "comment": r.comment, "answered_at": r.answered_at.isoformat()}
                     for r in reversed(rows) if r.comment and r.answered_at][:20],
    }


def get_settings(rt: Runtime, actor: Actor) -> dict[str, Any]:
    with rt.db.read() as s:
        row = s.get(SurveySettings, actor.workspace_id)
        return {"csat_on_resolve": bool(row and row.csat_on_resolve), "follow_up": row.follow_up if row else True}


def put_settings(rt: Runtime, actor: Actor, *, csat_on_resolve: bool, follow_up: bool) -> dict[str, Any]:
    actor.require_admin()
    with rt.db.transaction() as s:
        row = s.get(SurveySettings, actor.workspace_id)
        if row is None:
            row = SurveySettings(workspace_id=actor.workspace_id)
            s.add(row)
        row.csat_on_resolve, row.follow_up = csat_on_resolve, follow_up
    return {"csat_on_resolve": csat_on_resolve, "follow_up": follow_up}


def response_dict(r: SurveyResponse) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "conversation_id": r.conversation_id, "contact_id": r.contact_id,
            "campaign_id": r.campaign_id, "status": r.status, "score": r.score, "comment": r.comment,
            "asked_at": r.asked_at.isoformat(), "answered_at": r.answered_at.isoformat() if r.answered_at else None}


def list_responses(rt: Runtime, actor: Actor, *, conversation_id: int | None = None,
                   limit: int = 100) -> list[SurveyResponse]:
    with rt.db.read() as s:
        stmt = select(SurveyResponse).where(SurveyResponse.workspace_id == actor.workspace_id)
        if conversation_id is not None:
            conv = s.get(Conversation, conversation_id)
            if conv is None or conv.workspace_id != actor.workspace_id:
                raise NotFound("conversation not found", field="conversation_id")
            stmt = stmt.where(SurveyResponse.conversation_id == conversation_id)
        return list(s.scalars(stmt.order_by(SurveyResponse.id.desc()).limit(max(1, min(limit, 500)))))
