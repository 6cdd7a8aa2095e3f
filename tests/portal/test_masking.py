"""Masking citizens' words for the public (backend.portal.privacy): no database."""

from __future__ import annotations

import pytest

from backend.portal.privacy import is_code, public_html, public_text


@pytest.mark.parametrize(
    "typed",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "+84912345678",
        "+84 912 345 678",
        "84912345678",
        "079123456789",  # CCCD
        "079 123 456 789",
        "123456789",  # CMND
        "123.456.789",
    ],
)
def test_phone_and_id_numbers_are_masked(typed: str) -> None:
    shown = public_text(f"Liên hệ {typed} nhé")
    digits = "".join(ch for ch in shown if ch.isdigit())
    assert len(digits) <= 3, shown  # at most the last three digits remain
    assert shown.startswith("Liên hệ ") and shown.endswith(" nhé")


def test_report_codes_dates_and_small_numbers_stay() -> None:
    text = "Phản ánh 202611230001 ngày 23/11/2026 lúc 10:30, nhà số 123, 2 ổ gà"
    assert public_text(text) == text
    assert is_code("202611230001") and not is_code("079123456789")


def test_the_reporters_name_is_masked_with_or_without_diacritics() -> None:
    name = "Nguyễn Văn An"
    for typed in ("Nguyễn Văn An", "NGUYỄN VĂN AN", "nguyen van an", "Nguyễn  Văn An"):
        assert public_text(f"Tôi là {typed}, ở phường 9", reporter_name=name) == (
            "Tôi là ***, ở phường 9"
        )
    assert public_text("Nguyễn Văn Bình", reporter_name=name) == "Nguyễn Văn Bình"


def test_the_answer_keeps_its_markup() -> None:
    html = "<p>Chào ông <strong>Nguyễn Văn An</strong>, đã gọi 0912345678.</p>"
    assert public_html(html, reporter_name="Nguyễn Văn An") == (
        "<p>Chào ông <strong>***</strong>, đã gọi ******678.</p>"
    )
