"""Recognise SMS compliance keywords: opt-out (STOP), opt-in (START) and HELP.

Only a message that is the keyword and nothing else counts ("STOP", "stop!", "Stop." yes;
"please stop the reminders" no), as Twilio and the CTIA rules do. Case, accents, spaces and
punctuation are ignored, so "Disiscrivì", "S T O P" and "opt-out" match too.

English words: the ones Twilio acts on by default on long codes (it blocks further sends
itself: API error 21610), from https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out.md.
Italian words are ours: Twilio does not act on them, so the hub must honour them on its own.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Keyword = Literal["opt_out", "opt_in", "help"]

TWILIO_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
TWILIO_OPT_IN = frozenset({"START", "YES", "UNSTOP"})
TWILIO_HELP = frozenset({"HELP", "INFO"})

# Italian additions. "SI" is deliberately absent: it answers every yes/no question, and
# consent must not be inferred from a casual reply.
ITALIAN_OPT_OUT = frozenset(
    {"ANNULLA", "CANCELLA", "DISISCRIVI", "DISISCRIVIMI", "BASTA", "FERMA", "REVOCA", "DISDICI"}
)
ITALIAN_OPT_IN = frozenset({"ISCRIVI", "ISCRIVIMI", "RIPRENDI", "RIATTIVA"})
ITALIAN_HELP = frozenset({"AIUTO"})

_TABLE: dict[str, Keyword] = {
    **{w: "opt_out" for w in TWILIO_OPT_OUT | ITALIAN_OPT_OUT},
    **{w: "opt_in" for w in TWILIO_OPT_IN | ITALIAN_OPT_IN},
    **{w: "help" for w in TWILIO_HELP | ITALIAN_HELP},
}
# A keyword is short; anything longer is a sentence, whatever its letters spell.
_MAX_BODY = 40
# What an ASCII body loses (str.isalnum() is exactly [A-Za-z0-9] on ASCII): one C-level pass
# instead of a Python step per character, on every inbound message.
_NOT_ASCII_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def normalize(body: str) -> str:
    """Upper-case ASCII letters and digits only: accents stripped, everything else dropped."""
    if body.isascii():  # nothing to strip: most messages, and this runs for every one of them
        return _NOT_ASCII_ALNUM.sub("", body).upper()
    decomposed = unicodedata.normalize("NFKD", body)
    kept = (ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in "".join(kept).upper() if ch.isascii() and ch.isalnum())


def classify(body: str) -> Keyword | None:
    """The compliance keyword this whole message is, or None."""
    if len(body) > _MAX_BODY:
        return None
    return _TABLE.get(normalize(body))


def handled_by_twilio(body: str) -> bool:
    """True when Twilio itself already acts on this keyword (English defaults on long codes)."""
    word = normalize(body) if len(body) <= _MAX_BODY else ""
    return word in TWILIO_OPT_OUT | TWILIO_OPT_IN | TWILIO_HELP
