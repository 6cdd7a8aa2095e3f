"""Hotline hang-ups, redelivered events and failing commands."""

from __future__ import annotations

from bot import voice
from bot.voice import (
    CallEnded,
    CallProgress,
    CallStarted,
    CallState,
    RecordingDone,
    Stage,
)
from tests.bot.voice_call import (
    CALLER,
    CONTENT,
    FULL_CALL,
    NO_OPERATOR,
    RECORDING,
    WITH_OPERATOR,
    Call,
    key,
    kinds,
    said,
)


def test_hang_up_after_confirmed_content_still_creates_and_texts() -> None:
    call = Call(WITH_OPERATOR)
    call.run(CallStarted(CALLER), key("1"), said(CONTENT), key("1"))
    actions = call.step(CallEnded("completed"))
    assert kinds(actions) == ["SendSms"] and call.report.draft.content == CONTENT


def test_hang_up_before_confirming_stores_nothing() -> None:
    call = Call(WITH_OPERATOR)
    call.run(CallStarted(CALLER), key("1"), said(CONTENT))
    assert call.step(CallEnded("completed")) == [] and call.reports.created == {}
    assert call.step(key("1")) == [] and call.state.stage == Stage.DONE


def test_hang_up_while_recording_waits_for_the_recording() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("1"), said("a", 0.1), said("b", 0.1))
    assert call.step(CallEnded("completed")) == [] and call.reports.created == {}
    actions = call.step(RecordingDone(RECORDING, 12))
    assert kinds(actions) == ["SendSms"] and call.report.draft.media[0].url == RECORDING


def test_repeated_events_have_no_second_effect() -> None:
    call = Call(NO_OPERATOR)
    call.run(*[s for s, _ in FULL_CALL])
    for again in (key("1"), RecordingDone(RECORDING, 3), CallEnded(), CallProgress("ringing")):
        assert call.step(again) == []
    assert len(call.reports.created) == 1


def test_seq_counts_handled_events_only() -> None:
    call = Call(NO_OPERATOR)
    call.run(CallStarted(CALLER), key("1"))
    assert call.state.seq == 2
    call.step(CallProgress("in-progress"))
    assert call.state.seq == 2
    call.step(said(CONTENT))
    assert call.state.seq == 3


def test_command_failure_apologises_and_transfers_or_hangs_up() -> None:
    state = CallState(stage=Stage.CREATING, caller=CALLER)
    failed = voice.on_failure(state, WITH_OPERATOR)
    assert kinds(list(failed.actions)) == ["Say", "Say", "Dial"]
    alone = voice.on_failure(state, NO_OPERATOR)
    assert kinds(list(alone.actions)) == ["Say", "Say", "Hangup"]
