"""Hotline low-confidence speech, silence and wrong keys: asked again, recorded or ended."""

from __future__ import annotations

import pytest

from bot import voice_templates as t
from bot.messages import Media
from bot.voice import (
    CallStarted,
    NoInput,
    Record,
    RecordingDone,
    Stage,
    VoiceConfig,
)
from tests.bot.voice_call import (
    CALLER,
    CONTENT,
    FIRST_CODE_SPOKEN,
    NO_OPERATOR,
    RECORDING,
    WITH_OPERATOR,
    Call,
    Step,
    key,
    kinds,
    said,
    spoken,
)

LOW_CONFIDENCE: list[tuple[Step, list[str]]] = [
    (CallStarted(CALLER), ["Say", "GatherDigits"]),
    (key("1"), ["GatherSpeech"]),
    (said("đèn đuờng hư", confidence=0.3), ["Say", "GatherSpeech"]),
    (said("đèn đường hư ở", confidence=0.4), ["Record"]),
    (RecordingDone(RECORDING, 42), ["Say", "Say", "Hangup", "SendSms"]),
]


def test_low_confidence_is_asked_again_once_then_recorded() -> None:
    call = Call(NO_OPERATOR)
    for step, expected in LOW_CONFIDENCE:
        assert kinds(call.step(step)) == expected, step
    draft = call.report.draft
    assert draft.media == (Media(kind="audio", url=RECORDING),)
    assert "đèn đường hư ở" in (draft.content or "") and "ghi âm" in (draft.content or "")
    assert draft.location is not None and draft.location.note == "recording"


def test_low_confidence_location_records_only_the_place() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("1"), said(CONTENT), key("1"))
    call.step(said("ấp...", confidence=0.2))
    record = call.step(said("ấp tân", confidence=0.3))
    assert isinstance(record[0], Record) and "địa điểm" in record[0].prompt
    call.step(RecordingDone(RECORDING, 9))
    assert call.report.draft.content == CONTENT
    assert call.report.draft.media[0].kind == "audio"


@pytest.mark.parametrize(
    ("cfg", "ending"),
    [(WITH_OPERATOR, ["Say", "Say", "Dial"]), (NO_OPERATOR, ["Say", "Say", "Hangup"])],
    ids=["operator", "no-operator"],
)
def test_no_input_twice_dials_or_hangs_up_politely(cfg: VoiceConfig, ending: list[str]) -> None:
    call = Call(cfg)
    call.run(CallStarted(CALLER))
    first = call.step(NoInput())
    assert kinds(first) == ["Say", "GatherDigits"] and t.not_heard() in spoken(first)
    assert kinds(call.step(NoInput())) == ending
    assert call.reports.created == {}


def test_no_input_after_confirmed_content_keeps_the_report() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("1"), said(CONTENT), key("1"), NoInput())
    actions = call.step(NoInput())
    assert call.report.draft.content == CONTENT and call.report.draft.location is None
    assert kinds(actions)[-2:] == ["Hangup", "SendSms"] and FIRST_CODE_SPOKEN in spoken(actions)


def test_wrong_keys_are_capped() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER))
    assert t.invalid_key() in spoken(call.step(key("7")))
    call.step(key("9"))
    assert call.state.stage == Stage.MENU
    assert kinds(call.step(key("5"))) == ["Say", "Say", "Hangup"]


def test_saying_again_too_often_falls_back_to_recording() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("1"))
    for _ in range(2):
        call.run(said(CONTENT), key("2"))
    actions = call.run(said(CONTENT), key("2"))
    assert kinds(actions) == ["Record"]
