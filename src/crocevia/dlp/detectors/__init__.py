"""The built-in detectors, one module per kind of data."""

from __future__ import annotations

from crocevia.dlp.base import Detector
from crocevia.dlp.detectors.cards import PaymentCardDetector
from crocevia.dlp.detectors.crypto import CryptoWalletDetector
from crocevia.dlp.detectors.documents import it_identity_document_detector
from crocevia.dlp.detectors.email import EmailDetector
from crocevia.dlp.detectors.health import HealthDetector
from crocevia.dlp.detectors.iban import IbanDetector
from crocevia.dlp.detectors.italy import PartitaIvaDetector, codice_fiscale_detector
from crocevia.dlp.detectors.national_ids import national_id_detectors
from crocevia.dlp.detectors.network import IpAddressDetector
from crocevia.dlp.detectors.passwords import PasswordDetector
from crocevia.dlp.detectors.phone import PhoneDetector
from crocevia.dlp.detectors.secrets import SecretDetector


def builtin_detectors(phone_region: str = "IT") -> list[Detector]:
    """A fresh instance of every built-in detector."""
    return [
        SecretDetector(),
        CryptoWalletDetector(),
        IbanDetector(),
        PaymentCardDetector(),
        codice_fiscale_detector(),
        PartitaIvaDetector(),
        *national_id_detectors(extra_context_rules=[it_identity_document_detector()]),
        EmailDetector(),
        IpAddressDetector(),
        PasswordDetector(),
        PhoneDetector(region=phone_region),
        HealthDetector(),
    ]


__all__ = [
    "CryptoWalletDetector",
    "EmailDetector",
    "HealthDetector",
    "IbanDetector",
    "IpAddressDetector",
    "PartitaIvaDetector",
    "PasswordDetector",
    "PaymentCardDetector",
    "PhoneDetector",
    "SecretDetector",
    "builtin_detectors",
    "codice_fiscale_detector",
    "it_identity_document_detector",
    "national_id_detectors",
]
