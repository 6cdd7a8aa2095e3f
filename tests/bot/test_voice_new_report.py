"""Hotline calls that leave a new report: the full script, read-backs, caller number."""

from __future__ import annotations

import pytest

from bot.voice import (
    CallStarted,
    GatherDigits,
    GatherSpeech,
    SendSms,
    SpeechHeard,
    Stage,
    VoiceConfig,
)
from tests.bot.voice_call import (
    CALLER,
    CONTENT,
    FIRST_CODE,
    FIRST_CODE_SPOKEN,
    FULL_CALL,
    NO_OPERATOR,
    PLACE,
    TAN_LONG,
    WITH_OPERATOR,
    Call,
    key,
    kinds,
    said,
    spoken,
    understood,
)


@pytest.mark.parametrize("cfg", [WITH_OPERATOR, NO_OPERATOR], ids=["operator", "no-operator"])
def test_a_full_call_creates_the_report_reads_the_code_and_texts_it(cfg: VoiceConfig) -> None:
    call = Call(cfg)
    for step, expected in FULL_CALL:
        assert kinds(call.step(step)) == expected, step
    report = call.report
    draft = report.draft
    assert draft.content == CONTENT and draft.location is not None
    assert draft.location.commune_code == "29653" and draft.location.raw == PLACE
    assert draft.media == () and draft.public is False and not draft.urgent
    assert draft.phone == CALLER and report.phone == CALLER and draft.contact_done
    closing = call.heard[-4:]
    assert FIRST_CODE_SPOKEN in spoken(closing)
    assert spoken(closing).count(FIRST_CODE_SPOKEN) == 2  # said twice, digit by digit
    assert "ngày 30 tháng 11 năm 2026" in spoken(closing)
    sms = closing[-1]
    assert isinstance(sms, SendSms) and sms.to == CALLER and FIRST_CODE in sms.text
    assert call.state.stage == Stage.DONE and call.state.code == FIRST_CODE


def test_full_call_prompts_are_vietnamese_speech_gathers_with_readback() -> None:
    call = Call(WITH_OPERATOR)
    greeting = call.run(CallStarted(CALLER))
    assert "bấm phím 1" in spoken(greeting) and "bấm phím 0" in spoken(greeting)
    ask = call.step(key("1"))[0]
    assert isinstance(ask, GatherSpeech) and ask.language == "vi-VN" and "ngập nước" in ask.hints
    readback = call.step(said(CONTENT))[0]
    assert isinstance(readback, GatherDigits) and readback.num_digits == 1
    assert CONTENT in readback.prompt and "bấm phím 1" in readback.prompt
    assert "bấm phím 2" in readback.prompt
    call.step(key("1"))
    place = call.step(said(PLACE, location=TAN_LONG))[0]
    assert isinstance(place, GatherDigits) and "Xã Tân Long Hội" in place.prompt


def test_caller_number_is_normalised_or_dropped_when_withheld() -> None:
    for raw, expected in [("84912345678", CALLER), (CALLER, CALLER), ("anonymous", None)]:
        call = Call(NO_OPERATOR)
        call.run(CallStarted(raw), key("1"), said(CONTENT), key("1"), said(PLACE), key("1"))
        assert call.report.phone == expected
        assert any(isinstance(a, SendSms) for a in call.heard) == (expected is not None)
    assert "ghi lại mã" in spoken(call.heard[-3:])


def test_say_again_then_confirm() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("1"), said("đường ngập nước sâu lắm"))
    again = call.step(key("2"))
    assert kinds(again) == ["GatherSpeech"] and call.state.stage == Stage.CONTENT
    call.run(said(CONTENT), key("1"), said(PLACE), key("2"), said("hẻm 5 đường Phạm Thái Bường"))
    call.step(key("1"))
    assert call.report.draft.content == CONTENT
    place = call.report.draft.location
    assert place is not None and place.raw == "hẻm 5 đường Phạm Thái Bường"


def test_content_naming_a_commune_only_asks_to_confirm_the_place() -> None:
    call = Call(NO_OPERATOR)
    nlu = understood(f"{CONTENT} {PLACE}", location=TAN_LONG)
    call.run(CallStarted(CALLER), key("1"), (SpeechHeard(f"{CONTENT} {PLACE}", 0.9), nlu))
    confirm = call.step(key("1"))
    assert call.state.stage == Stage.CONFIRM_LOCATION and "Xã Tân Long Hội" in spoken(confirm)
    call.step(key("1"))
    assert call.report.draft.location is not None
    assert call.report.draft.location.commune_code == "29653"
