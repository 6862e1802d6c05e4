from __future__ import annotations

from crocevia.dlp import Finding, default_scanner, mask, mask_value


def masked(text: str) -> str:
    return mask(text, default_scanner().scan(text))


def test_card_keeps_layout_and_last_four() -> None:
    assert masked("carta 4242 4242 4242 4242 ok") == "carta •••• •••• •••• 4242 ok"
    assert masked("carta 4242-4242-4242-4242") == "carta ••••-••••-••••-4242"
    assert masked("carta 4242424242424242") == "carta ••••••••••••4242"


def test_iban_keeps_layout_and_last_four() -> None:
    assert masked("IBAN IT60 X054 2811 1010 0000 0123 456") == "IBAN •••• •••• •••• •••• •••• •••3 456"


def test_secrets_become_placeholders_that_hide_the_length() -> None:
    assert masked("la password è Xyz!23, non dirla") == "la password è [PASSWORD], non dirla"
    assert masked("key AKIAIOSFODNN7EXAMPLE") == "key [API_KEY]"


def test_other_labels_are_bulleted_keeping_punctuation() -> None:
    assert masked("scrivi a mario@example.it") == "scrivi a •••••@•••••••.••"
    assert masked("chiama il +39 333 123 4567") == "chiama il +•• ••• ••• ••••"


def test_mask_value_directly() -> None:
    assert mask_value("4111 1111 1111 1111", "CREDIT_CARD") == "•••• •••• •••• 1111"
    assert mask_value("RSSMRA85T10A562S", "IT_FISCAL_CODE") == "••••••••••••••••"
    assert mask_value("anything", "PASSWORD") == "[PASSWORD]"
    assert mask_value("EMP-123456", "EMPLOYEE_ID") == "•••-••••••"


def test_overlapping_findings_are_masked_once() -> None:
    text = "abc 0123456789 xyz"
    findings = [Finding("PHONE", 4, 14, 0.9, "a"), Finding("IT_VAT_CODE", 8, 16, 0.9, "b")]
    assert mask(text, findings) == "abc •••••••••• •yz"


def test_no_findings_leaves_text_unchanged() -> None:
    assert mask("niente da nascondere", []) == "niente da nascondere"
