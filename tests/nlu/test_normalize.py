"""Normalisation: what citizens type, and what the models read."""

from __future__ import annotations

import unicodedata

import pytest

from nlu.normalize import (
    Normalizer,
    fix_tone_marks,
    fold,
    has_diacritics,
    remove_noise,
    strip_diacritics,
)
from nlu.text import fold as shared_fold

SYNONYMS = {
    "ko": "không",
    "k": "không",
    "hem": "không",
    "dc": "được",
    "đc": "được",
    "j": "gì",
    "r": "rồi",
    "tks": "cảm ơn",
    "p.": "phường",
    "tp hcm": "thành phố hồ chí minh",
    "nhà vs": "nhà vệ sinh",
}


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer.build(SYNONYMS)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("hoà", "hòa"),
        ("hòa", "hòa"),
        ("thuý", "thúy"),
        ("khoẻ", "khỏe"),
        ("Thuỷ", "Thủy"),
        ("HOÀ", "HÒA"),
        ("quý", "quý"),  # "qu" is a consonant: the tone stays on y
        ("giá", "giá"),
        ("hoàn", "hoàn"),  # closed syllable: on the last vowel, both conventions agree
        ("người", "người"),
        ("ngoài", "ngoài"),
    ],
)
def test_tone_marks_have_one_canonical_place(written: str, canonical: str) -> None:
    assert fix_tone_marks(written) == canonical


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đường Nguyễn Trãi, P.9", "duong nguyen trai p 9"),
        ("  CHÁY   nhà!!! ", "chay nha"),
        ("ổ gà", "o ga"),
        ("", ""),
    ],
)
def test_fold_gives_the_diacritics_free_key(text: str, expected: str) -> None:
    assert fold(text) == expected
    assert shared_fold(text) == expected  # the bot's key is the same


def test_strip_diacritics_keeps_case_and_punctuation() -> None:
    assert strip_diacritics("Đèn đường hư, ở Phường 9.") == "Den duong hu, o Phuong 9."
    assert has_diacritics("đèn đường") and not has_diacritics("den duong")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("xem https://facebook.com/abc?x=1 nhé", "xem nhé"),
        ("cứu với 😭😭🔥", "cứu với"),
        ("<script>alert(1)</script> ngập", "alert(1) ngập"),
        ("ngập quáaaaaa!!!!!", "ngập quá!"),
        ("nhaaaa", "nha"),
        ("xoong nồi", "xoong nồi"),  # a real double letter stays
        ("dòng 1\r\n\r\ndòng 2", "dòng 1\ndòng 2"),
        ("a&amp;b", "a&b"),
    ],
)
def test_noise_is_removed(text: str, expected: str) -> None:
    assert remove_noise(text) == expected


def test_decomposed_unicode_is_composed(normalizer: Normalizer) -> None:
    decomposed = unicodedata.normalize("NFD", "Đường ngập")
    assert normalizer.clean(decomposed) == "Đường ngập"


def test_underthesea_rules_fix_misplaced_marks(normalizer: Normalizer) -> None:
    assert normalizer.clean("tìên đuợc hoà") == "tiền được hòa"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("duong ko co den", "duong không co den"),
        ("đc r, tks", "được rồi, cảm ơn"),
        ("dc k", "được không"),
        ("Ko biết j", "không biết gì"),
        ("ở tp hcm", "ở thành phố hồ chí minh"),
        ("ở TP.HCM", "ở thành phố hồ chí minh"),
        ("nhà vs bẩn", "nhà vệ sinh bẩn"),
        ("P.9 ngập", "phường 9 ngập"),
        ("hem 12 ngập", "hem 12 ngập"),  # "hẻm 12", not "không 12"
        ("giá 50 k", "giá 50 k"),  # fifty thousand, not "không"
        ("kho hàng", "kho hàng"),  # only whole words are replaced
    ],
)
def test_teencode_is_expanded_word_wise(normalizer: Normalizer, text: str, expected: str) -> None:
    assert normalizer.expand(normalizer.clean(text)) == expected


def test_normalize_gives_clean_text_and_key(normalizer: Normalizer) -> None:
    result = normalizer.normalize("Đèn đường ko sáng 😡 http://x.vn")
    assert result.clean == "Đèn đường ko sáng"
    assert result.text == "Đèn đường không sáng"
    assert result.key == "den duong khong sang"


def test_without_dictionary_text_is_only_cleaned() -> None:
    plain = Normalizer.build({}, underthesea_rules=False)
    assert plain.normalize("ko dc").text == "ko dc"
