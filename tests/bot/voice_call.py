"""A scripted hotline caller for the IVR tests (tests/bot/test_voice_*.py).

`Call` feeds events to the pure core, runs its commands against in-memory
reports, and keeps what the caller heard; the rest are the script's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import cast

from bot import voice
from bot.commands import CreateReport, LookupStatus, Outcome
from bot.config import BotConfig
from bot.ports import InMemoryReports, execute
from bot.voice import (
    Action,
    CallEvent,
    CallStarted,
    CallState,
    DigitsPressed,
    GatherDigits,
    GatherSpeech,
    Record,
    Say,
    SpeechHeard,
    VoiceConfig,
)
from nlu import Location, Nlu, NluResult, fold

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CALLER = "+84912345678"
OPERATOR = "+842703822222"
CONTENT = "đèn đường trước nhà văn hóa ấp 3 bị hư mấy ngày nay"
PLACE = "ấp Tân Hòa xã Tân Long"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
VIETNAMESE = set("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")

BOT = BotConfig(
    province_name="tỉnh Vĩnh Long",
    category_names=MappingProxyType({"dien_chieu_sang": "Điện chiếu sáng"}),
)
WITH_OPERATOR = VoiceConfig(
    bot=BOT,
    operator_number=OPERATOR,
    confidence_threshold=0.6,
    zalo_oa_name="PAHT Vĩnh Long",
    zalo_link="https://zalo.me/1234567890",
    telegram_link="https://t.me/paht_vl_bot",
)
NO_OPERATOR = VoiceConfig(bot=BOT, confidence_threshold=0.6)


def understood(
    text: str,
    urgent: bool = False,
    location: Location | None = None,
    reasons: tuple[str, ...] = (),
) -> NluResult:
    """A hand-made NLU result, so the IVR tests do not depend on the classifier."""
    return NluResult(
        text=text,
        normalized=text,
        key=fold(text),
        urgent=urgent,
        urgent_reasons=reasons,
        location=location,
    )


TAN_LONG = Location(
    raw=PLACE,
    province="Tỉnh Vĩnh Long",
    province_code="86",
    commune="Xã Tân Long Hội",
    commune_code="29653",
    detail="ấp Tân Hòa",
    confidence=0.85,
)


def key(digits: str) -> DigitsPressed:
    return DigitsPressed(digits)


def said(text: str, confidence: float = 0.9, **nlu: object) -> tuple[CallEvent, NluResult]:
    return SpeechHeard(text, confidence), understood(text, **nlu)  # type: ignore[arg-type]


Step = CallEvent | tuple[CallEvent, NluResult]


@dataclass
class Call:
    """One caller on the hotline; executes commands against in-memory reports."""

    cfg: VoiceConfig
    nlu: Nlu | None = None
    state: CallState = field(default_factory=CallState)
    reports: InMemoryReports = field(default_factory=lambda: InMemoryReports(date(2026, 11, 23)))
    now: datetime = START
    commands: list[object] = field(default_factory=list)
    heard: list[Action] = field(default_factory=list)

    def step(self, step: Step) -> list[Action]:
        event, nlu = step if isinstance(step, tuple) else (step, None)
        if nlu is None and self.nlu is not None and isinstance(event, SpeechHeard):
            nlu = self.nlu.understand(event.text)
        self.now += timedelta(seconds=15)
        turn = voice.handle(self.state, event, nlu, self.now, self.cfg)
        self.state, actions = turn.state, list(turn.actions)
        for command in turn.commands:
            self.commands.append(command)
            assert isinstance(command, CreateReport | LookupStatus)
            outcome = cast(Outcome, execute(self.reports, command))  # those two give an Outcome
            after = voice.on_outcome(self.state, outcome, self.cfg)
            self.state, actions = after.state, actions + list(after.actions)
        # The backend stores the state as JSON between webhooks.
        self.state = CallState.model_validate_json(self.state.model_dump_json())
        self.heard += actions
        return actions

    def run(self, *steps: Step) -> list[Action]:
        actions: list[Action] = []
        for step in steps:
            actions = self.step(step)
        return actions

    @property
    def report(self) -> CreateReport:
        assert len(self.reports.created) == 1, self.reports.created
        return next(iter(self.reports.created.values()))


def kinds(actions: list[Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


def spoken(actions: list[Action]) -> str:
    parts = []
    for a in actions:
        if isinstance(a, Say):
            parts.append(a.text)
        elif isinstance(a, GatherDigits | GatherSpeech | Record):
            parts.append(a.prompt)
    return " ".join(parts)


FIRST_CODE = "202611230001"
FIRST_CODE_SPOKEN = "hai không hai sáu, một một hai ba, không không không một"


# --- the table: scripts and what the caller hears at each step -----------------------

FULL_CALL: list[tuple[Step, list[str]]] = [
    (CallStarted(CALLER), ["Say", "GatherDigits"]),
    (key("1"), ["GatherSpeech"]),
    (said(CONTENT), ["GatherDigits"]),
    (key("1"), ["GatherSpeech"]),
    (said(PLACE, location=TAN_LONG), ["GatherDigits"]),
    (key("1"), ["Say", "Say", "Hangup", "SendSms"]),
]
