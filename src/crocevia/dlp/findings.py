"""What a detector reports: a labelled span of the original text."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Label(StrEnum):
    """The built-in labels. Custom detectors may use any other string."""

    CREDIT_CARD = "CREDIT_CARD"
    IBAN = "IBAN"
    IT_FISCAL_CODE = "IT_FISCAL_CODE"
    IT_VAT_CODE = "IT_VAT_CODE"
    ID_DOCUMENT = "ID_DOCUMENT"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    IP_ADDRESS = "IP_ADDRESS"
    CRYPTO_WALLET = "CRYPTO_WALLET"
    PASSWORD = "PASSWORD"
    API_KEY = "API_KEY"
    HEALTH = "HEALTH"


# Tie-break when two overlapping findings have the same score: the label whose
# validation is the strongest (a checksum beats a pattern, a pattern beats a phrase).
SPECIFICITY: dict[str, int] = {
    Label.API_KEY: 12,
    Label.CRYPTO_WALLET: 11,
    Label.IBAN: 10,
    Label.CREDIT_CARD: 9,
    Label.IT_FISCAL_CODE: 8,
    Label.IT_VAT_CODE: 7,
    Label.ID_DOCUMENT: 6,
    Label.EMAIL: 5,
    Label.IP_ADDRESS: 4,
    Label.PASSWORD: 3,
    Label.PHONE: 2,
    Label.HEALTH: 1,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of sensitive data: ``text[start:end]`` (Python str indices)."""

    label: str
    start: int
    end: int
    score: float
    detector: str

    def __post_init__(self) -> None:
        if type(self.label) is not str:  # a Label member: store the plain string
            object.__setattr__(self, "label", str(self.label))
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad span [{self.start}, {self.end})")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside 0..1")

    def overlaps(self, other: Finding) -> bool:
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, Any]:
        """The wire form used by the CLI ``--jsonl`` output and the HTTP API."""
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "score": round(self.score, 4),
            "detector": self.detector,
        }
