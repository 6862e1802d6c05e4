"""Why the advisor ranks an app where it does: short sentences in English and Italian.

A reason is a code plus parameters (what the API returns), rendered here in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "figure": {
        "en": "{share}% in {country} ({metric}; {as_of}, source {source})",
        "it": "{share}% in {country} ({metric}; {as_of}, fonte {source})",
    },
    "age_figure": {
        "en": "{share}% of people aged {band} in {country} use it ({as_of}, source {source})",
        "it": "lo usa il {share}% delle persone di {band} anni in {country} ({as_of}, fonte {source})",
    },
    "audience_age": {
        "en": "{share}% of its users worldwide are aged {band} ({as_of}, source {source})",
        "it": "il {share}% dei suoi utenti nel mondo ha {band} anni ({as_of}, fonte {source})",
    },
    "stale": {
        "en": "the figure for {country} is old ({as_of}): check a newer source",
        "it": "il dato per {country} è vecchio ({as_of}): verificare una fonte più recente",
    },
    "estimate": {
        "en": "the figure for {country} is an estimate",
        "it": "il dato per {country} è una stima",
    },
    "no_figure": {
        "en": "no public figure for {country}: counted as unknown, not as zero use",
        "it": "nessun dato pubblico per {country}: contato come ignoto, non come uso nullo",
    },
    "own": {
        "en": "{users} of your {sample} matching contacts are on it; {answered} wrote in the last {days} days",
        "it": "{users} dei tuoi {sample} contatti corrispondenti lo usano; {answered} hanno scritto negli ultimi "
              "{days} giorni",
    },
    "api_yes": {"en": "official business API: {api}", "it": "API ufficiale per aziende: {api}"},
    "api_no": {"en": "no official business API", "it": "nessuna API ufficiale per aziende"},
    "api_unknown": {"en": "official business API not confirmed", "it": "API ufficiale per aziende non confermata"},
    "payments_yes": {"en": "payments in chat: {detail}", "it": "pagamenti in chat: {detail}"},
    "payments_partial": {"en": "payments in chat only in part: {detail}",
                         "it": "pagamenti in chat solo in parte: {detail}"},
    "payments_none": {"en": "no payments in chat found", "it": "nessun pagamento in chat trovato"},
    "initiate_yes": {"en": "the business may start conversations", "it": "l'azienda può avviare le conversazioni"},
    "initiate_templates": {"en": "the business may start conversations only with approved templates",
                           "it": "l'azienda può avviare conversazioni solo con modelli approvati"},
    "initiate_no": {"en": "only the customer may start the conversation: {rules}",
                    "it": "solo il cliente può avviare la conversazione: {rules}"},
    "initiate_unknown": {"en": "not known whether the business may start conversations",
                         "it": "non è noto se l'azienda possa avviare conversazioni"},
    "bots_yes": {"en": "bots allowed", "it": "bot ammessi"},
    "bots_partial": {"en": "automation only in part", "it": "automazione solo in parte"},
    "bots_none": {"en": "no bot support found", "it": "nessun supporto per bot trovato"},
    "supported": {"en": "Crocevia connects to it", "it": "Crocevia lo collega"},
    "not_supported": {"en": "Crocevia has no connector for it yet", "it": "Crocevia non ha ancora un connettore"},
    "no_country_data": {
        "en": "no public figures for {country}: the ranking cannot use it",
        "it": "nessun dato pubblico per {country}: la classifica non può usarlo",
    },
    "small_sample": {
        "en": "only {sample} of your contacts match this audience: your own data is shown but not used in the score",
        "it": "solo {sample} dei tuoi contatti corrispondono a questo pubblico: i tuoi dati sono mostrati ma non "
              "usati nel punteggio",
    },
    "no_audience": {
        "en": "describe the audience (countries, ages or interests) to get a ranking",
        "it": "descrivi il pubblico (paesi, età o interessi) per avere una classifica",
    },
    "replaced": {
        "en": "figures replaced by an admin's upload: {datasets}",
        "it": "dati sostituiti da un caricamento di un amministratore: {datasets}",
    },
}


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        templates = TEXTS[self.code]
        return templates.get(lang, templates["en"]).format(**self.params)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"code": self.code, "params": self.params, "text": self.text(lang)}
