"""What the customer reads about their ticket, in their language, and how we recognise their questions.

Pure text and patterns (no database), so the ingest path can test a message cheaply.
"""

from __future__ import annotations

import re

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")

# The customer-visible label of each status.
STATUS_LABELS: dict[str, dict[str, str]] = {
    "it": {"new": "ricevuto", "open": "in lavorazione", "pending": "in attesa di una tua risposta",
           "on_hold": "in attesa di un fornitore", "solved": "risolto", "closed": "chiuso"},
    "en": {"new": "received", "open": "in progress", "pending": "waiting for your reply",
           "on_hold": "waiting on a third party", "solved": "solved", "closed": "closed"},
}

_TEXTS: dict[str, dict[str, str]] = {
    "it": {
        "created": "Abbiamo aperto il ticket n. {number}: «{subject}». Ti terremo aggiornato qui.",
        "status": "Aggiornamento sul ticket n. {number}: ora è «{label}».",
        "answer": "Il ticket n. {number} («{subject}») è «{label}».",
        "answer_none": "Non trovo ticket aperti a tuo nome. Scrivici pure qui il problema.",
        "answer_unknown": "Non trovo il ticket n. {number} tra i tuoi. Controlla il numero, per favore.",
        "csat": "Come valuti il nostro aiuto da 1 (male) a 5 (benissimo)? Rispondi con un numero.",
        "csat_thanks": "Grazie per il voto ({score}/5)!",
    },
    "en": {
        "created": "We opened ticket no. {number}: “{subject}”. We will keep you posted here.",
        "status": "Update on ticket no. {number}: it is now “{label}”.",
        "answer": "Ticket no. {number} (“{subject}”) is “{label}”.",
        "answer_none": "I can't find any open ticket of yours. Feel free to describe the problem here.",
        "answer_unknown": "I can't find ticket no. {number} among yours. Please check the number.",
        "csat": "How would you rate our help from 1 (poor) to 5 (great)? Reply with a number.",
        "csat_thanks": "Thank you for your rating ({score}/5)!",
    },
}

# The WhatsApp template (to be approved in WhatsApp Manager) used when the 24-hour window is closed.
# Body: "Update on ticket {{1}}: it is now {{2}}." / "Aggiornamento sul ticket {{1}}: ora è {{2}}."
STATUS_TEMPLATE = "ticket_status_update"


def language_of(*candidates: str | None) -> str:
    """The first of the contact's / workspace's languages we have texts for; Italian by default."""
    for lang in candidates:
        code = (lang or "").lower()[:2]
        if code in _TEXTS:
            return code
    return "it"


def status_label(status: str, lang: str) -> str:
    return STATUS_LABELS[language_of(lang)].get(status, status)


def text(key: str, lang: str, **values: object) -> str:
    return _TEXTS[language_of(lang)][key].format(**values)


# "a che punto è il mio ticket?", "stato della pratica 12", "what's the status of ticket 123?",
# "any update on my ticket #7" — a ticket word plus a question word, in either order.
_TICKET_WORD = r"(?:ticket|pratica|case)"
_QUESTION = re.compile(
    r"(a che punto|stato|status|aggiornament|novit|update|news|where is|dov'?è|come va)", re.IGNORECASE)
_MENTION = re.compile(_TICKET_WORD + r"\s*(?:n(?:o|r|um)?\.?\s*|numero\s*|#\s*)?(\d{1,9})?", re.IGNORECASE)
_SCORE = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*$")


def status_question(message: str) -> tuple[bool, int | None]:
    """Whether the customer asks where a ticket stands, and which number (None: their latest)."""
    mention = _MENTION.search(message)
    if mention is None or _QUESTION.search(message) is None:
        return False, None
    return True, int(mention.group(1)) if mention.group(1) else None


def csat_score(message: str) -> int | None:
    m = _SCORE.match(message)
    return int(m.group(1)) if m else None


def worth_a_look(message: str) -> bool:
    """Cheap test on every inbound text: could the ticket bot have something to say?"""
    return status_question(message)[0] or csat_score(message) is not None
