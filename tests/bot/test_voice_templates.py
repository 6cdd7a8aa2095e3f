"""Hotline wording: codes read digit by digit, dates, the SMS, short Vietnamese prompts."""

from __future__ import annotations

import re
from datetime import date

from bot import voice_templates as t
from tests.bot.voice_call import (
    FIRST_CODE,
    FIRST_CODE_SPOKEN,
    VIETNAMESE,
)


def test_codes_are_read_digit_by_digit_and_dates_naturally() -> None:
    assert t.spell_code(FIRST_CODE) == FIRST_CODE_SPOKEN
    assert t.say_date(date(2026, 1, 5)) == "ngày 5 tháng 1 năm 2026"
    assert not re.search(r"\d", t.spell_code("0123456789"))


def test_sms_names_the_code_and_how_to_send_photos() -> None:
    text = t.sms_text(FIRST_CODE, "PAHT Vĩnh Long", "https://zalo.me/1", "https://t.me/b")
    assert FIRST_CODE in text and "Zalo OA PAHT Vĩnh Long" in text and "https://t.me/b" in text
    assert "ảnh" in text
    assert "Zalo" not in t.sms_text(FIRST_CODE, None, None, None)


def test_every_prompt_is_vietnamese_with_diacritics() -> None:
    found = date(2026, 11, 23)
    prompts = [
        t.greeting("tỉnh Vĩnh Long"),
        t.menu(True),
        t.menu(False),
        t.invalid_key(),
        t.not_heard(),
        t.ask_content(),
        t.ask_again(),
        t.content_too_short(),
        t.readback_content("x"),
        t.ask_location(),
        t.readback_location("x"),
        t.record_prompt(True),
        t.record_prompt(False),
        t.leave_message(),
        t.location_in_recording(),
        t.recorded_content(()),
        t.created(FIRST_CODE, found, True, True),
        t.created(FIRST_CODE, found, False, False),
        t.emergency_numbers(),
        t.ask_code(),
        t.code_invalid(),
        t.status_found(FIRST_CODE, "Đang xử lý", found, found, "Đã sửa"),
        t.status_not_found(FIRST_CODE),
        t.transferring(),
        t.transferring_urgent(),
        t.operator_unavailable(),
        t.operator_busy(),
        t.code_reminder(FIRST_CODE),
        t.goodbye(),
        t.call_again(),
        t.give_up_transfer(),
        t.system_error(),
        t.sms_text(FIRST_CODE, None, None, None),
    ]
    for prompt in prompts:
        assert VIETNAMESE & set(prompt.lower()), prompt
        for sentence in re.split(r"(?<=[.?])\s", prompt):  # short sentences, heard once
            assert len(sentence.split()) <= 25, sentence


def test_long_transcripts_are_clipped_when_read_back() -> None:
    prompt = t.readback_content("nước " * 200)
    assert prompt.count("nước") == t.MAX_READBACK_WORDS and "..." in prompt
