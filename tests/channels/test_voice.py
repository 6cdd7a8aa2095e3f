"""The Twilio Voice adapter: signatures, recorded webhook forms, TwiML, and a scripted call."""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import voice
from bot.commands import CreateReport, LookupStatus, Outcome
from bot.config import BotConfig
from bot.ports import InMemoryReports
from bot.voice import (
    Action,
    CallState,
    Dial,
    GatherDigits,
    GatherSpeech,
    Hangup,
    Record,
    Say,
    SendSms,
    SpeechHeard,
    VoiceConfig,
)
from channels.base import PayloadError, RawRequest, SignatureError
from channels.voice import DEFAULT_VOICE, TwilioVoiceAdapter, VoiceEvent
from nlu import NluResult, fold
from tests.fakes.signing import TWILIO_SIGNATURE, twilio_shared_key_headers, twilio_signature

DATA = Path(__file__).resolve().parents[1] / "data" / "voice"
TOKEN = "f4c1d2e3b4a5968778695a4b3c2d1e0f"
PUBLIC = "https://paht.vinhlong.gov.vn"
INTERNAL = "http://10.0.0.7:8000"
CALL = "/channels/voice/twilio"
STATUS = "/channels/voice/twilio/status"
SID = "CA5f7e8c2a9b0d4e6f8a1b3c5d7e9f0a2b"
OPERATOR = "+842703822222"
FIXTURES = sorted(p.stem for p in DATA.glob("*.json"))


@pytest.fixture
def adapter() -> TwilioVoiceAdapter:
    return TwilioVoiceAdapter(auth_token=TOKEN, public_url=PUBLIC + "/")


def signed(
    form: dict[str, str],
    path: str = CALL,
    query: str = "",
    *,
    token: str = TOKEN,
    signed_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> RawRequest:
    """The request as the app sees it behind the proxy, signed over the public URL."""
    suffix = f"?{query}" if query else ""
    url = signed_url or f"{PUBLIC}{path}{suffix}"
    return RawRequest(
        method="POST",
        url=f"{INTERNAL}{path}{suffix}",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            TWILIO_SIGNATURE: twilio_signature(token, url, form),
            **(headers or {}),
        },
        body=urlencode(form).encode(),
        query=dict(parse_qsl(query)),
    )


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return data


# --- signatures ------------------------------------------------------------------------


def test_twilio_documented_signature_example_is_accepted() -> None:
    adapter = TwilioVoiceAdapter(auth_token="12345", public_url="https://mycompany.com")
    form = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    request = RawRequest(
        method="POST",
        url="http://127.0.0.1:8000/myapp.php?foo=1&bar=2",
        headers={"x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
        body=urlencode(form).encode(),
    )
    adapter.verify(request)


def test_signed_request_is_accepted_forged_or_missing_refused(
    adapter: TwilioVoiceAdapter,
) -> None:
    form = fixture("gather_speech")["form"]
    good = signed(form, query="step=2")
    adapter.verify(good)
    forged = signed(form, query="step=2", token="not-the-auth-token")
    missing = RawRequest(good.method, good.url, {}, good.body, good.query)
    tampered = RawRequest(
        good.method, good.url, good.headers, good.body.replace(b"0.83", b"0.99"), good.query
    )
    other_step = RawRequest(
        good.method, good.url.replace("step=2", "step=9"), good.headers, good.body, {"step": "9"}
    )
    for request in (forged, missing, tampered, other_step):
        with pytest.raises(SignatureError):
            adapter.verify(request)


def test_signature_over_http_is_refused_and_port_variants_accepted(
    adapter: TwilioVoiceAdapter,
) -> None:
    form = fixture("gather_digits")["form"]
    with pytest.raises(SignatureError):
        adapter.verify(
            signed(form, query="step=1", signed_url=f"http://paht.vinhlong.gov.vn{CALL}?step=1")
        )
    adapter.verify(signed(form, query="step=1", signed_url=f"{PUBLIC}:443{CALL}?step=1"))


def test_shared_key_signatures_need_the_shared_key() -> None:
    form = fixture("gather_digits")["form"]
    url = f"{PUBLIC}{CALL}?step=1"
    headers = twilio_shared_key_headers("shared-secret", url, form)
    request = RawRequest("POST", f"{INTERNAL}{CALL}?step=1", headers, urlencode(form).encode())
    TwilioVoiceAdapter(auth_token=TOKEN, public_url=PUBLIC, shared_key="shared-secret").verify(
        request
    )
    with pytest.raises(SignatureError):
        TwilioVoiceAdapter(auth_token=TOKEN, public_url=PUBLIC).verify(request)


def test_unreadable_body_is_a_signature_error(adapter: TwilioVoiceAdapter) -> None:
    request = RawRequest("POST", f"{INTERNAL}{CALL}", {"x-twilio-signature": "x"}, b"\xff\xfe")
    with pytest.raises(SignatureError):
        adapter.verify(request)


# --- parsing recorded webhooks ----------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_recorded_webhooks_are_verified_and_parsed(adapter: TwilioVoiceAdapter, name: str) -> None:
    data = fixture(name)
    path = CALL if data["route"] == "call" else STATUS
    request = signed(data["form"], path, data["query"])
    adapter.verify(request)
    parsed = adapter.parse(request) if data["route"] == "call" else adapter.parse_status(request)
    expect = data["expect"]
    assert isinstance(parsed, VoiceEvent) and parsed.call_sid == SID
    assert type(parsed.event).__name__ == expect["event"]
    for name_, value in expect["fields"].items():
        assert getattr(parsed.event, name_) == value, name_
    assert parsed.key == expect["key"]


def test_step_comes_from_the_url_even_without_a_parsed_query(adapter: TwilioVoiceAdapter) -> None:
    form = fixture("gather_digits")["form"]
    request = signed(form, query="step=7")
    bare = RawRequest(request.method, request.url, request.headers, request.body)
    assert adapter.parse(bare).step == 7


MALFORMED: list[tuple[str, dict[str, str], str]] = [
    ("no CallSid", {"From": "+84912345678"}, ""),
    ("bad CallSid", {"CallSid": "CA123"}, ""),
    ("bad Confidence", {"CallSid": SID, "SpeechResult": "a", "Confidence": "high"}, "step=1"),
    ("Confidence > 1", {"CallSid": SID, "SpeechResult": "a", "Confidence": "7"}, "step=1"),
    ("Confidence nan", {"CallSid": SID, "SpeechResult": "a", "Confidence": "nan"}, "step=1"),
    ("bad Digits", {"CallSid": SID, "Digits": "1; DROP"}, "step=1"),
    ("bad step", {"CallSid": SID, "Digits": "1"}, "step=abc"),
    ("bad CallStatus", {"CallSid": SID, "CallStatus": "exploded"}, ""),
    ("bad DialCallStatus", {"CallSid": SID, "DialCallStatus": "maybe"}, "step=1"),
    ("bad RecordingUrl", {"CallSid": SID, "RecordingUrl": "file:///etc/passwd"}, "step=1"),
    ("bad duration", {"CallSid": SID, "RecordingUrl": "https://x/y", "RecordingDuration": "x"}, ""),
    (
        "bad RecordingSid",
        {"CallSid": SID, "RecordingUrl": "https://x/y", "RecordingSid": "RE1"},
        "",
    ),
    ("control chars in From", {"CallSid": SID, "From": "+84\x00"}, ""),
]


@pytest.mark.parametrize(("why", "form", "query"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_webhooks_are_payload_errors(
    adapter: TwilioVoiceAdapter, why: str, form: dict[str, str], query: str
) -> None:
    with pytest.raises(PayloadError):
        adapter.parse(signed(form, query=query))


def test_wrong_method_and_undecodable_body_are_payload_errors(adapter: TwilioVoiceAdapter) -> None:
    with pytest.raises(PayloadError):
        adapter.parse(RawRequest("GET", f"{INTERNAL}{CALL}", {}, b""))
    with pytest.raises(PayloadError):
        adapter.parse_status(RawRequest("POST", f"{INTERNAL}{STATUS}", {}, b"CallSid=\xff"))


TWILIO_NAMES = st.sampled_from(
    [
        "CallSid",
        "From",
        "Digits",
        "SpeechResult",
        "Confidence",
        "RecordingUrl",
        "RecordingDuration",
        "RecordingSid",
        "RecordingStatus",
        "CallStatus",
        "DialCallStatus",
    ]
)
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", SID, "1", "0#", "hangup", "0.5", "-1", "completed", "https://a/b"]),
    st.from_regex(r"-?\d{1,8}(\.\d{1,3})?", fullmatch=True),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    form=st.dictionaries(st.one_of(TWILIO_NAMES, st.text(max_size=8)), VALUES, max_size=8),
    query=st.one_of(
        st.just(""), st.text(max_size=12), st.from_regex(r"step=\d{1,8}", fullmatch=True)
    ),
    with_sid=st.booleans(),
)
def test_fuzzed_forms_give_an_event_or_a_payload_error(
    adapter: TwilioVoiceAdapter, form: dict[str, str], query: str, with_sid: bool
) -> None:
    if with_sid:
        form = {**form, "CallSid": SID}
    request = RawRequest(
        "POST",
        f"{INTERNAL}{CALL}?{urlencode({'x': query})}",
        {},
        urlencode(form).encode(),
        dict(parse_qsl(query)),
    )
    for parse in (adapter.parse, adapter.parse_status):
        with contextlib.suppress(PayloadError):
            assert isinstance(parse(request), VoiceEvent)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200), signature=st.text(max_size=40))
def test_fuzzed_bodies_never_crash_verify_or_parse(
    adapter: TwilioVoiceAdapter, body: bytes, signature: str
) -> None:
    request = RawRequest("POST", f"{INTERNAL}{CALL}", {"x-twilio-signature": signature}, body)
    with pytest.raises(SignatureError):
        adapter.verify(request)
    with contextlib.suppress(PayloadError):
        adapter.parse(request)


# --- rendering TwiML ----------------------------------------------------------------------


def twiml(adapter: TwilioVoiceAdapter, *actions: Action, step: int = 4) -> ET.Element:
    xml = adapter.render(list(actions), adapter.action_url(step))
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(xml)


def test_say_uses_the_vietnamese_voice_slowly(adapter: TwilioVoiceAdapter) -> None:
    root = twiml(adapter, Say("Xin chào. Đây là đường dây tiếp nhận phản ánh."))
    say = root.find("Say")
    assert say is not None and say.get("voice") == DEFAULT_VOICE == "Google.vi-VN-Standard-A"
    assert say.get("language") == "vi-VN"
    prosody = say.find("prosody")
    assert prosody is not None and prosody.get("rate") == "90%"
    assert prosody.text == "Xin chào. Đây là đường dây tiếp nhận phản ánh."


def test_voice_and_rate_are_configurable() -> None:
    custom = TwilioVoiceAdapter(
        auth_token=TOKEN, public_url=PUBLIC, voice="Google.vi-VN-Wavenet-A", rate=None
    )
    say = twiml(custom, Say("Xin chào")).find("Say")
    assert say is not None and say.get("voice") == "Google.vi-VN-Wavenet-A"
    assert say.text == "Xin chào" and say.find("prosody") is None


def test_speech_gather_is_vietnamese_and_posts_back_with_the_step(
    adapter: TwilioVoiceAdapter,
) -> None:
    root = twiml(adapter, GatherSpeech("Xin mời nói nội dung", hints=("ngập nước", "ổ gà")))
    gather, redirect = list(root)
    url = f"{PUBLIC}{CALL}?step=4"
    assert gather.tag == "Gather" and gather.get("input") == "dtmf speech"
    assert gather.get("language") == "vi-VN" and gather.get("action") == url
    assert gather.get("method") == "POST" and gather.get("speechTimeout") == "auto"
    assert gather.get("hints") == "ngập nước, ổ gà" and gather.get("numDigits") == "1"
    assert gather.find("Say") is not None and gather.get("speechModel") is None
    assert redirect.tag == "Redirect" and redirect.text == url  # timeout → NoInput


def test_speech_model_needs_an_integer_speech_timeout() -> None:
    tuned = TwilioVoiceAdapter(auth_token=TOKEN, public_url=PUBLIC, speech_model="googlev2_short")
    gather = twiml(tuned, GatherSpeech("Xin mời nói")).find("Gather")
    assert gather is not None and gather.get("speechModel") == "googlev2_short"
    assert gather.get("speechTimeout") == "3"


def test_digit_gather_record_dial_and_hangup(adapter: TwilioVoiceAdapter) -> None:
    root = twiml(
        adapter,
        GatherDigits("Xin mời bấm mã phản ánh", num_digits=12, timeout=15),
        Record("Sau tiếng bíp, xin mời nói", max_length=90),
        Dial(OPERATOR),
        Hangup(),
        SendSms(to="+84912345678", text="Phản ánh 202611230001 đã được tiếp nhận."),
    )
    tags = [child.tag for child in root]
    assert tags == ["Gather", "Redirect", "Say", "Record", "Redirect", "Dial", "Hangup"]
    gather, record, dial = root.find("Gather"), root.find("Record"), root.find("Dial")
    assert gather is not None and gather.get("numDigits") == "12" and gather.get("input") == "dtmf"
    assert gather.get("timeout") == "15" and gather.get("finishOnKey") == "#"
    assert record is not None and record.get("maxLength") == "90"
    assert record.get("recordingStatusCallback") == f"{PUBLIC}{STATUS}"
    assert record.get("action") == f"{PUBLIC}{CALL}?step=4" and record.get("playBeep") == "true"
    assert (
        dial is not None
        and dial.text == OPERATOR
        and dial.get("action") == f"{PUBLIC}{CALL}?step=4"
    )
    assert dial.get("timeout") == "20"


def test_sms_is_not_twiml_but_handed_back(adapter: TwilioVoiceAdapter) -> None:
    sms = SendSms(to="+84912345678", text="Phản ánh 202611230001 đã được tiếp nhận.")
    root = twiml(adapter, Say("Tạm biệt"), Hangup(), sms)
    assert "202611230001" not in ET.tostring(root, encoding="unicode")
    assert adapter.sms([Say("x"), sms]) == (sms,)


def test_urls_are_built_from_the_public_base(adapter: TwilioVoiceAdapter) -> None:
    assert adapter.action_url(12) == f"{PUBLIC}{CALL}?step=12"
    assert adapter.status_url == f"{PUBLIC}{STATUS}"
    request = RawRequest("POST", f"{INTERNAL}{CALL}?step=3", {}, b"")
    assert adapter.public_request_url(request) == f"{PUBLIC}{CALL}?step=3"


# --- a whole call: signed form posts sharing one CallSid, as the backend will run it ------


@dataclass
class Hotline:
    """What the backend route does: verify, parse, dedupe, run the core, render."""

    adapter: TwilioVoiceAdapter
    cfg: VoiceConfig
    reports: InMemoryReports = field(default_factory=lambda: InMemoryReports(date(2026, 11, 23)))
    state: CallState = field(default_factory=CallState)
    last: tuple[str, str] | None = None  # idempotency key and TwiML of the last answer
    texts: list[SendSms] = field(default_factory=list)

    def post(self, request: RawRequest, status: bool = False) -> str:
        self.adapter.verify(request)
        event = self.adapter.parse_status(request) if status else self.adapter.parse(request)
        if self.last is not None and self.last[0] == event.key:
            return self.last[1]
        if event.step is not None and event.step != self.state.seq:
            return self.last[1] if self.last else ""
        nlu = None
        if isinstance(event.event, SpeechHeard):
            text = event.event.text
            nlu = NluResult(text=text, normalized=text, key=fold(text), urgent="cháy" in text)
        now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
        turn = voice.handle(self.state, event.event, nlu, now, self.cfg)
        self.state, actions = turn.state, list(turn.actions)
        for command in turn.commands:
            outcome: Outcome
            if isinstance(command, CreateReport):
                outcome = self.reports.create_report(command)
            else:
                assert isinstance(command, LookupStatus)
                outcome = self.reports.lookup_status(command.code)
            after = voice.on_outcome(self.state, outcome, self.cfg)
            self.state, actions = after.state, actions + list(after.actions)
        xml = self.adapter.render(actions, self.adapter.action_url(self.state.seq))
        self.texts += self.adapter.sms(actions)
        self.last = (event.key, xml)
        return xml


def next_url(xml: str) -> tuple[str, str]:
    """Path and query of the URL the TwiML posts the caller's answer to."""
    root = ET.fromstring(xml)
    for element in root:
        url = element.get("action") or (element.text if element.tag == "Redirect" else None)
        if url:
            parts = urlsplit(url)
            return parts.path, parts.query
    raise AssertionError(f"no action URL in {xml}")


def test_a_scripted_call_end_to_end_with_a_redelivered_webhook(
    adapter: TwilioVoiceAdapter,
) -> None:
    cfg = VoiceConfig(
        bot=BotConfig(province_name="tỉnh Vĩnh Long", category_names=MappingProxyType({})),
        operator_number=OPERATOR,
        zalo_link="https://zalo.me/1234567890",
    )
    line = Hotline(adapter, cfg)
    base = fixture("call_start")["form"]
    xml = line.post(signed(base))
    assert "Xin chào" in xml and "bấm phím 1" in xml
    answers: list[dict[str, str]] = [
        {"Digits": "1"},
        {"SpeechResult": "Đèn đường trước nhà văn hóa ấp 3 bị hư", "Confidence": "0.83"},
        {"Digits": "1"},
        {"SpeechResult": "ấp Tân Hòa xã Tân Long", "Confidence": "0.91"},
    ]
    for answer in answers:
        path, query = next_url(xml)
        xml = line.post(signed({**base, "CallStatus": "in-progress", **answer}, path, query))
    assert "Địa điểm: ấp Tân Hòa xã Tân Long" in xml
    path, query = next_url(xml)
    confirm = signed({**base, "CallStatus": "in-progress", "Digits": "1"}, path, query)
    xml = line.post(confirm)
    assert "hai không hai sáu, một một hai ba, không không không một" in xml
    assert xml.endswith("<Hangup /></Response>")
    assert line.post(confirm) == xml  # Twilio retried the same webhook: same answer
    ended = {**base, "CallStatus": "completed", "CallDuration": "95"}
    assert list(ET.fromstring(line.post(signed(ended, STATUS), status=True))) == []
    assert len(line.reports.created) == 1
    report = next(iter(line.reports.created.values()))
    assert report.phone == "+84912345678" and report.draft.public is False
    assert [s.to for s in line.texts] == ["+84912345678"]
    assert "zalo.me/1234567890" in line.texts[0].text


def test_a_scripted_call_to_the_operator_who_does_not_answer(adapter: TwilioVoiceAdapter) -> None:
    cfg = VoiceConfig(bot=BotConfig(province_name="tỉnh Vĩnh Long"), operator_number=OPERATOR)
    line = Hotline(adapter, cfg)
    base = fixture("call_start")["form"]
    xml = line.post(signed(base))
    path, query = next_url(xml)
    xml = line.post(signed({**base, "CallStatus": "in-progress", "Digits": "0"}, path, query))
    assert "<Dial" in xml and OPERATOR in xml
    path, query = next_url(xml)
    no_answer = {**base, "CallStatus": "in-progress", "DialCallStatus": "no-answer"}
    xml = line.post(signed(no_answer, path, query))
    assert "<Record" in xml and "lời nhắn" in xml
    path, query = next_url(xml)
    recording = {
        **base,
        "CallStatus": "in-progress",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "RecordingDuration": "31",
        "Digits": "#",
    }
    xml = line.post(signed(recording, path, query))
    report = next(iter(line.reports.created.values()))
    assert report.draft.media[0].kind == "audio" and (report.draft.media[0].url or "").endswith(
        "/RE1"
    )
    assert "<Hangup" in xml
