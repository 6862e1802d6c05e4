"""Context vocabularies shared by several detectors (Italian and English)."""

from __future__ import annotations

# Words that say "this long number is a business reference, not personal data".
# They veto card, phone and VAT candidates unless a positive context word is near too.
REFERENCE_NUMBER_WORDS: tuple[str, ...] = (
    "ordine", "ord.", "ordini", "order", "orders", "order no", "order number",
    "tracking", "track", "tracciamento", "spedizione", "spedito", "spedita", "pacco",
    "corriere", "shipment", "shipping", "parcel", "consegna", "delivery", "awb",
    "fattura", "invoice", "ricevuta", "receipt", "scontrino", "bolla", "ddt",
    "pratica", "ticket", "rif.", "riferimento", "reference", "ref.", "ref",
    "protocollo", "prot.", "codice cliente", "customer id", "customer number",
    "matricola", "seriale", "serial", "s/n", "lotto", "batch", "imei", "sku",
    "codice articolo", "articolo", "item", "codice prodotto", "product code",
    "prenotazione", "booking", "pnr", "codice sconto", "coupon", "voucher",
    "transazione", "transaction", "contratto", "contract", "polizza", "policy",
)

PAYMENT_CARD_WORDS: tuple[str, ...] = (
    "carta", "carta di credito", "carta di debito", "bancomat", "prepagata", "postepay",
    "card", "credit card", "debit card", "cc", "visa", "mastercard", "amex",
    "american express", "maestro", "discover", "jcb", "diners", "cvv", "cvc",
    "scadenza", "scad", "expiry", "exp", "pan",
)

PHONE_WORDS: tuple[str, ...] = (
    "tel", "tel.", "telefono", "telefonami", "cell", "cell.", "cellulare", "chiama",
    "chiamami", "chiamare", "richiamami", "numero di telefono", "whatsapp", "sms", "fax",
    "contattami", "contattare", "recapito", "phone", "call", "call me", "mobile",
    "cellphone", "text me", "reach me", "contact",
)

# A number introduced by these is a tax or bank identifier even if it would dial.
NOT_A_PHONE_WORDS: tuple[str, ...] = (
    *REFERENCE_NUMBER_WORDS,
    "p.iva", "p. iva", "piva", "partita iva", "iva", "vat", "codice fiscale", "c.f.", "cf",
    "iban", "conto", "account", "cap", "zip", "postcode", "carta", "card", "cvv",
)
