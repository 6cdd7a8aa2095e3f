"""The hotline's pure IVR core: (call state, event, NLU result, now) → (state, actions, commands).

Owns the call flow: which event leads where at each stage (menu, speech, keypad
answers). The prompt of each stage and every way the flow ends (recording,
operator, retries used up, hang-up, the report and its SMS) live in
`bot.voice_endings`; the vocabulary (events, actions, `VoiceConfig`, `CallState`,
`VoiceTurn`) in `bot.voice_types`, re-exported here, so callers need only
`bot.voice`. No clock, database or network in here. The backend runner
passes `nlu.understand(text)` for speech events, executes the returned
`CreateReport` / `LookupStatus` through the same ports as the chat dialogue,
hands each outcome to `on_outcome` (or calls `on_failure` when a command
raised) and appends those actions after the ones from `handle`.

Flow: greeting and menu (1 new report, 2 status by 12-digit code, 0 operator);
content by speech → read back → 1 confirm / 2 say again; location the same way;
then the report is created, its code read digit by digit, an SMS queued and the
call hung up. Urgent words, or "0" at any time, dial the operator at once (a
report is still created with what was said, marked urgent). A transcript below
the confidence threshold is asked for once more, then recorded; the recording
is attached to the report. Two silences in a row end the call (to the operator
when there is one). `seq` counts handled events and goes into every action URL,
so (CallSid, step) identifies one answer to one prompt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot import voice_endings as end
from bot import voice_templates as t
from bot.commands import LookupStatus, Outcome, ReportCreated, StatusFound
from bot.intake import fill_content, place_from
from bot.messages import Inbound
from bot.state import Draft
from bot.voice_endings import ANSWERED
from bot.voice_types import (
    Action,
    CallEnded,
    CallEvent,
    CallProgress,
    CallStarted,
    CallState,
    Dial,
    DialEnded,
    DigitsPressed,
    GatherDigits,
    GatherSpeech,
    Hangup,
    NoInput,
    Record,
    RecordingDone,
    Say,
    SendSms,
    SpeechHeard,
    Stage,
    VoiceConfig,
    VoiceTurn,
)
from nlu import Location, NluResult, fold
from nlu.entities import canonical_phone

__all__ = [  # the vocabulary is re-exported, so callers need only `bot.voice`
    "ANSWERED",
    "Action",
    "CallEnded",
    "CallEvent",
    "CallProgress",
    "CallStarted",
    "CallState",
    "Dial",
    "DialEnded",
    "DigitsPressed",
    "GatherDigits",
    "GatherSpeech",
    "Hangup",
    "NoInput",
    "Record",
    "RecordingDone",
    "Say",
    "SendSms",
    "SpeechHeard",
    "Stage",
    "VoiceConfig",
    "VoiceTurn",
    "handle",
    "on_failure",
    "on_outcome",
]


end.CLOSED = (Stage.CREATING, Stage.TRANSFERRED, Stage.DONE)
_SPEECH = (Stage.CONTENT, Stage.LOCATION)

# --- entry points --------------------------------------------------------------


def handle(
    state: CallState, event: CallEvent, nlu: NluResult | None, now: datetime, cfg: VoiceConfig
) -> VoiceTurn:
    """React to one webhook of the call; `nlu` is the understanding of a speech event."""
    turn = _dispatch(state, event, nlu, now, cfg)
    if turn.actions or turn.commands:
        turn = replace(turn, state=turn.state.model_copy(update={"seq": turn.state.seq + 1}))
    return turn


def on_outcome(state: CallState, outcome: Outcome, cfg: VoiceConfig) -> VoiceTurn:
    """React to the result of a command; its actions go after those of `handle`."""
    if isinstance(outcome, ReportCreated):
        return end.created(state, outcome, cfg)
    if isinstance(outcome, StatusFound):
        menu = end.goto(state, Stage.MENU)
        spoken = t.status_found(
            outcome.code, outcome.status_label, outcome.created.date(), outcome.due, outcome.answer
        )
        return VoiceTurn(menu, (Say(spoken), end.prompt(menu, cfg)))
    return end.retry(state, cfg, t.status_not_found(outcome.code))


def on_failure(state: CallState, cfg: VoiceConfig) -> VoiceTurn:
    """A command raised: apologise, then the operator or a polite goodbye."""
    if state.stage == Stage.TRANSFERRED or state.ended:
        return VoiceTurn(state)
    if cfg.operator_number:
        moved = end.goto(state, Stage.TRANSFERRED)
        lead = (Say(t.system_error()), Say(t.give_up_transfer()))
        return VoiceTurn(moved, (*lead, Dial(cfg.operator_number)))
    return VoiceTurn(
        end.goto(state, Stage.DONE), (Say(t.system_error()), Say(t.call_again()), Hangup())
    )


# --- dispatch ------------------------------------------------------------------


def _dispatch(
    state: CallState, event: CallEvent, nlu: NluResult | None, now: datetime, cfg: VoiceConfig
) -> VoiceTurn:
    if isinstance(event, CallProgress):
        return VoiceTurn(state)
    if isinstance(event, CallEnded):
        return end.ended(state)
    if isinstance(event, RecordingDone):
        return end.recorded(state, event, cfg) if state.stage == Stage.RECORD else VoiceTurn(state)
    if state.ended:
        return VoiceTurn(state)
    if isinstance(event, DialEnded):
        return (
            end.after_dial(state, event, cfg)
            if state.stage == Stage.TRANSFERRED
            else VoiceTurn(state)
        )
    if state.stage == Stage.NEW:
        return _greet(state, event, cfg)
    if state.stage in end.CLOSED:
        return VoiceTurn(state)
    if isinstance(event, NoInput):
        return end.silence(state, cfg)
    if isinstance(event, CallStarted):  # the first webhook delivered again
        return VoiceTurn(state, (end.prompt(state, cfg),))
    if isinstance(event, DigitsPressed) and event.digits.rstrip("#") == "0":
        return end.operator(state, cfg)
    if isinstance(event, SpeechHeard) and state.stage in _SPEECH:
        return _heard(state, event, nlu or _bare(event.text), cfg)
    digits = event.digits if isinstance(event, DigitsPressed) else ""
    if state.stage == Stage.MENU:
        return _menu(state, digits, now, cfg)
    if state.stage == Stage.CONFIRM_CONTENT:
        return _confirm_content(state, digits, cfg)
    if state.stage == Stage.CONFIRM_LOCATION:
        return _confirm_location(state, digits, cfg)
    if state.stage == Stage.CODE:
        return _code(state, digits, cfg)
    return end.retry(state, cfg, t.invalid_key())


def _greet(state: CallState, event: CallEvent, cfg: VoiceConfig) -> VoiceTurn:
    caller = _phone(event.caller) if isinstance(event, CallStarted) else None
    menu = end.goto(state, Stage.MENU, caller=caller)
    return VoiceTurn(menu, (Say(t.greeting(cfg.bot.province_name)), end.prompt(menu, cfg)))


def _menu(state: CallState, digits: str, now: datetime, cfg: VoiceConfig) -> VoiceTurn:
    if digits == "1":
        draft = Draft(started_at=now, turns=1)
        moved = end.goto(state, Stage.CONTENT, draft=draft, pending=None, place=None, redos=0)
    elif digits == "2":
        moved = end.goto(state, Stage.CODE)
    else:
        return end.retry(state, cfg, t.invalid_key())
    return VoiceTurn(moved, (end.prompt(moved, cfg),))


def _code(state: CallState, digits: str, cfg: VoiceConfig) -> VoiceTurn:
    code = digits.rstrip("#")
    if len(code) == 12 and code.isdigit():
        return VoiceTurn(state, (), (LookupStatus(code=code),))
    return end.retry(state, cfg, t.code_invalid())


# --- speech --------------------------------------------------------------------


def _heard(state: CallState, event: SpeechHeard, nlu: NluResult, cfg: VoiceConfig) -> VoiceTurn:
    text = " ".join(event.text.split())
    if nlu.urgent:
        return _urgent(state, text, nlu, cfg)
    if not text or (event.confidence is not None and event.confidence < cfg.confidence_threshold):
        return _unclear(state, text, cfg, t.ask_again())
    draft = state.draft or Draft()
    if state.stage == Stage.CONTENT:
        filled = fill_content(draft, _inbound(text), nlu, cfg.bot)
        if filled is None:
            return _unclear(state, text, cfg, t.content_too_short())
        moved = end.goto(state, Stage.CONFIRM_CONTENT, pending=filled)
    else:
        moved = end.goto(state, Stage.CONFIRM_LOCATION, place=_place(text, nlu, draft))
    return VoiceTurn(moved, (end.prompt(moved, cfg),))


def _unclear(state: CallState, text: str, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    """Ask once more; the second time, record the caller for staff to listen to."""
    guesses = (*state.guesses, text) if text else state.guesses
    noted = state.model_copy(update={"guesses": guesses, "unclear": state.unclear + 1})
    if noted.unclear > 1:
        return end.start_recording(noted, cfg)
    return VoiceTurn(noted, (Say(lead), end.prompt(noted, cfg)))


def _urgent(state: CallState, text: str, nlu: NluResult, cfg: VoiceConfig) -> VoiceTurn:
    base = state.pending or state.draft or Draft()
    if state.stage == Stage.CONTENT:
        draft = fill_content(base, _inbound(text), nlu, cfg.bot) or base.model_copy(
            update={"content": text}
        )
    else:
        draft = base.model_copy(update={"location": _place(text, nlu, base)})
    reasons = tuple(dict.fromkeys((*draft.urgent_reasons, *nlu.urgent_reasons)))
    draft = draft.model_copy(update={"urgent": True, "urgent_reasons": reasons})
    return end.transfer(state, draft, cfg, t.transferring_urgent())


def _place(text: str, nlu: NluResult, draft: Draft) -> Location:
    if nlu.location is not None and nlu.location.found:
        place = place_from(nlu.location, text)
    else:
        place = Location(raw=text, detail=text)
    hint = draft.location_hint
    if hint is not None and hint.detail and not place.detail:
        place = replace(place, detail=hint.detail, raw=f"{hint.detail}; {place.raw}")
    return place


# --- keypad answers --------------------------------------------------------------


def _confirm_content(state: CallState, digits: str, cfg: VoiceConfig) -> VoiceTurn:
    if digits == "2":
        return _redo(state, Stage.CONTENT, cfg)
    if digits != "1" or state.pending is None:
        return end.retry(state, cfg, t.invalid_key())
    draft, named = state.pending, state.pending.location
    if named is not None:  # the content already named a commune: only confirm it
        draft = draft.model_copy(update={"location": None})
        moved = end.goto(state, Stage.CONFIRM_LOCATION, draft=draft, pending=None, place=named)
    else:
        moved = end.goto(state, Stage.LOCATION, draft=draft, pending=None)
    moved = moved.model_copy(update={"redos": 0, "guesses": ()})
    return VoiceTurn(moved, (end.prompt(moved, cfg),))


def _confirm_location(state: CallState, digits: str, cfg: VoiceConfig) -> VoiceTurn:
    if digits == "2":
        return _redo(state, Stage.LOCATION, cfg)
    if digits != "1" or state.place is None or state.draft is None:
        return end.retry(state, cfg, t.invalid_key())
    return end.create(state, state.draft.model_copy(update={"location": state.place}))


def _redo(state: CallState, stage: Stage, cfg: VoiceConfig) -> VoiceTurn:
    cleared = state.model_copy(update={"redos": state.redos + 1, "pending": None, "place": None})
    if cleared.redos >= cfg.max_attempts:
        return end.start_recording(cleared, cfg)
    moved = end.goto(cleared, stage)
    return VoiceTurn(moved, (end.prompt(moved, cfg),))


def _phone(raw: str | None) -> str | None:
    """The caller's number in E.164 (+84...), or None when withheld or not Vietnamese."""
    return canonical_phone(raw) if raw else None


def _inbound(text: str) -> Inbound:
    return Inbound(channel="voice", sender_id="caller", text=text, transcript=True)


def _bare(text: str) -> NluResult:
    return NluResult(text=text, normalized=text, key=fold(text))
