"""Health data: test results, diagnoses, prescriptions, lab values (HEALTH).

Phrase patterns over small Italian and English lexicons. A disease or drug name
alone is not reported ("il diabete colpisce milioni di persone" is not about
anyone); it must come with a result, a diagnosis, a prescription or a first
person ("ho il diabete"). The span is the whole phrase.
"""

from __future__ import annotations

import re

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import lowered, lowered_aligned
from crocevia.dlp.wordtrie import first_characters, trie_alternation

_CONDITIONS = (
    # Italian
    "diabete(?: (?:di )?tipo (?:1|2|uno|due))?", "diabete mellito", "tumore(?: al \\w+| alla \\w+| del \\w+)?",
    "cancro(?: al \\w+| alla \\w+)?", "carcinoma", "leucemia", "linfoma", "melanoma", "depressione",
    "disturbo bipolare", "schizofrenia", "anoressia", "bulimia", "ansia generalizzata", "hiv", "aids",
    "epatite(?: [abc])?", "sclerosi multipla", "alzheimer", "parkinson", "asma", "ipertensione",
    "pressione alta",
    "celiachia", "epilessia", "autismo", "adhd", "covid(?:-?19)?", "polmonite", "bronchite", "infarto",
    "ictus", "tubercolosi", "sifilide", "clamidia", "herpes", "gonorrea", "morbo di crohn", "crohn",
    "insufficienza renale", "cirrosi", "fibromialgia", "endometriosi", "ipotiroidismo", "ipertiroidismo",
    "demenza", "distrofia muscolare", "psoriasi", "artrite reumatoide", "mononucleosi", "influenza",
    "streptococco", "scabbia", "varicella", "morbillo",
    # English
    "diabetes(?: type (?:1|2|one|two))?", "type (?:1|2) diabetes",
    "cancer", "breast cancer", "lung cancer", "prostate cancer", "skin cancer",
    "leukemia", "leukaemia", "lymphoma", "tumor", "tumour", "depression", "bipolar disorder", "schizophrenia",
    "anorexia", "bulimia", "anxiety disorder", "hepatitis(?: [abc])?", "multiple sclerosis",
    "alzheimer'?s(?: disease)?", "parkinson'?s(?: disease)?", "asthma", "hypertension", "high blood pressure",
    "celiac disease",
    "coeliac disease", "epilepsy", "autism", "pneumonia", "bronchitis", "heart attack", "stroke(?! of)",
    "tuberculosis", "syphilis", "chlamydia", "gonorrh?oea", "gonorrhea", "crohn'?s(?: disease)?",
    "kidney failure", "cirrhosis", "fibromyalgia", "endometriosis", "hypothyroidism",
    "hyperthyroidism", "dementia", "psoriasis", "rheumatoid arthritis", "flu",
    "strep throat", "measles", "chickenpox", "ptsd", "ocd",
)
_TESTS = (
    # No bare "test": "il test di carico è positivo" is about software.
    "covid(?:-?19)?", "coronavirus", "sars-cov-2", "tampone", "hiv", "epatite(?: [abc])?",
    "hepatitis(?: [abc])?", "influenza", "flu", "strep", "streptococco", "tubercolosi", "tuberculosis",
    "test (?:covid|hiv|antigenico|rapido|molecolare|sierologico|di gravidanza)", "covid test", "hiv test",
    "sifilide", "syphilis", "clamidia", "chlamydia", "gonorrea", "gonorrhea", "mononucleosi", "mono",
    "test di gravidanza", "gravidanza", "pregnancy test", "pregnancy", "pcr", "antigen test",
    "test antigenico", "test rapido", "test molecolare", "rapid test", "droga", "drugs", "thc",
)
_DRUGS = (
    "metformina", "metformin", "insulina", "insulin", "levotiroxina", "levothyroxine", "eutirox",
    "sertralina", "sertraline", "zoloft", "fluoxetina", "fluoxetine", "prozac", "paroxetina", "paroxetine",
    "citalopram", "escitalopram", "alprazolam", "xanax", "lorazepam", "diazepam", "valium", "litio",
    "lithium", "quetiapina", "quetiapine", "olanzapina", "olanzapine", "risperidone", "aripiprazolo",
    "metotrexato", "methotrexate", "warfarin", "coumadin", "eparina", "heparin", "ozempic",
    "semaglutide", "atorvastatina", "atorvastatin", "simvastatina", "simvastatin", "ramipril",
    "amlodipina", "amlodipine", "bisoprololo", "bisoprolol", "antidepressivi", "antidepressivo",
    "antidepressants?", "antibiotici", "antibiotico", "antibiotics?", "antiretrovirali",
    "antiretrovirals?", "chemioterapia", "chemotherapy", "radioterapia", "radiotherapy",
    "amoxicillina", "amoxicillin", "augmentin", "cortisone", "prednisone", "morfina", "morphine",
    "oxycodone", "ossicodone", "metadone", "methadone", "adderall", "ritalin", "truvada",
)
_LABS = (
    "glicemia", "glucosio", "colesterolo(?: ldl| hdl| totale)?", "trigliceridi",
    "emoglobina(?: glicata)?", "hba1c", "creatinina", "ferritina", "transaminasi", "tsh", "psa",
    "saturazione", "blood sugar", "blood glucose", "glucose", "cholesterol(?: ldl| hdl)?", "ldl",
    "triglycerides", "hemoglobin(?: a1c)?", "haemoglobin", "creatinine", "ferritin", "oxygen saturation",
    "viral load", "carica virale", "cd4",
)


def _alt(words: tuple[str, ...]) -> str:
    # The big pattern is compiled VERBOSE, where a bare space means nothing.
    return "(?:" + "|".join(w.replace(" ", r"\ ") for w in sorted(words, key=len, reverse=True)) + ")"


_C, _T, _D, _L = _alt(_CONDITIONS), _alt(_TESTS), _alt(_DRUGS), _alt(_LABS)
_ART = r"(?:(?:il|lo|la|un|una|uno|i|gli|le|del|della|dello|a|an|the|some|of)\s+|(?:l|un|dell)['’]\s*)?"
_TO = r"(?:al|alla|allo|ai|agli|all'|per(?:\ il|\ la|\ l')?|a)"  # "positivo al", "negativa per il"
_WAS = r"(?:è|e'|era|è\ risultato|è\ risultata|risulta|uscito|uscita|venuto|venuta)"
_STAGE = r"(?:(?:stage|grade|stadio)\ \w{1,3}\ |(?:severe|chronic|mild|acute|grave|cronica|cronico)\ )?"
_NUM = r"\d{1,4}(?:[.,]\d{1,2})?"
_UNIT = r"(?:\s*(?:mg/dl|mg/l|mmol/l|ng/ml|µg/l|ug/l|u/l|ui/l|g/dl|%|mmhg|copie/ml|copies/ml))?"

_PHRASES = re.compile(
    rf"""
    \b(?:
      # results: "positivo al Covid", "tampone negativo", "tested positive for covid"
        (?:sono\ |è\ |e'\ |sei\ |siamo\ |risultat[oaie]\ |ri)?positiv[oaie]\ {_TO}\s*{_T}
      | (?:sono\ |è\ |risultat[oaie]\ )?negativ[oaie]\ {_TO}\s*{_T}
      | {_T}\ (?:{_WAS}\ )?(?:positiv[oa]|negativ[oa])
      | (?:esito|risultato)\ (?:positivo|negativo)\ (?:del|della|al|per\ il)\s*{_T}
      | tested\ (?:positive|negative)\ (?:for|to)\ {_ART}{_T}
      | {_T}\ (?:test\ )?(?:came\ back|was|is|result\ was|results?\ (?:are|were))\ (?:positive|negative)
      | (?:positive|negative)\ (?:for|on)\ {_ART}{_T}
      | (?:hiv|covid|flu|pregnancy)[- ]positive
      # diagnoses: "diagnosi di diabete", "diagnosed with cancer", "ho il diabete"
      | diagnosi\ (?:di|del|della|dello|d')\s*{_C}
      | mi\ (?:hanno|ha)\ diagnosticato\ {_ART}{_C}
      | diagnosticat[oaie]\ (?:con\ )?{_ART}{_C}
      | diagnos(?:ed|is)\ (?:with|of)\ {_ART}{_C}
      | (?:ho|hai|ha|abbiamo|hanno)\ (?:(?:preso|avuto|contratto|beccato)\ )?{_ART}{_C}
      | (?:i|he|she|we|they|patient|paziente)\ (?:have|has|had|got|caught|contracted)\ {_ART}{_STAGE}{_C}
      | (?:sono|è|sei|e'|i'm|i\ am|she's|she\ is|you're|you\ are)\ (?:incinta|pregnant)
      | (?:soffro|soffre|soffri|soffriamo|soffrono|sofferente|malat[oaie])\ (?:di|da)\ {_C}
      | affett[oaie]\ da\ {_C}
      | (?:suffer|suffers|suffering|suffered)\ from\ {_ART}{_C}
      # prescriptions and treatments: "prescribed metformin", "terapia con insulina"
      | (?:mi\ |gli\ |le\ |ci\ )?(?:ha|hanno)\ prescritto\ {_ART}{_D}
      | prescritt[oaie]\ {_ART}{_D}
      | prescrizione\ (?:di|del|della|per)\s*{_ART}{_D}
      | ricetta\ (?:per|del|della|di|dello)\s*{_ART}{_D}
      | terapia\ (?:con|a\ base\ di)\ {_ART}{_D}
      | (?:prendo|assumo|prende|assume|sono\ in|è\ in|faccio\ la)\ {_ART}{_D}
      | prescribed\ (?:me\ |him\ |her\ |them\ )?{_ART}{_D}
      | prescription\ (?:for|of)\ {_ART}{_D}
      | (?:i'm|i\ am|he's|she's|he\ is|she\ is)\ on\ {_ART}{_D}
      | (?:started|starting|taking|undergoing|doing)\ {_ART}{_D}
      | (?:chemioterapia|chemotherapy|radioterapia|radiotherapy|dialisi|dialysis)
      | sieropositiv[oaie]
      # lab values: "glicemia 180", "HbA1c 7,5%", "pressione 150/95"
      | {_L}\s*(?:(?:a|di|è|e'|is|was|at|of|:|=)\s*)?{_NUM}{_UNIT}
      | (?:pressione(?:\ arteriosa)?|blood\ pressure)\s*(?:(?:a|di|è|is|was|at|of|:)\s*)?
        \d{{2,3}}\s*/\s*\d{{2,3}}(?:\s*mmhg)?
    )(?![\w])
    """,
    re.IGNORECASE | re.VERBOSE,
)
# The same phrases for the lowered text (see textinfo.lowered_aligned): every
# literal in them is lower case.
_PHRASES_LOWER = re.compile(_PHRASES.pattern, re.VERBOSE)
# "HIV" and "AIDS" stand alone; case-sensitive because "aids" is an English verb.
_ACRONYMS = re.compile(r"\b(?:HIV|AIDS)\b")

def _stem(entry: str) -> str:
    """The literal letters every match of a lexicon entry starts with.

    The whole literal head, not a shorter prefix: "transaminasi", so that
    "transfer" or "transazione" do not send a message through the phrase regex.
    """
    match = re.match(r"[a-zà-ÿ][a-zà-ÿ0-9]*", entry)  # "cd4", "hba1c": digits too
    head = match.group() if match else ""
    rest = entry[len(head) :]
    if rest.startswith("?"):
        head = head[:-1]  # "gonorrh?oea": the last letter is optional
    elif rest and rest[0] not in " '’0123456789-(":
        head = ""
    if len(head) < 5 and rest[:1] in ("?", "(", "["):
        head = ""  # the word goes on with regex syntax: its 5-letter start is unknown
    if not head:
        raise ValueError(f"health lexicon entry {entry!r}: write it so it starts with a literal word")
    return head


# Every phrase pattern needs one of these word starts: a result, a diagnosis, a
# condition, a drug, a lab test. Looking for them first skips the big regex for
# the vast majority of messages.
_STEMS = frozenset(
    {"posit", "negat", "teste", "diagn", "siero", "diali", "chemi", "chemo", "radio", "press", "blood",
     "incin", "pregn"}
    | {_stem(entry) for entry in (*_CONDITIONS, *_DRUGS, *_LABS)}
)


def _trie_pattern(words: frozenset[str]) -> str:
    """A regex matching any of ``words`` at the start of a word, factored by common prefixes."""
    return f"(?={first_characters(words)})(?<![^\\W\\d_])" + trie_alternation(words)


_STEM_SEARCH = re.compile(_trie_pattern(_STEMS))


def _may_mention_health(lower: str) -> bool:
    return _STEM_SEARCH.search(lower) is not None


class HealthDetector(BaseDetector):
    name = "health"
    labels = (Label.HEALTH,)

    def __init__(self, score: float = 0.8, acronym_score: float = 0.7) -> None:
        self.score = score
        self.acronym_score = acronym_score

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        if _may_mention_health(lowered(text)):
            # The phrase alternation is ~4x faster case-sensitive on the lowered
            # text than IGNORECASE on the original (same spans when offsets match).
            aligned = lowered_aligned(text)
            pattern, subject = (_PHRASES_LOWER, aligned) if aligned is not None else (_PHRASES, text)
            for match in pattern.finditer(subject):
                found.append(Finding(Label.HEALTH, match.start(), match.end(), self.score, self.name))
        if "HIV" in text or "AIDS" in text:
            for match in _ACRONYMS.finditer(text):
                if not any(f.start <= match.start() < f.end for f in found):
                    found.append(Finding(Label.HEALTH, match.start(), match.end(), self.acronym_score, self.name))
        return found
