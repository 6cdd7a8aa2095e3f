"""The hotline's pure IVR core: (call state, event, NLU result, now) → (state, actions, commands).

Owns the call flow. Its vocabulary (events, actions, `VoiceConfig`, `CallState`,
`VoiceTurn`) lives in `bot.voice_types` and is re-exported here, so callers need
only `bot.voice`. No clock, database or network in here. The backend runner
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

from bot import voice_templates as t
from bot.commands import CreateReport, LookupStatus, Outcome, ReportCreated, StatusFound
from bot.intake import fill_content, place_from
from bot.messages import Inbound, Media
from bot.state import Draft
from bot.templates import place_text
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


_CLOSED = (Stage.CREATING, Stage.TRANSFERRED, Stage.DONE)
_SPEECH = (Stage.CONTENT, Stage.LOCATION)
ANSWERED = ("completed", "answered")

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
        return _created(state, outcome, cfg)
    if isinstance(outcome, StatusFound):
        menu = _goto(state, Stage.MENU)
        spoken = t.status_found(
            outcome.code, outcome.status_label, outcome.created.date(), outcome.due, outcome.answer
        )
        return VoiceTurn(menu, (Say(spoken), _prompt(menu, cfg)))
    return _retry(state, cfg, t.status_not_found(outcome.code))


def on_failure(state: CallState, cfg: VoiceConfig) -> VoiceTurn:
    """A command raised: apologise, then the operator or a polite goodbye."""
    if state.stage == Stage.TRANSFERRED or state.ended:
        return VoiceTurn(state)
    if cfg.operator_number:
        moved = _goto(state, Stage.TRANSFERRED)
        lead = (Say(t.system_error()), Say(t.give_up_transfer()))
        return VoiceTurn(moved, (*lead, Dial(cfg.operator_number)))
    return VoiceTurn(
        _goto(state, Stage.DONE), (Say(t.system_error()), Say(t.call_again()), Hangup())
    )


# --- dispatch ------------------------------------------------------------------


def _dispatch(
    state: CallState, event: CallEvent, nlu: NluResult | None, now: datetime, cfg: VoiceConfig
) -> VoiceTurn:
    if isinstance(event, CallProgress):
        return VoiceTurn(state)
    if isinstance(event, CallEnded):
        return _ended(state)
    if isinstance(event, RecordingDone):
        return _recorded(state, event, cfg) if state.stage == Stage.RECORD else VoiceTurn(state)
    if state.ended:
        return VoiceTurn(state)
    if isinstance(event, DialEnded):
        return (
            _after_dial(state, event, cfg) if state.stage == Stage.TRANSFERRED else VoiceTurn(state)
        )
    if state.stage == Stage.NEW:
        return _greet(state, event, cfg)
    if state.stage in _CLOSED:
        return VoiceTurn(state)
    if isinstance(event, NoInput):
        return _silence(state, cfg)
    if isinstance(event, CallStarted):  # the first webhook delivered again
        return VoiceTurn(state, (_prompt(state, cfg),))
    if isinstance(event, DigitsPressed) and event.digits.rstrip("#") == "0":
        return _operator(state, cfg)
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
    return _retry(state, cfg, t.invalid_key())


def _greet(state: CallState, event: CallEvent, cfg: VoiceConfig) -> VoiceTurn:
    caller = _phone(event.caller) if isinstance(event, CallStarted) else None
    menu = _goto(state, Stage.MENU, caller=caller)
    return VoiceTurn(menu, (Say(t.greeting(cfg.bot.province_name)), _prompt(menu, cfg)))


def _menu(state: CallState, digits: str, now: datetime, cfg: VoiceConfig) -> VoiceTurn:
    if digits == "1":
        draft = Draft(started_at=now, turns=1)
        moved = _goto(state, Stage.CONTENT, draft=draft, pending=None, place=None, redos=0)
    elif digits == "2":
        moved = _goto(state, Stage.CODE)
    else:
        return _retry(state, cfg, t.invalid_key())
    return VoiceTurn(moved, (_prompt(moved, cfg),))


def _code(state: CallState, digits: str, cfg: VoiceConfig) -> VoiceTurn:
    code = digits.rstrip("#")
    if len(code) == 12 and code.isdigit():
        return VoiceTurn(state, (), (LookupStatus(code=code),))
    return _retry(state, cfg, t.code_invalid())


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
        moved = _goto(state, Stage.CONFIRM_CONTENT, pending=filled)
    else:
        moved = _goto(state, Stage.CONFIRM_LOCATION, place=_place(text, nlu, draft))
    return VoiceTurn(moved, (_prompt(moved, cfg),))


def _unclear(state: CallState, text: str, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    """Ask once more; the second time, record the caller for staff to listen to."""
    guesses = (*state.guesses, text) if text else state.guesses
    noted = state.model_copy(update={"guesses": guesses, "unclear": state.unclear + 1})
    if noted.unclear > 1:
        return _start_recording(noted, cfg)
    return VoiceTurn(noted, (Say(lead), _prompt(noted, cfg)))


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
    return _transfer(state, draft, cfg, t.transferring_urgent())


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
        return _retry(state, cfg, t.invalid_key())
    draft, named = state.pending, state.pending.location
    if named is not None:  # the content already named a commune: only confirm it
        draft = draft.model_copy(update={"location": None})
        moved = _goto(state, Stage.CONFIRM_LOCATION, draft=draft, pending=None, place=named)
    else:
        moved = _goto(state, Stage.LOCATION, draft=draft, pending=None)
    moved = moved.model_copy(update={"redos": 0, "guesses": ()})
    return VoiceTurn(moved, (_prompt(moved, cfg),))


def _confirm_location(state: CallState, digits: str, cfg: VoiceConfig) -> VoiceTurn:
    if digits == "2":
        return _redo(state, Stage.LOCATION, cfg)
    if digits != "1" or state.place is None or state.draft is None:
        return _retry(state, cfg, t.invalid_key())
    return _create(state, state.draft.model_copy(update={"location": state.place}))


def _redo(state: CallState, stage: Stage, cfg: VoiceConfig) -> VoiceTurn:
    cleared = state.model_copy(update={"redos": state.redos + 1, "pending": None, "place": None})
    if cleared.redos >= cfg.max_attempts:
        return _start_recording(cleared, cfg)
    moved = _goto(cleared, stage)
    return VoiceTurn(moved, (_prompt(moved, cfg),))


# --- recording, operator, giving up ---------------------------------------------


def _start_recording(state: CallState, cfg: VoiceConfig, *lead: Action) -> VoiceTurn:
    moved = _goto(state, Stage.RECORD, pending=None, place=None)
    return VoiceTurn(moved, (*lead, _prompt(moved, cfg)))


def _recorded(state: CallState, event: RecordingDone, cfg: VoiceConfig) -> VoiceTurn:
    if not event.url or event.duration <= 0:
        return _salvage(state) if state.ended else _silence(state, cfg)
    draft = state.draft or Draft()
    update: dict[str, object] = {
        "media": (*draft.media, Media(kind="audio", url=event.url)),
        "content": draft.content or t.recorded_content(state.guesses),
    }
    if draft.location is None:
        update["location"] = Location(raw=t.location_in_recording(), note="recording")
    return _create(state, draft.model_copy(update=update))


def _operator(state: CallState, cfg: VoiceConfig) -> VoiceTurn:
    """ "0": to the operator at once, keeping what was said as an urgent report."""
    if not cfg.operator_number:
        return VoiceTurn(state, (Say(t.operator_unavailable()), _prompt(state, cfg)))
    said = state.pending or state.draft
    if said is not None and said.content:
        if state.place is not None and said.location is None:
            said = said.model_copy(update={"location": state.place})
        reasons = (*said.urgent_reasons, "operator_requested")
        said = said.model_copy(update={"urgent": True, "urgent_reasons": reasons})
    else:
        said = None
    return _transfer(state, said, cfg, t.transferring())


def _transfer(state: CallState, draft: Draft | None, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    """Dial the operator now; the report (if any) is created in the same turn."""
    created = _create(state, draft) if draft is not None and not state.reported else None
    commands = created.commands if created else ()
    base = created.state if created else state
    if cfg.operator_number:
        moved = _goto(base, Stage.TRANSFERRED)
        return VoiceTurn(moved, (Say(lead), Dial(cfg.operator_number)), commands)
    if created is not None:  # no operator: `on_outcome` reads the code and the 11x numbers
        return created
    return VoiceTurn(_goto(state, Stage.DONE), (Say(t.call_again()), Hangup()))


def _after_dial(state: CallState, event: DialEnded, cfg: VoiceConfig) -> VoiceTurn:
    bye = (Say(t.goodbye()), Hangup())
    if event.status in ANSWERED:
        return VoiceTurn(_goto(state, Stage.DONE), bye)
    busy = Say(t.operator_busy())
    if state.reported:
        reminder = (Say(t.code_reminder(state.code)),) if state.code else ()
        urgent = state.draft is not None and state.draft.urgent
        advice = (Say(t.emergency_numbers()),) if urgent else ()
        return VoiceTurn(_goto(state, Stage.DONE), (busy, *reminder, *advice, *bye))
    return _start_recording(state.model_copy(update={"voicemail": True}), cfg, busy)


def _silence(state: CallState, cfg: VoiceConfig) -> VoiceTurn:
    quiet = state.model_copy(update={"silences": state.silences + 1})
    if quiet.silences >= cfg.max_silences:
        return _give_up(quiet, cfg, t.not_heard())
    return VoiceTurn(quiet, (Say(t.not_heard()), _prompt(quiet, cfg)))


def _retry(state: CallState, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    tried = state.model_copy(update={"attempts": state.attempts + 1})
    if tried.attempts >= cfg.max_attempts:
        return _give_up(tried, cfg, lead)
    return VoiceTurn(tried, (Say(lead), _prompt(tried, cfg)))


def _give_up(state: CallState, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    """Retries used up: the operator if there is one, otherwise a polite goodbye.

    Content the caller already confirmed is kept as a report either way.
    """
    confirmed = state.draft if state.draft is not None and state.draft.content else None
    if cfg.operator_number and not state.voicemail:  # a voicemail follows an unanswered dial
        turn = _transfer(state, confirmed, cfg, t.give_up_transfer())
        return replace(turn, actions=(Say(lead), *turn.actions))
    if confirmed is not None and not state.reported:
        turn = _create(state, confirmed)
        return replace(turn, actions=(Say(lead),))
    return VoiceTurn(_goto(state, Stage.DONE), (Say(lead), Say(t.call_again()), Hangup()))


def _ended(state: CallState) -> VoiceTurn:
    ended = state.model_copy(update={"ended": True})
    if state.stage == Stage.RECORD:  # Twilio still posts the recording after a hang-up
        return VoiceTurn(ended)
    if state.stage in _CLOSED:
        return VoiceTurn(ended if state.stage == Stage.TRANSFERRED else _goto(ended, Stage.DONE))
    return _salvage(ended)


def _salvage(state: CallState) -> VoiceTurn:
    """After a hang-up: confirmed content still becomes a report."""
    if state.draft is not None and state.draft.content and not state.reported:
        return _create(state, state.draft)
    return VoiceTurn(_goto(state, Stage.DONE))


# --- reports -------------------------------------------------------------------


def _create(state: CallState, draft: Draft) -> VoiceTurn:
    final = draft.model_copy(
        update={
            "phone": state.caller,
            "contact_done": True,
            "public": False,
            "media_done": True,
            "turns": state.seq + 1,
        }
    )
    command = CreateReport(draft=final, name=None, phone=state.caller)
    moved = _goto(state, Stage.CREATING, draft=final, pending=None, place=None, reported=True)
    return VoiceTurn(moved, (), (command,))


def _created(state: CallState, outcome: ReportCreated, cfg: VoiceConfig) -> VoiceTurn:
    sms = _sms(state, outcome.code, cfg)
    known = state.model_copy(update={"code": outcome.code})
    if state.stage == Stage.TRANSFERRED:
        return VoiceTurn(known, sms)
    done = _goto(known, Stage.DONE)
    if state.ended:
        return VoiceTurn(done, sms)
    spoken = t.created(outcome.code, outcome.due, outcome.urgent, sms=bool(sms))
    return VoiceTurn(done, (Say(spoken), Say(t.goodbye()), Hangup(), *sms))


def _sms(state: CallState, code: str, cfg: VoiceConfig) -> tuple[SendSms, ...]:
    if not state.caller:
        return ()
    text = t.sms_text(code, cfg.zalo_oa_name, cfg.zalo_link, cfg.telegram_link)
    return (SendSms(to=state.caller, text=text),)


# --- helpers -------------------------------------------------------------------


def _prompt(state: CallState, cfg: VoiceConfig) -> Action:
    """The question of the current stage (asked again after a silence or a wrong key)."""
    stage = state.stage
    if stage == Stage.CONTENT:
        return GatherSpeech(t.ask_content(), hints=t.CONTENT_HINTS, timeout=cfg.speech_timeout)
    if stage == Stage.LOCATION:
        hints = (*t.LOCATION_HINTS, *cfg.location_hints)
        return GatherSpeech(t.ask_location(), hints=hints, timeout=cfg.speech_timeout)
    if stage == Stage.CONFIRM_CONTENT and state.pending is not None:
        return GatherDigits(t.readback_content(state.pending.content or ""), 1, cfg.digit_timeout)
    if stage == Stage.CONFIRM_LOCATION and state.place is not None:
        return GatherDigits(t.readback_location(place_text(state.place)), 1, cfg.digit_timeout)
    if stage == Stage.CODE:
        return GatherDigits(t.ask_code(), 12, cfg.code_timeout)
    if stage == Stage.RECORD:
        known = state.draft is not None and bool(state.draft.content)
        prompt = t.leave_message() if state.voicemail else t.record_prompt(known)
        return Record(prompt, cfg.record_max_length)
    return GatherDigits(t.menu(bool(cfg.operator_number)), 1, cfg.digit_timeout)


def _goto(state: CallState, stage: Stage, **update: object) -> CallState:
    """Move to a stage; its silence, attempt and unclear counters start again."""
    reset: dict[str, object] = {"stage": stage, "silences": 0, "attempts": 0, "unclear": 0}
    return state.model_copy(update={**reset, **update})


def _phone(raw: str | None) -> str | None:
    """The caller's number in E.164 (+84...), or None when withheld or not Vietnamese."""
    return canonical_phone(raw) if raw else None


def _inbound(text: str) -> Inbound:
    return Inbound(channel="voice", sender_id="caller", text=text, transcript=True)


def _bare(text: str) -> NluResult:
    return NluResult(text=text, normalized=text, key=fold(text))
