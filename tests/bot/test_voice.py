"""Scripted hotline calls against the pure IVR core and in-memory ports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

import pytest

from bot import voice
from bot import voice_templates as t
from bot.commands import CreateReport, LookupStatus, Outcome
from bot.config import BotConfig
from bot.messages import Media
from bot.ports import InMemoryReports
from bot.state import Draft
from bot.voice import (
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
    NoInput,
    Record,
    RecordingDone,
    Say,
    SendSms,
    SpeechHeard,
    Stage,
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
            outcome: Outcome
            if isinstance(command, CreateReport):
                outcome = self.reports.create_report(command)
            else:
                assert isinstance(command, LookupStatus)
                outcome = self.reports.lookup_status(command.code)
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


# --- status lookup ------------------------------------------------------------------


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


# --- operator, urgency -----------------------------------------------------------------


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


# --- low confidence, silence, retries -------------------------------------------------


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


# --- hang-ups and duplicates ------------------------------------------------------------


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


# --- templates ---------------------------------------------------------------------------


def test_codes_are_read_digit_by_digit_and_dates_naturally() -> None:
    assert t.spell_code(FIRST_CODE) == FIRST_CODE_SPOKEN
    assert t.say_date(date(2026, 1, 5)) == "ngày 5 tháng 1 năm 2026"
    assert not re.search(r"\d", t.spell_code("0123456789"))


def test_sms_names_the_code_and_how_to_send_photos() -> None:
    text = t.sms_text(FIRST_CODE, "PAHT Vĩnh Long", "https://zalo.me/1", "https://t.me/b")
    assert FIRST_CODE in text and "Zalo OA PAHT Vĩnh Long" in text and "https://t.me/b" in text
    assert "ảnh" in text
    assert "Zalo" not in t.sms_text(FIRST_CODE, None, None, None)


def test_every_prompt_is_vietnamese_with_diacritics() -> None:
    found = date(2026, 11, 23)
    prompts = [
        t.greeting("tỉnh Vĩnh Long"),
        t.menu(True),
        t.menu(False),
        t.invalid_key(),
        t.not_heard(),
        t.ask_content(),
        t.ask_again(),
        t.content_too_short(),
        t.readback_content("x"),
        t.ask_location(),
        t.readback_location("x"),
        t.record_prompt(True),
        t.record_prompt(False),
        t.leave_message(),
        t.location_in_recording(),
        t.recorded_content(()),
        t.created(FIRST_CODE, found, True, True),
        t.created(FIRST_CODE, found, False, False),
        t.emergency_numbers(),
        t.ask_code(),
        t.code_invalid(),
        t.status_found(FIRST_CODE, "Đang xử lý", found, found, "Đã sửa"),
        t.status_not_found(FIRST_CODE),
        t.transferring(),
        t.transferring_urgent(),
        t.operator_unavailable(),
        t.operator_busy(),
        t.code_reminder(FIRST_CODE),
        t.goodbye(),
        t.call_again(),
        t.give_up_transfer(),
        t.system_error(),
        t.sms_text(FIRST_CODE, None, None, None),
    ]
    for prompt in prompts:
        assert VIETNAMESE & set(prompt.lower()), prompt
        for sentence in re.split(r"(?<=[.?])\s", prompt):  # short sentences, heard once
            assert len(sentence.split()) <= 25, sentence


def test_long_transcripts_are_clipped_when_read_back() -> None:
    prompt = t.readback_content("nước " * 200)
    assert prompt.count("nước") == t.MAX_READBACK_WORDS and "..." in prompt
