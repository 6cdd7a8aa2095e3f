"""Hotline status lookup by the 12-digit code on the keypad."""

from __future__ import annotations

from bot import voice_templates as t
from bot.commands import CreateReport, LookupStatus
from bot.state import Draft
from bot.voice import (
    CallStarted,
    GatherDigits,
    Stage,
)
from tests.bot.voice_call import (
    CALLER,
    CONTENT,
    FIRST_CODE,
    FIRST_CODE_SPOKEN,
    NO_OPERATOR,
    WITH_OPERATOR,
    Call,
    key,
    kinds,
    spoken,
)


def test_status_lookup_by_keypad_reads_code_and_dates() -> None:
    call = Call(WITH_OPERATOR)
    call.reports.create_report(CreateReport(draft=Draft(content=CONTENT), name=None, phone=None))
    call.run(CallStarted(CALLER))
    ask = call.step(key("2"))
    assert isinstance(ask[0], GatherDigits) and ask[0].num_digits == 12
    answer = call.step(key(FIRST_CODE + "#"))
    assert call.commands == [LookupStatus(code=FIRST_CODE)]
    text = spoken(answer)
    assert FIRST_CODE_SPOKEN in text and "Mới tiếp nhận" in text
    assert "ngày 23 tháng 11 năm 2026" in text and "ngày 30 tháng 11 năm 2026" in text
    assert kinds(answer) == ["Say", "GatherDigits"] and call.state.stage == Stage.MENU


def test_unknown_code_and_short_code_are_asked_again_then_capped() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("2"))
    short = call.step(key("2026"))
    assert t.code_invalid() in spoken(short) and call.state.stage.value == "code"
    missing = call.step(key("202611239999"))
    assert "Không tìm thấy" in spoken(missing) and "chín chín chín chín" in spoken(missing)
    last = call.step(key("12"))
    stage = call.state.stage
    assert kinds(last)[-1] == "Hangup" and stage == Stage.DONE
