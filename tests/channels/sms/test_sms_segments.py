"""GSM-7 vs UCS-2 and segment counting, with Italian text and emoji."""

from __future__ import annotations

import pytest

from crocevia.channels.sms.segments import GSM7_BASIC, GSM7_EXTENSION, SegmentInfo, count_segments


def test_gsm_tables_have_the_sizes_of_gsm_03_38() -> None:
    # 128 code points in the basic table, less ESC; 10 characters in the extension table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10


@pytest.mark.parametrize("letter", list("àèéìòù"))
def test_italian_lower_case_accents_are_all_gsm7(letter: str) -> None:
    assert count_segments(f"Perché {letter}").encoding == "GSM-7"


def test_typical_italian_sentence_stays_gsm7() -> None:
    text = "Perché è già lì? Può darsi, però è così. Ciao!"  # 46 characters
    assert count_segments(text) == SegmentInfo("GSM-7", 1, 46, 46)


@pytest.mark.parametrize("letter", list("ÀÈÌÒÙ"))
def test_italian_capital_accents_except_e_acute_force_ucs2(letter: str) -> None:
    # "È arrivato" is everyday Italian, and it alone makes the SMS UCS-2.
    assert count_segments(f"{letter} arrivato il pacco").encoding == "UCS-2"


def test_capital_e_acute_is_gsm7() -> None:
    assert count_segments("É").encoding == "GSM-7"


def test_other_latin_accents_force_ucs2() -> None:
    assert count_segments("Perchè no? ó").encoding == "UCS-2"


def test_160_gsm_characters_fit_one_segment_161_need_two() -> None:
    assert count_segments("a" * 160) == SegmentInfo("GSM-7", 1, 160, 160)
    assert count_segments("a" * 161) == SegmentInfo("GSM-7", 2, 161, 161)
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


def test_extension_characters_count_twice() -> None:
    info = count_segments("€" * 80)
    assert info == SegmentInfo("GSM-7", 1, 80, 160)
    assert count_segments("€" * 81).segments == 2


def test_escape_pair_is_never_split_across_segments() -> None:
    # 152 septets, then "€" (2): it does not fit in the 153-septet first part, so it moves on:
    # 306 septets need 3 parts here, not the 2 that dividing by 153 suggests.
    assert count_segments("a" * 152 + "€" + "b" * 152).segments == 3
    assert count_segments("a" * 151 + "€" + "b" * 153).segments == 2


def test_emoji_forces_ucs2_and_counts_two_units() -> None:
    info = count_segments("Grazie 🙏")
    assert info == SegmentInfo("UCS-2", 1, 8, 9)


def test_ucs2_limits_are_70_then_67() -> None:
    assert count_segments("È" + "a" * 69).segments == 1
    assert count_segments("È" + "a" * 70).segments == 2
    assert count_segments("È" + "a" * 133).segments == 2
    assert count_segments("È" + "a" * 134).segments == 3


def test_surrogate_pair_is_never_split() -> None:
    # 66 units then an emoji (2 units) would straddle the first 67-unit part, so it moves on:
    # 134 units need 3 parts here, not the 2 that dividing by 67 suggests.
    assert count_segments("È" + "a" * 65 + "😀" + "b" * 66).segments == 3


def test_empty_text_needs_no_segment() -> None:
    assert count_segments("") == SegmentInfo("GSM-7", 0, 0, 0)
