"""Understanding short customer messages in Italian and English: keywords (typo-tolerant), language,
dates ("stasera alle 20", "domani", "sabato prossimo", "tomorrow"), numbers, choices."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time, timedelta
from functools import lru_cache

from rapidfuzz import fuzz, process

HANDOFF_WORDS = ("operatore", "operatrice", "umano", "persona", "assistenza", "agent", "agente", "human",
                 "person", "operator", "representative")
CANCEL_WORDS = ("annulla", "annullare", "disdici", "disdire", "cancel", "cancella")
ORDER_STATUS_WORDS = ("ordine", "order")
# Moving a booking: words that only mean that, or phrases (a lone "cambiare" could be about an order).
RESCHEDULE_WORDS = ("spostare", "sposta", "spostarla", "spostala", "spostarlo", "rimandare", "posticipare",
                    "anticipare", "reschedule", "rebook", "postpone", "cambiare orario", "cambiare l orario",
                    "cambiare data", "cambiare la data", "cambiare la prenotazione", "modificare la prenotazione",
                    "un altro orario", "un altro giorno", "altro giorno", "change my booking", "change the booking",
                    "change my reservation", "move my booking", "move the booking", "move my reservation",
                    "another time", "another day", "different time", "different day")

# Words that mean the same to a customer, in Italian and English: an intent's keyword matches its whole group.
SYNONYM_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(g) for g in (
    {"prenota", "prenotare", "prenotazione", "riservare", "riserva", "book", "booking", "reserve", "reservation"},
    {"tavolo", "tavoli", "posto", "posti", "coperti", "table", "tables", "seat", "seats"},
    {"menu", "carta", "piatti", "dishes", "food", "mangiare", "eat"},
    {"ordina", "ordinare", "ordinazione", "comprare", "acquistare", "order", "buy", "purchase"},
    {"orari", "orario", "apertura", "aperto", "aperti", "chiuso", "chiusi", "hours", "open", "opening", "closed"},
    {"prezzo", "prezzi", "costo", "costa", "tariffa", "price", "prices", "cost", "fee"},
    {"consegna", "domicilio", "spedizione", "delivery", "deliver", "shipping"},
    {"biglietto", "biglietti", "ingresso", "ticket", "tickets", "entry"},
    {"camera", "camere", "stanza", "stanze", "room", "rooms"},
    {"offerta", "offerte", "promozione", "promo", "sconto", "sconti", "offer", "offers", "deal", "discount"},
))

_IT = {"ciao", "buongiorno", "buonasera", "grazie", "vorrei", "prenotare", "prenota", "tavolo", "per", "stasera",
       "domani", "oggi", "sono", "siamo", "persone", "quando", "alle", "della", "posso", "avete", "salve", "menu",
       "ordinare", "annulla", "operatore", "si", "no", "un", "una", "il", "la", "che", "di", "e", "mi", "ci",
       "del", "al", "con", "non", "ho", "abbiamo", "sabato", "domenica", "lunedi", "sera", "pranzo", "cena",
       "quanto", "costa", "dove", "come", "perche", "anche", "ancora", "spostare", "prenotazione", "orari",
       "aperti", "potete", "volevo", "vorremmo", "buono", "bene", "nel", "sul", "questo", "questa", "io"}
_EN = {"hi", "hello", "hey", "thanks", "thank", "please", "book", "table", "for", "tonight", "tomorrow", "today",
       "we", "are", "people", "when", "at", "the", "can", "have", "you", "want", "order", "cancel", "human", "yes",
       "a", "an", "i", "would", "like", "is", "and", "of", "my", "me", "our", "to", "do", "does", "what", "how",
       "much", "where", "with", "not", "saturday", "sunday", "monday", "evening", "lunch", "dinner", "could",
       "move", "booking", "reservation", "open", "hours", "it", "this", "that", "there", "be", "will", "your"}

_WEEKDAYS = {
    "lunedi": 0, "martedi": 1, "mercoledi": 2, "giovedi": 3, "venerdi": 4, "sabato": 5, "domenica": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}
_RELATIVE = {"oggi": 0, "stasera": 0, "stanotte": 0, "today": 0, "tonight": 0, "domani": 1, "tomorrow": 1,
             "dopodomani": 2}
_NUMBERS = {"uno": 1, "una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8,
            "nove": 9, "dieci": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10}


# Normalizing is cached: a turn checks the same message and the same flow keywords many times.
@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """Lower case, accents off ("lunedì" = "lunedi"), punctuation to spaces."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^\w:/.+@-]+", " ", plain).strip()


def words(text: str) -> list[str]:
    return list(_words(text))


@lru_cache(maxsize=1024)
def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip(".") for w in normalize(text).split() if w.strip("."))


def detect_language(text: str, default: str) -> str:
    """Italian or English by common words (and Italian's accented endings and elisions: "perché", "l'orario");
    the previous language when the message says nothing either way."""
    ws = set(words(text))
    it, en = len(ws & _IT), len(ws & _EN)
    lowered = text.lower()
    it += len(re.findall(r"[àèéìòù]\b|\b(?:l|un|dell|all|nell|c|d)'\w", lowered))
    if it == en:
        return default
    return "it" if it > en else "en"


def _expand(keywords: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Keywords and their built-in synonyms."""
    out = list(keywords)
    for kw in keywords:
        k = normalize(kw)
        for group in SYNONYM_GROUPS:
            if k in group:
                out += sorted(group - {k})
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=2048)
def _intent_words(keywords: tuple[str, ...], synonyms: tuple[str, ...]) -> tuple[str, ...]:
    return _expand(keywords) + synonyms


def intent_score(text: str, keywords: list[str], synonyms: list[str] | None = None) -> int:
    """How many of an intent's keywords (each with its synonyms) the message has: 0 when none.
    "posso riservare un posto?" scores 2 on [prenotare, tavolo]: "riservare" and "posto" are synonyms."""
    score = 0
    extra = tuple(synonyms or ())
    for kw in keywords:
        if matches_keyword(text, _intent_words((kw,), ())):
            score += 1
    if score == 0 and extra and matches_keyword(text, extra):
        score = 1
    return score


TYPO_SCORE = 80


def matches_keyword(text: str, keywords: list[str] | tuple[str, ...]) -> bool:
    """A keyword appears as a word (or phrase), allowing one typo in words of five letters or more."""
    ws = _words(text)
    if not ws:
        return False
    joined = " ".join(ws)
    for kw in keywords:
        k = normalize(kw)
        if not k:
            continue
        if " " in k:
            if k in joined:
                return True
            continue
        if k in ws:
            return True
        # One typo in words of five letters or more: rapidfuzz's ratio (normalized Indel similarity), and at
        # most one letter more or less ("book" is not a typo of "rebook", nor "mano" of "umano").
        if len(k) >= 5 and any(len(w) >= 5 and abs(len(w) - len(k)) <= 1
                               and fuzz.ratio(w, k, score_cutoff=TYPO_SCORE) for w in ws):
            return True
    return False


def parse_number(text: str) -> int | None:
    m = re.search(r"\b(\d{1,6})\b", text)
    if m:
        return int(m.group(1))
    for w in words(text):
        if w in _NUMBERS:
            return _NUMBERS[w]
    return None


def parse_date(text: str, today: date) -> date | None:
    ws = words(text)
    for w in ws:
        if w in _RELATIVE:
            return today + timedelta(days=_RELATIVE[w])
    for i, w in enumerate(ws):
        if w in _WEEKDAYS:
            ahead = (_WEEKDAYS[w] - today.weekday()) % 7
            # "sabato prossimo" / "next saturday": never today
            nxt = (i + 1 < len(ws) and ws[i + 1] in ("prossimo", "prossima")) or (i > 0 and ws[i - 1] == "next")
            if ahead == 0 and nxt:
                ahead = 7
            return today + timedelta(days=ahead)
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", text)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.search(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b", text)
    if m:
        day, month = int(m.group(1)), int(m.group(2))
        year = int(m.group(3)) if m.group(3) else today.year
        year = year + 2000 if year < 100 else year
        found = _safe_date(year, month, day)
        if found and not m.group(3) and found < today:
            found = _safe_date(year + 1, month, day)
        return found
    return None


def parse_time(text: str) -> time | None:
    t = normalize(text)
    m = re.search(r"\b(\d{1,2})[:.](\d{2})\b", t)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return time(int(m.group(1)), int(m.group(2)))
    m = re.search(r"\b(\d{1,2})\s*(am|pm)\b", t)
    if m and 1 <= int(m.group(1)) <= 12:
        hour = int(m.group(1)) % 12 + (12 if m.group(2) == "pm" else 0)
        return time(hour, 0)
    m = re.search(r"\b(?:alle|ore|at)\s+(\d{1,2})\b", t)
    if m and int(m.group(1)) < 24:
        hour = int(m.group(1))
        # "stasera alle 8" means 20:00
        if hour < 12 and any(w in t for w in ("stasera", "tonight", "sera", "evening")):
            hour += 12
        return time(hour, 0)
    return None


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_email(text: str) -> str | None:
    m = re.search(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", text)
    return m.group(0) if m else None


def parse_phone(text: str) -> str | None:
    import phonenumbers

    try:
        num = phonenumbers.parse(text.strip(), "IT")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def pick_option(text: str, button_id: str | None, options: list[tuple[str, str]]) -> str | None:
    """Which option (id, title) the customer chose: the pressed button, its number, or its title."""
    ids = [o[0] for o in options]
    if button_id and button_id in ids:
        return button_id
    t = normalize(text)
    if re.fullmatch(r"\d{1,2}", t) and 1 <= int(t) <= len(options):
        return options[int(t) - 1][0]
    for oid, title in options:
        if t and (t == normalize(title) or t == normalize(oid)):
            return oid
    titles = {normalize(title): oid for oid, title in options}
    close = process.extractOne(t, list(titles), scorer=fuzz.ratio, score_cutoff=TYPO_SCORE) if t else None
    return titles[close[0]] if close else None
