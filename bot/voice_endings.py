"""How a hotline call moves between stages and how it ends.

Owns the question asked at each stage (`prompt`), moving to a stage (`goto`), and
every way out of the IVR flow: the recording of a caller who could not be
understood, the operator (on "0", urgent words or retries used up), retries and
silences used up, hang-ups, and the report command with its SMS afterwards. Pure
like `bot.voice`, which decides when each of these happens and is the module
callers import.
"""

from __future__ import annotations

from dataclasses import replace

from bot import voice_templates as t
from bot.commands import CreateReport, ReportCreated
from bot.messages import Media
from bot.state import Draft
from bot.templates import place_text
from bot.voice_types import (
    Action,
    CallState,
    Dial,
    DialEnded,
    GatherDigits,
    GatherSpeech,
    Hangup,
    Record,
    RecordingDone,
    Say,
    SendSms,
    Stage,
    VoiceConfig,
    VoiceTurn,
)
from nlu import Location

CLOSED = (Stage.CREATING, Stage.TRANSFERRED, Stage.DONE)
ANSWERED = ("completed", "answered")

# --- recording, operator, giving up ---------------------------------------------


def start_recording(state: CallState, cfg: VoiceConfig, *lead: Action) -> VoiceTurn:
    moved = goto(state, Stage.RECORD, pending=None, place=None)
    return VoiceTurn(moved, (*lead, prompt(moved, cfg)))


def recorded(state: CallState, event: RecordingDone, cfg: VoiceConfig) -> VoiceTurn:
    if not event.url or event.duration <= 0:
        return salvage(state) if state.ended else silence(state, cfg)
    draft = state.draft or Draft()
    update: dict[str, object] = {
        "media": (*draft.media, Media(kind="audio", url=event.url)),
        "content": draft.content or t.recorded_content(state.guesses),
    }
    if draft.location is None:
        update["location"] = Location(raw=t.location_in_recording(), note="recording")
    return create(state, draft.model_copy(update=update))


def operator(state: CallState, cfg: VoiceConfig) -> VoiceTurn:
    """ "0": to the operator at once, keeping what was said as an urgent report."""
    if not cfg.operator_number:
        return VoiceTurn(state, (Say(t.operator_unavailable()), prompt(state, cfg)))
    said = state.pending or state.draft
    if said is not None and said.content:
        if state.place is not None and said.location is None:
            said = said.model_copy(update={"location": state.place})
        reasons = (*said.urgent_reasons, "operator_requested")
        said = said.model_copy(update={"urgent": True, "urgent_reasons": reasons})
    else:
        said = None
    return transfer(state, said, cfg, t.transferring())


def transfer(state: CallState, draft: Draft | None, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    """Dial the operator now; the report (if any) is created in the same turn."""
    report = create(state, draft) if draft is not None and not state.reported else None
    commands = report.commands if report else ()
    base = report.state if report else state
    if cfg.operator_number:
        moved = goto(base, Stage.TRANSFERRED)
        return VoiceTurn(moved, (Say(lead), Dial(cfg.operator_number)), commands)
    if report is not None:  # no operator: `on_outcome` reads the code and the 11x numbers
        return report
    return VoiceTurn(goto(state, Stage.DONE), (Say(t.call_again()), Hangup()))


def after_dial(state: CallState, event: DialEnded, cfg: VoiceConfig) -> VoiceTurn:
    bye = (Say(t.goodbye()), Hangup())
    if event.status in ANSWERED:
        return VoiceTurn(goto(state, Stage.DONE), bye)
    busy = Say(t.operator_busy())
    if state.reported:
        reminder = (Say(t.code_reminder(state.code)),) if state.code else ()
        urgent = state.draft is not None and state.draft.urgent
        advice = (Say(t.emergency_numbers()),) if urgent else ()
        return VoiceTurn(goto(state, Stage.DONE), (busy, *reminder, *advice, *bye))
    return start_recording(state.model_copy(update={"voicemail": True}), cfg, busy)


def silence(state: CallState, cfg: VoiceConfig) -> VoiceTurn:
    quiet = state.model_copy(update={"silences": state.silences + 1})
    if quiet.silences >= cfg.max_silences:
        return give_up(quiet, cfg, t.not_heard())
    return VoiceTurn(quiet, (Say(t.not_heard()), prompt(quiet, cfg)))


def retry(state: CallState, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    tried = state.model_copy(update={"attempts": state.attempts + 1})
    if tried.attempts >= cfg.max_attempts:
        return give_up(tried, cfg, lead)
    return VoiceTurn(tried, (Say(lead), prompt(tried, cfg)))


def give_up(state: CallState, cfg: VoiceConfig, lead: str) -> VoiceTurn:
    """Retries used up: the operator if there is one, otherwise a polite goodbye.

    Content the caller already confirmed is kept as a report either way.
    """
    confirmed = state.draft if state.draft is not None and state.draft.content else None
    if cfg.operator_number and not state.voicemail:  # a voicemail follows an unanswered dial
        turn = transfer(state, confirmed, cfg, t.give_up_transfer())
        return replace(turn, actions=(Say(lead), *turn.actions))
    if confirmed is not None and not state.reported:
        turn = create(state, confirmed)
        return replace(turn, actions=(Say(lead),))
    return VoiceTurn(goto(state, Stage.DONE), (Say(lead), Say(t.call_again()), Hangup()))


def ended(state: CallState) -> VoiceTurn:
    over = state.model_copy(update={"ended": True})
    if state.stage == Stage.RECORD:  # Twilio still posts the recording after a hang-up
        return VoiceTurn(over)
    if state.stage in CLOSED:
        return VoiceTurn(over if state.stage == Stage.TRANSFERRED else goto(over, Stage.DONE))
    return salvage(over)


def salvage(state: CallState) -> VoiceTurn:
    """After a hang-up: confirmed content still becomes a report."""
    if state.draft is not None and state.draft.content and not state.reported:
        return create(state, state.draft)
    return VoiceTurn(goto(state, Stage.DONE))


# --- reports -------------------------------------------------------------------


def create(state: CallState, draft: Draft) -> VoiceTurn:
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
    moved = goto(state, Stage.CREATING, draft=final, pending=None, place=None, reported=True)
    return VoiceTurn(moved, (), (command,))


def created(state: CallState, outcome: ReportCreated, cfg: VoiceConfig) -> VoiceTurn:
    sms = _sms(state, outcome.code, cfg)
    known = state.model_copy(update={"code": outcome.code})
    if state.stage == Stage.TRANSFERRED:
        return VoiceTurn(known, sms)
    done = goto(known, Stage.DONE)
    if state.ended:
        return VoiceTurn(done, sms)
    spoken = t.created(outcome.code, outcome.due, outcome.urgent, sms=bool(sms))
    return VoiceTurn(done, (Say(spoken), Say(t.goodbye()), Hangup(), *sms))


def _sms(state: CallState, code: str, cfg: VoiceConfig) -> tuple[SendSms, ...]:
    if not state.caller:
        return ()
    text = t.sms_text(code, cfg.zalo_oa_name, cfg.zalo_link, cfg.telegram_link)
    return (SendSms(to=state.caller, text=text),)


# --- stages --------------------------------------------------------------------


def prompt(state: CallState, cfg: VoiceConfig) -> Action:
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
        question = t.leave_message() if state.voicemail else t.record_prompt(known)
        return Record(question, cfg.record_max_length)
    return GatherDigits(t.menu(bool(cfg.operator_number)), 1, cfg.digit_timeout)


def goto(state: CallState, stage: Stage, **update: object) -> CallState:
    """Move to a stage; its silence, attempt and unclear counters start again."""
    reset: dict[str, object] = {"stage": stage, "silences": 0, "attempts": 0, "unclear": 0}
    return state.model_copy(update={**reset, **update})
