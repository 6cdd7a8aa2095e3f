"""The neutral voice vocabulary: call events, call actions, `VoiceConfig` and `CallState`.

Shared by the IVR core (`bot.voice`), the Twilio adapter (`channels.voice`) and
the backend runner. Events say what the caller did, actions what the call does
next; `CallState` is stored by the backend per CallSid, as JSON, and `VoiceTurn`
is what one step of the call flow returns. Data only: the flow lives in `bot.voice`,
which re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.commands import Command
from bot.config import BotConfig
from bot.messages import Frozen
from bot.state import Draft
from nlu import Location

__all__ = [
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
]

# --- events: what the caller did ----------------------------------------------


@dataclass(frozen=True)
class CallStarted:
    caller: str | None = None  # Twilio `From` as received


@dataclass(frozen=True)
class DigitsPressed:
    digits: str


@dataclass(frozen=True)
class SpeechHeard:
    text: str
    confidence: float | None = None


@dataclass(frozen=True)
class RecordingDone:
    url: str | None
    duration: int = 0  # seconds


@dataclass(frozen=True)
class NoInput:
    """A prompt timed out without digits or speech."""


@dataclass(frozen=True)
class DialEnded:
    status: str  # Twilio DialCallStatus: completed, answered, busy, no-answer, failed, canceled


@dataclass(frozen=True)
class CallEnded:
    status: str = "completed"


@dataclass(frozen=True)
class CallProgress:
    """A non-final status callback (ringing, in-progress): nothing to do."""

    status: str


CallEvent = (
    CallStarted
    | DigitsPressed
    | SpeechHeard
    | RecordingDone
    | NoInput
    | DialEnded
    | CallEnded
    | CallProgress
)

# --- actions: what the call does next -----------------------------------------


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class GatherDigits:
    prompt: str
    num_digits: int = 1
    timeout: int = 6


@dataclass(frozen=True)
class GatherSpeech:
    """Speech in Vietnamese; the keypad stays live so "0" still reaches the operator."""

    prompt: str
    language: str = "vi-VN"
    hints: tuple[str, ...] = ()
    timeout: int = 6


@dataclass(frozen=True)
class Record:
    prompt: str
    max_length: int = 120


@dataclass(frozen=True)
class Dial:
    number: str


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class SendSms:
    """Sent after the call by the SMS adapter, not part of the TwiML."""

    to: str
    text: str


Action = Say | GatherDigits | GatherSpeech | Record | Dial | Hangup | SendSms

# --- configuration and state --------------------------------------------------


@dataclass(frozen=True)
class VoiceConfig:
    bot: BotConfig  # province name, category names, minimum content length
    operator_number: str | None = None  # E.164; None: no transfers
    confidence_threshold: float = 0.5
    max_silences: int = 2
    max_attempts: int = 3
    digit_timeout: int = 6
    code_timeout: int = 15
    speech_timeout: int = 6
    record_max_length: int = 120
    location_hints: tuple[str, ...] = ()  # e.g. commune names of the province
    zalo_oa_name: str | None = None
    zalo_link: str | None = None
    telegram_link: str | None = None


class Stage(StrEnum):
    NEW = "new"
    MENU = "menu"
    CONTENT = "content"
    CONFIRM_CONTENT = "confirm_content"
    LOCATION = "location"
    CONFIRM_LOCATION = "confirm_location"
    RECORD = "record"
    CODE = "code"
    CREATING = "creating"
    TRANSFERRED = "transferred"
    DONE = "done"


class CallState(Frozen):
    stage: Stage = Stage.NEW
    seq: int = 0  # handled events; the step number in action URLs
    caller: str | None = None  # E.164, the report's contact phone
    draft: Draft | None = None  # what the caller confirmed
    pending: Draft | None = None  # content heard, waiting for "bấm 1"
    place: Location | None = None  # location heard, waiting for "bấm 1"
    guesses: tuple[str, ...] = ()  # low-confidence transcripts, kept for staff
    voicemail: bool = False  # recording a message because the operator did not answer
    silences: int = 0
    attempts: int = 0
    unclear: int = 0
    redos: int = 0
    reported: bool = False  # CreateReport was emitted
    code: str | None = None
    ended: bool = False


@dataclass(frozen=True)
class VoiceTurn:
    state: CallState
    actions: tuple[Action, ...] = ()
    commands: tuple[Command, ...] = field(default=())
