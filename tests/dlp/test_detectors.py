"""What a user sees: each kind of data found, with the right span, in Italian and English."""

from __future__ import annotations

import pytest

from crocevia.dlp import Finding, default_scanner


def scan(text: str) -> list[Finding]:
    return default_scanner().scan(text)


def found(text: str) -> list[tuple[str, str]]:
    return [(f.label, text[f.start : f.end]) for f in scan(text)]


POSITIVES: list[tuple[str, str, str]] = [
    # (message, label, exact text of the span)
    ("Ti giro la carta 4111 1111 1111 1111 scad. 09/27", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("pay with 5500-0000-0000-0004 please", "CREDIT_CARD", "5500-0000-0000-0004"),
    ("my amex is 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"),
    ("numero carta 4242424242424242 grazie", "CREDIT_CARD", "4242424242424242"),
    ("Per il bonifico: IBAN IT60 X054 2811 1010 0000 0123 456, grazie", "IBAN", "IT60 X054 2811 1010 0000 0123 456"),
    ("wire it to DE89 3704 0044 0532 0130 00 today", "IBAN", "DE89 3704 0044 0532 0130 00"),
    ("account GB82WEST12345698765432.", "IBAN", "GB82WEST12345698765432"),
    ("Il mio IBAN è IT 60 X 05428 11101 000000123456", "IBAN", "IT 60 X 05428 11101 000000123456"),
    ("il mio codice fiscale è RSSMRA85T10A562S", "IT_FISCAL_CODE", "RSSMRA85T10A562S"),
    ("her Italian tax code is rssmra85t10a562s", "IT_FISCAL_CODE", "rssmra85t10a562s"),
    ("fattura a Rossi srl, P.IVA 00743110157", "IT_VAT_CODE", "00743110157"),
    ("invoice to Acme, VAT IT00743110157", "IT_VAT_CODE", "IT00743110157"),
    ("il mio passaporto è YA1234567", "ID_DOCUMENT", "YA1234567"),
    ("passport number YA1234567", "ID_DOCUMENT", "YA1234567"),
    ("carta d'identità CA12345AB rilasciata a Roma", "ID_DOCUMENT", "CA12345AB"),
    ("el DNI es 12345678Z", "ID_DOCUMENT", "12345678Z"),
    ("NIE X1234567L for the contract", "ID_DOCUMENT", "X1234567L"),
    ("National Insurance number AB 12 34 56 C", "ID_DOCUMENT", "AB 12 34 56 C"),
    ("numéro de sécurité sociale 2 95 10 99 126 111 93", "ID_DOCUMENT", "2 95 10 99 126 111 93"),
    ("AHV-Nummer 756.9217.0769.85", "ID_DOCUMENT", "756.9217.0769.85"),
    ("meine Steuer-ID ist 36574261809", "ID_DOCUMENT", "36574261809"),
    ("mijn BSN is 111222333", "ID_DOCUMENT", "111222333"),
    ("scrivimi a mario.rossi@example.it quando puoi", "EMAIL", "mario.rossi@example.it"),
    ("email me at john.doe+crm@acme.co.uk.", "EMAIL", "john.doe+crm@acme.co.uk"),
    ("chiamami al 333 123 4567 dopo le 18", "PHONE", "333 123 4567"),
    ("Tel. +39 02 1234 5678", "PHONE", "+39 02 1234 5678"),
    ("call me at +1 415-555-0132", "PHONE", "+1 415-555-0132"),
    ("my cell is (415) 555-0132", "PHONE", "(415) 555-0132"),
    ("il server è 192.168.1.20, entra con la vpn", "IP_ADDRESS", "192.168.1.20"),
    ("ssh to 2001:db8::8a2e:370:7334 now", "IP_ADDRESS", "2001:db8::8a2e:370:7334"),
    ("bitcoin su 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "CRYPTO_WALLET", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ("pay to 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "CRYPTO_WALLET", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ("to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "CRYPTO_WALLET", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("ETH 0x52908400098527886E0F7030069857D2E4169EE7", "CRYPTO_WALLET", "0x52908400098527886E0F7030069857D2E4169EE7"),
    ("la password è Xyz!23", "PASSWORD", "Xyz!23"),
    ("pwd: Casa2024!", "PASSWORD", "Casa2024!"),
    ("password: hunter2", "PASSWORD", "hunter2"),
    ("la password del wifi è Casa2024.", "PASSWORD", "Casa2024"),
    ("il codice OTP è 123456", "PASSWORD", "123456"),
    ("OTP 482913", "PASSWORD", "482913"),
    ("PIN 1234", "PASSWORD", "1234"),
    ("il PIN della carta è 5521", "PASSWORD", "5521"),
    ("my password is S3cret!Pass", "PASSWORD", "S3cret!Pass"),
    ("your verification code is 482 913.", "PASSWORD", "482 913"),
    ("AWS key AKIAIOSFODNN7EXAMPLE", "API_KEY", "AKIAIOSFODNN7EXAMPLE"),
    ("token ghp_" + "a1B2c3D4" * 4 + "e5F6", "API_KEY", "ghp_" + "a1B2c3D4" * 4 + "e5F6"),
    ("bot xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "API_KEY",
     "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "API_KEY", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("maps key AIzaSyA-1234567890abcdefghijklmnopqrstu", "API_KEY", "AIzaSyA-1234567890abcdefghijklmnopqrstu"),
    ("openai sk-proj-abcDEF1234567890ghiJKLmnoPQR", "API_KEY", "sk-proj-abcDEF1234567890ghiJKLmnoPQR"),
    ("il token del bot è 9f8e7d6c5b4a39281726354abcdef012.", "API_KEY", "9f8e7d6c5b4a39281726354abcdef012"),
    ("sono positivo al Covid, resto a casa", "HEALTH", "sono positivo al Covid"),
    ("tampone negativo, torno domani", "HEALTH", "tampone negativo"),
    ("mi hanno fatto la diagnosi di diabete di tipo 2", "HEALTH", "diagnosi di diabete di tipo 2"),
    ("stamattina glicemia 180", "HEALTH", "glicemia 180"),
    ("I tested positive for covid yesterday", "HEALTH", "tested positive for covid"),
    ("the doctor prescribed metformin", "HEALTH", "prescribed metformin"),
    ("she was diagnosed with breast cancer", "HEALTH", "diagnosed with breast cancer"),
    ("lui è sieropositivo", "HEALTH", "sieropositivo"),
    ("ho preso il covid la settimana scorsa", "HEALTH", "ho preso il covid"),
    ("sono incinta di tre mesi", "HEALTH", "sono incinta"),
    ("the patient has stage 2 hypertension", "HEALTH", "patient has stage 2 hypertension"),
    ("my ssn is 536-90-4399", "ID_DOCUMENT", "536-90-4399"),
    ("he has HIV", "HEALTH", "he has HIV"),
    ("risultato: HIV, da ricontrollare", "HEALTH", "HIV"),
]


@pytest.mark.parametrize(("text", "label", "value"), POSITIVES, ids=[p[0][:40] for p in POSITIVES])
def test_detected_with_exact_span(text: str, label: str, value: str) -> None:
    assert found(text) == [(label, value)]


NEGATIVES = [
    "ordine n. 4512 7788 1234",
    "il tuo ordine n. 0212345678 è stato spedito",
    "order 3512 7788 1234 5678 shipped",
    "tracking 1Z999AA10123456784",
    "spedizione BRT n. 0123 4567 8901 23 in consegna",
    "il pacco LX123456789IT è in giacenza",
    "totale € 1.234,50",
    "it costs $1,299.99",
    "ci vediamo il 12/03/2024 alle 14:30",
    "ci vediamo il 03/12/2024",
    "meeting on 2024-03-12 at 14:30:00",
    "fattura n. 2024/00123 del 12.03.2024",
    "la carta 4111 1111 1111 1112 non passa",  # Luhn fails
    "IBAN IT60 X054 2811 1010 0000 0123 457",  # mod-97 fails
    "il CF RSSMRA85T10A562X è sbagliato",  # wrong check letter
    "P.IVA 00743110158 non valida",  # wrong check digit
    "indirizzo 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # base58check fails
    "passaporto? non lo trovo",
    "YA1234567",  # passport shape without a document word
    "la password è scaduta",
    "password dimenticata, come faccio il reset?",
    "the password policy requires 12 characters",
    "l'OTP non mi arriva",
    "codice cliente 123456",
    "aggiorna alla versione 1.2.3",
    "il test di carico è positivo, andiamo in produzione",
    "il feedback del cliente è stato negativo",
    "the token expires tomorrow",
    "il diabete colpisce milioni di persone",
    "she has a stroke of genius",
    "IT 60 X 05428 11101 000000123457",  # spaced IBAN, bad checksum: not a phone either
    "Ciao Marco, ci vediamo domani?",
    "",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_not_a_finding(text: str) -> None:
    assert found(text) == []


def test_several_findings_in_one_message_are_sorted_by_position() -> None:
    text = "Mario Rossi, mario@example.com, cell +39 333 123 4567, CF RSSMRA85T10A562S"
    assert found(text) == [
        ("EMAIL", "mario@example.com"),
        ("PHONE", "+39 333 123 4567"),
        ("IT_FISCAL_CODE", "RSSMRA85T10A562S"),
    ]


def test_card_followed_by_cvv_is_split_off() -> None:
    assert found("carta 4111 1111 1111 1111 123") == [("CREDIT_CARD", "4111 1111 1111 1111")]


def test_luhn_valid_number_in_order_context_is_not_a_card() -> None:
    assert found("il tuo ordine 4111 1111 1111 1111 è spedito") == []
    # ...unless the card words are there too
    assert found("ordine pagato con la carta 4111 1111 1111 1111") == [("CREDIT_CARD", "4111 1111 1111 1111")]


def test_mistyped_iban_digits_are_not_a_phone_or_card() -> None:
    assert found("is NL46 SYWN 3617 4474 31 right?") == []


def test_offsets_are_python_string_indices_with_non_ascii_text() -> None:
    text = "è così: città 😀 carta 4111111111111111"
    [finding] = scan(text)
    assert text[finding.start : finding.end] == "4111111111111111"
    assert finding.to_dict() == {
        "start": finding.start,
        "end": finding.end,
        "label": "CREDIT_CARD",
        "score": finding.score,
        "detector": "payment_card",
    }


def test_pem_private_key_block() -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c3\nq9w8e7r6\n-----END RSA PRIVATE KEY-----"
    text = f"eccola:\n{key}\nnon condividerla"
    assert found(text) == [("API_KEY", key)]


def test_jwt_needs_a_header_with_alg() -> None:
    header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"  # {"alg":"HS256","typ":"JWT"}
    payload = "eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    jwt = f"{header}.{payload}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    assert found(f"use {jwt} in the header") == [("API_KEY", jwt)]
    not_jwt = "eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk"  # {"foo":"bar"}: no alg
    assert found(f"use {not_jwt} in the header") == []
