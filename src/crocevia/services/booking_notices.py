"""What a customer receives about a booking made in chat: the ``.ics`` calendar invitation right after
booking (or moving) it, and a reminder ``reminder_minutes`` before the slot.

Both are durable tasks written in the booking's transaction and run after commit; both go through
``messages.enqueue_in`` (window, consent, DLP, outbox) with a key derived from the booking and its
start, so a re-run never sends twice, and a task for a booking since cancelled or moved does nothing.
When the platform's reply window is closed (WhatsApp, 24 hours after the customer last wrote), the
reminder goes out as the approved ``booking_reminder`` template instead, as ticket updates do.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.channels.registry import get_adapter
from crocevia.domain.enums import AuthorType
from crocevia.errors import CroceviaError, PolicyViolation
from crocevia.jobs.tasks import enqueue_in as enqueue_task
from crocevia.jobs.tasks import task_handler
from crocevia.runtime import Runtime
from crocevia.services.attachments import store_attachment
from crocevia.services.messages import SendRequest, enqueue_in
from crocevia.storage.tables import (
    Booking,
    BookingResource,
    BotSession,
    Channel,
    Conversation,
    Message,
    Task,
    Workspace,
)

log = logging.getLogger(__name__)

INVITE_TASK = "booking.invite"
REMIND_TASK = "booking.remind"
# The WhatsApp template (to be approved in WhatsApp Manager) for a reminder once the 24-hour window is closed.
# Body: "Promemoria: ti aspettiamo il {{2}} ({{1}})." / "Reminder: we expect you on {{2}} ({{1}})."
REMINDER_TEMPLATE = "booking_reminder"

TEXTS = {
    "invite": {"it": "Ecco l'invito per il calendario: {what}, {when}.",
               "en": "Here is the calendar invitation: {what}, {when}."},
    "remind": {"it": "Promemoria: ti aspettiamo il {when} ({what}). Se non puoi venire scrivi ANNULLA.",
               "en": "Reminder: we expect you on {when} ({what}). If you can't make it, write CANCEL."},
    "party": {"it": "{n} persone", "en": "{n} people"},
}


def schedule_in(s: Session, rt: Runtime, res: BookingResource, booking: Booking, *, invite: bool) -> None:
    """Queue the invitation and the reminder of a booking made in a conversation (API bookings have none)."""
    if booking.conversation_id is None:
        return
    payload = {"booking_id": booking.id, "starts_at": booking.starts_at.isoformat()}
    if invite:
        enqueue_task(s, workspace_id=booking.workspace_id, kind=INVITE_TASK, payload=payload)
    if res.reminder_minutes > 0:
        remind_at = booking.starts_at - timedelta(minutes=res.reminder_minutes)
        if remind_at > rt.clock.now():
            enqueue_task(s, workspace_id=booking.workspace_id, kind=REMIND_TASK, payload=payload,
                         run_after=remind_at)


def ics_for(booking: Booking, res: BookingResource, business: str, now: datetime) -> bytes:
    """An RFC 5545 VEVENT; the UID is stable so a moved booking updates the calendar entry."""
    def stamp(at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Crocevia//Bookings//IT", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:booking-{booking.id}-{booking.workspace_id}@crocevia",
        # Increases with every change, so calendar apps replace the older invitation.
        f"SEQUENCE:{int(now.timestamp())}",
        f"DTSTAMP:{stamp(now)}", f"DTSTART:{stamp(booking.starts_at)}",
        f"DTEND:{stamp(booking.starts_at + timedelta(minutes=res.slot_minutes))}",
        f"SUMMARY:{esc(f'{business} - {res.name} ({booking.party_size})')}",
        "STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _current(s: Session, task: Task) -> tuple[Booking, BookingResource, Conversation] | None:
    """The booking, if it is still confirmed at the start the task was written for."""
    booking = s.get(Booking, int(task.payload["booking_id"]))
    if booking is None or booking.status != "confirmed" or booking.conversation_id is None:
        return None
    if booking.starts_at != datetime.fromisoformat(str(task.payload["starts_at"])):
        return None  # moved since: the move queued its own notices
    res, conv = s.get(BookingResource, booking.resource_id), s.get(Conversation, booking.conversation_id)
    if res is None or conv is None:
        return None
    return booking, res, conv


def _lang(s: Session, conv: Conversation) -> str:
    sess = s.scalar(select(BotSession.lang).where(BotSession.conversation_id == conv.id))
    if sess:
        return "en" if sess == "en" else "it"
    ws = s.get(Workspace, conv.workspace_id)
    return "en" if ws is not None and ws.language == "en" else "it"


def _parts(s: Session, booking: Booking, res: BookingResource, conv: Conversation) -> tuple[str, str, str]:
    """(language, what, when) of a booking, as the customer reads them."""
    lang = _lang(s, conv)
    when = booking.starts_at.astimezone(ZoneInfo(res.timezone)).strftime("%d/%m/%Y %H:%M")
    what = f"{res.name}, {TEXTS['party'][lang].format(n=booking.party_size)}"
    return lang, what, when


def _words(s: Session, booking: Booking, res: BookingResource, conv: Conversation, key: str) -> str:
    lang, what, when = _parts(s, booking, res, conv)
    return TEXTS[key][lang].format(when=when, what=what)


def _sent(s: Session, workspace_id: int, key: str) -> bool:
    return s.scalar(select(Message.id).where(Message.workspace_id == workspace_id,
                                             Message.idempotency_key == key)) is not None


def _send(s: Session, rt: Runtime, conv: Conversation, req: SendRequest,
          template: dict[str, object] | None = None) -> None:
    """Send ``req``; when only the reply window stops it and the channel has templates, ``template``."""
    try:
        with s.begin_nested():
            enqueue_in(s, rt, conv, req, author_user_id=None)
        return
    except PolicyViolation as exc:
        channel = s.get(Channel, conv.channel_id)
        can_template = channel is not None and get_adapter(channel.kind).capabilities.templates
        if template is None or not can_template or "window_closed_at" not in exc.extra:
            log.warning("booking notice not sent: %s", exc.detail, extra={"conversation_id": conv.id})
            return
    except CroceviaError as exc:
        # An opt-out, a channel without files, a DLP block: not worth retrying.
        log.warning("booking notice not sent: %s", exc.detail, extra={"conversation_id": conv.id})
        return
    try:
        with s.begin_nested():
            enqueue_in(s, rt, conv, SendRequest(template=template, idempotency_key=req.idempotency_key,
                                                author_type=AuthorType.BOT), author_user_id=None)
    except CroceviaError as exc:
        log.warning("booking reminder template not sent: %s", exc.detail, extra={"conversation_id": conv.id})


def _key(prefix: str, task: Task) -> str:
    at = datetime.fromisoformat(str(task.payload["starts_at"]))
    return f"booking-{prefix}-{task.payload['booking_id']}-{int(at.timestamp())}"


@task_handler(INVITE_TASK)
def send_invitation(rt: Runtime, task: Task) -> None:
    key = _key("ics", task)
    with rt.db.read() as s:
        found = _current(s, task)
        if found is None or _sent(s, task.workspace_id, key):
            return
        booking, res, _ = found
        ws = s.get(Workspace, booking.workspace_id)
        data = ics_for(booking, res, ws.name if ws else "Crocevia", rt.clock.now())
    # The file first (its own transaction), then the message: a crash in between leaves an unused file.
    att = store_attachment(rt, task.workspace_id, data, "text/calendar", f"booking-{booking.id}.ics")
    with rt.db.transaction() as s:
        found = _current(s, task)
        if found is None or _sent(s, task.workspace_id, key):
            return
        booking, res, conv = found
        _send(s, rt, conv, SendRequest(text=_words(s, booking, res, conv, "invite"), attachment_id=att.id,
                                       idempotency_key=key, author_type=AuthorType.BOT))


@task_handler(REMIND_TASK)
def send_reminder(rt: Runtime, task: Task) -> None:
    key = _key("remind", task)
    with rt.db.transaction() as s:
        found = _current(s, task)
        if found is None or _sent(s, task.workspace_id, key):
            return
        booking, res, conv = found
        lang, what, when = _parts(s, booking, res, conv)
        _send(s, rt, conv, SendRequest(text=_words(s, booking, res, conv, "remind"), idempotency_key=key,
                                       author_type=AuthorType.BOT),
              template={"name": REMINDER_TEMPLATE, "language": lang, "parameters": [what, when]})
