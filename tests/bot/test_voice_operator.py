"""Hotline transfers to the operator: on request, on urgent words, and when nobody answers."""

from __future__ import annotations

from bot import voice_templates as t
from bot.messages import Media
from bot.voice import (
    CallStarted,
    Dial,
    DialEnded,
    NoInput,
    RecordingDone,
    SpeechHeard,
    Stage,
)
from nlu import Nlu
from tests.bot.voice_call import (
    CALLER,
    CONTENT,
    FIRST_CODE,
    FIRST_CODE_SPOKEN,
    NO_OPERATOR,
    OPERATOR,
    RECORDING,
    WITH_OPERATOR,
    Call,
    key,
    kinds,
    said,
    spoken,
)


def test_zero_in_the_menu_dials_the_operator_without_a_report() -> None:
    call = Call(WITH_OPERATOR)
    actions = call.run(CallStarted(CALLER), key("0"))
    assert kinds(actions) == ["Say", "Dial"] and actions[1] == Dial(OPERATOR)
    assert call.reports.created == {} and call.state.stage == Stage.TRANSFERRED


def test_zero_after_speaking_dials_at_once_and_keeps_what_was_said() -> None:
    call = Call(WITH_OPERATOR)
    actions = call.run(CallStarted(CALLER), key("1"), said(CONTENT), key("1"), key("0"))
    assert kinds(actions) == ["Say", "Dial", "SendSms"]
    draft = call.report.draft
    assert (
        draft.content == CONTENT and draft.urgent and "operator_requested" in draft.urgent_reasons
    )


def test_urgent_speech_dials_immediately_and_creates_an_urgent_report() -> None:
    call = Call(WITH_OPERATOR)
    text = "cháy nhà ở ấp 3, cứu với"
    call.run(CallStarted(CALLER), key("1"))
    actions = call.step(said(text, urgent=True, reasons=("fire",)))
    assert kinds(actions) == ["Say", "Dial", "SendSms"] and actions[1] == Dial(OPERATOR)
    assert "khẩn cấp" in spoken(actions)
    draft = call.report.draft
    assert draft.urgent and draft.urgent_reasons == ("fire",) and draft.content == text
    assert call.state.code == FIRST_CODE
    # The operator does not answer: the caller hears the code and the emergency numbers.
    after = call.step(DialEnded("no-answer"))
    assert FIRST_CODE_SPOKEN in spoken(after) and "114" in spoken(after)
    assert kinds(after)[-1] == "Hangup" and len(call.reports.created) == 1


def test_urgent_words_in_low_confidence_speech_still_transfer() -> None:
    call = Call(WITH_OPERATOR)
    call.run(CallStarted(CALLER), key("1"))
    actions = call.step(said("cháy cháy", confidence=0.2, urgent=True))
    assert Dial(OPERATOR) in actions and call.report.draft.urgent


def test_urgent_without_an_operator_reads_the_code_and_emergency_numbers() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("1"), said(CONTENT), key("1"))
    actions = call.step(said("sập cầu ở ấp 3", urgent=True, reasons=("collapse",)))
    assert not any(isinstance(a, Dial) for a in actions)
    assert "114" in spoken(actions) and FIRST_CODE_SPOKEN in spoken(actions)
    draft = call.report.draft
    assert draft.content == CONTENT and draft.location is not None and draft.urgent


def test_operator_answering_ends_politely_and_missing_operator_reprompts() -> None:
    call = Call(WITH_OPERATOR)
    call.run(CallStarted(CALLER), key("0"))
    assert kinds(call.step(DialEnded("completed"))) == ["Say", "Hangup"]
    lonely = Call(NO_OPERATOR)
    actions = lonely.run(CallStarted(CALLER), key("0"))
    assert t.operator_unavailable() in spoken(actions) and lonely.state.stage == Stage.MENU


def test_operator_not_answering_takes_a_voicemail_as_report() -> None:
    call = Call(WITH_OPERATOR)
    call.run(CallStarted(CALLER), key("0"))
    busy = call.step(DialEnded("busy"))
    assert kinds(busy) == ["Say", "Record"] and t.leave_message() in spoken(busy)
    call.step(RecordingDone(RECORDING, 35))
    draft = call.report.draft
    assert draft.media == (Media(kind="audio", url=RECORDING),)
    assert "ghi âm" in (draft.content or "")


def test_silent_voicemail_hangs_up_instead_of_dialling_again() -> None:
    call = Call(WITH_OPERATOR)
    call.run(CallStarted(CALLER), key("0"), DialEnded("no-answer"), NoInput())
    actions = call.step(NoInput())
    assert kinds(actions) == ["Say", "Say", "Hangup"] and call.reports.created == {}


def test_real_nlu_flags_a_fire_as_urgent(nlu: Nlu) -> None:
    call = Call(WITH_OPERATOR, nlu=nlu)
    call.run(CallStarted(CALLER), key("1"))
    actions = call.step(SpeechHeard("cháy nhà ở đường Nguyễn Huệ, cứu với", 0.85))
    assert Dial(OPERATOR) in actions and call.report.draft.urgent
