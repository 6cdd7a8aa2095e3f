"""A citizen calls the hotline: signed Twilio Voice webhooks, TwiML followed step by step.

Each test plays Twilio: it posts the form Twilio would post, signed with the
twilio SDK's `RequestValidator` over the URL the TestClient uses, to the URL
the last TwiML named (the `action` of its `<Gather>`, `<Record>` or `<Dial>`).
Every webhook is delivered twice, as Twilio does when an answer is slow: the
second answer must be the same TwiML and change nothing. The SMS after the call
goes through the outbox to a recording SMS adapter.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from backend.app import create_app
from backend.channels.registry import Channels
from backend.citizens.models import Citizen
from backend.citizens.service import citizen_for
from backend.conversations.models import Conversation
from backend.conversations.service import ChatContext, bot_config
from backend.db import make_session_factory, utcnow
from backend.notifications.models import OutboxMessage
from backend.reports.models import Report
from backend.voice.service import voice_config
from bot.messages import Inbound, Reply
from bot.voice_templates import sms_text, spell_code
from channels.base import Capabilities, Outgoing, RawRequest, SignatureError
from channels.voice import STATUS_PATH, VOICE_PATH, TwilioVoiceAdapter
from nlu import Nlu
from tests.conftest import make_settings
from tests.e2e.conftest import wait_for

TOKEN = "e2e-voice-auth-token-0123456789ab"
BASE = "http://testserver"
ACCOUNT = "AC0123456789abcdef0123456789abcdef"
HOTLINE = "+842703999999"
OPERATOR = "+842703822222"
CALLER = "+84912345678"
CONTENT = "Đèn đường trước nhà văn hóa bị hư mấy ngày nay, buổi tối rất tối, dễ xảy ra tai nạn"
PLACE = "Hẻm 5 đường Nguyễn Huệ, phường Long Châu"
URGENT = "Cháy nhà ở hẻm 12, có người bị kẹt bên trong, cứu với"
RECORDING = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'ab' * 16}"


def sid(n: int) -> str:
    return f"CA{n:032x}"


class RecordingSms:
    """The SMS channel in miniature: renders the neutral reply, records what it sends."""

    name = "sms"
    capabilities = Capabilities(
        max_buttons=0, images=False, location=False, contact=False, max_text=1000
    )

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def verify(self, request: RawRequest) -> None:
        raise SignatureError("not a webhook channel in this test")

    def parse(self, request: RawRequest) -> list[Inbound]:
        return []

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [Outgoing(recipient=recipient, payload={"text": r.text}) for r in replies]

    async def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return f"SM{len(self.sent)}"


@dataclass
class Hotline:
    client: TestClient
    sms: RecordingSms
    engine: Engine

    def count(self, model: Any) -> int:
        with make_session_factory(self.engine)() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def reports(self) -> list[Report]:
        with make_session_factory(self.engine)() as session:
            return list(session.scalars(select(Report).order_by(Report.id)))


@pytest.fixture
def hotline(engine: Engine, database_url: str, nlu: Nlu) -> Iterator[Hotline]:
    adapter = TwilioVoiceAdapter(auth_token=TOKEN, public_url=BASE)
    sms = RecordingSms()
    settings = make_settings(database_url=database_url, twilio={"operator_number": OPERATOR})
    channels = Channels(voice=adapter, senders={"sms": sms})
    app = create_app(settings, nlu=nlu, channels=channels)
    with TestClient(app) as client:
        yield Hotline(client, sms, engine)


def post(client: TestClient, url: str, form: dict[str, str], token: str = TOKEN) -> Any:
    """A webhook as Twilio sends it: form-encoded, signed over the full URL and the form."""
    signature = RequestValidator(token).compute_signature(url, form)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    return client.post(url, content=urlencode(form), headers=headers)


class Call:
    """One phone call: posts what the caller does to the URL the last TwiML named."""

    def __init__(self, client: TestClient, call_sid: str, caller: str = CALLER) -> None:
        self.client, self.sid, self.caller = client, call_sid, caller
        self.url = f"{BASE}{VOICE_PATH}"
        self.twiml = ET.Element("Response")
        self.answer = ""

    def form(self, **fields: str) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "From": self.caller,
            "Caller": self.caller,
            "To": HOTLINE,
            "Called": HOTLINE,
            "Direction": "inbound",
            "CallStatus": "in-progress",
            **fields,
        }

    def step(self, url: str | None = None, **fields: str) -> str:
        """Deliver one webhook twice; follow its TwiML; return what the call says next."""
        form = self.form(**fields)
        target = url or self.url
        first = post(self.client, target, form)
        assert first.status_code == 200, first.text
        assert first.headers["content-type"].startswith("application/xml")
        again = post(self.client, target, form)
        assert again.status_code == 200 and again.text == first.text  # a retry changes nothing
        self.answer, self.twiml = first.text, ET.fromstring(first.text)
        self.url = action_url(self.twiml) or self.url
        return spoken(self.twiml)

    def start(self) -> str:
        return self.step(CallStatus="ringing")

    def status(self, **fields: str) -> ET.Element:
        """A status callback (call ended, recording ready): always an empty `<Response/>`."""
        answers = [post(self.client, f"{BASE}{STATUS_PATH}", self.form(**fields)) for _ in range(2)]
        assert all(a.status_code == 200 for a in answers)
        assert answers[0].text == answers[1].text
        return ET.fromstring(answers[0].text)


def action_url(twiml: ET.Element) -> str | None:
    for element in twiml.iter():
        if element.tag in ("Gather", "Record", "Dial") and element.get("action"):
            return element.get("action")
    redirect = twiml.find("Redirect")
    return redirect.text if redirect is not None else None


def spoken(twiml: ET.Element) -> str:
    return " ".join("".join(say.itertext()) for say in twiml.iter("Say"))


def test_a_full_call_files_a_report_reads_its_code_and_texts_it(hotline: Hotline) -> None:
    with make_session_factory(hotline.engine).begin() as session:  # known from an SMS
        known = citizen_for(session, channel="sms", external_id=CALLER, now=utcnow())
        known.phone = CALLER
    call = Call(hotline.client, sid(1))
    assert "Xin chào" in call.start() and "bấm phím 1" in spoken(call.twiml)
    assert "nội dung phản ánh" in call.step(Digits="1")
    gather = call.twiml.find("Gather")
    assert gather is not None and gather.get("language") == "vi-VN"
    assert "speech" in (gather.get("input") or "")
    assert "Bạn đã nói" in call.step(SpeechResult=CONTENT, Confidence="0.9")
    assert "ở đâu" in call.step(Digits="1")
    assert "Long Châu" in call.step(SpeechResult=PLACE, Confidence="0.9")
    done = call.step(Digits="1")

    [report] = hotline.reports()
    assert spell_code(report.code) in done and call.twiml.find("Hangup") is not None
    assert report.channel == "voice" and report.reporter_phone == CALLER
    assert report.commune_name == "Phường Long Châu" and not report.urgent
    with make_session_factory(hotline.engine)() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.channel, conversation.external_user_id) == ("voice", sid(1))
        assert report.citizen_id == known.id  # one citizen across channels, by phone
        [sms] = session.scalars(select(OutboxMessage)).all()
        assert (sms.channel, sms.recipient, sms.report_id) == ("sms", CALLER, report.id)
        assert report.code in sms.payload["text"]

    wait_for(lambda: hotline.sms.sent)
    [sent] = hotline.sms.sent
    assert sent.recipient == CALLER and report.code in sent.payload["text"]

    ended = call.status(CallStatus="completed", CallDuration="95")
    assert ended.tag == "Response" and len(ended) == 0
    replayed = post(hotline.client, f"{BASE}{VOICE_PATH}", call.form(CallStatus="ringing"))
    assert replayed.text == call.answer  # the first webhook again: the stored answer
    assert len(hotline.reports()) == 1 and hotline.count(OutboxMessage) == 1

    again = Call(hotline.client, sid(2))  # the same caller asks about the report
    again.start()
    assert "12 chữ số" in again.step(Digits="2")
    assert "Phản ánh mã" in again.step(Digits=f"{report.code}#")
    with make_session_factory(hotline.engine)() as session:
        assert session.scalar(select(func.count()).select_from(Citizen)) == 1


def test_urgent_speech_dials_the_operator_and_files_an_urgent_report(hotline: Hotline) -> None:
    call = Call(hotline.client, sid(3))
    call.start()
    call.step(Digits="1")
    assert "khẩn cấp" in call.step(SpeechResult=URGENT, Confidence="0.9")
    dial = call.twiml.find("Dial")
    assert dial is not None and (dial.text or "").strip() == OPERATOR

    [report] = hotline.reports()
    assert report.urgent and "fire" in report.urgent_reasons
    assert report.channel == "voice" and report.reporter_phone == CALLER
    wait_for(lambda: hotline.sms.sent)
    assert report.code in hotline.sms.sent[0].payload["text"]

    assert "Cảm ơn" in call.step(DialCallStatus="completed", DialCallDuration="60")
    ended = call.status(CallStatus="completed")
    assert len(ended) == 0
    with make_session_factory(hotline.engine)() as session:
        state = session.scalars(select(Conversation)).one().state
        assert state["call"]["ended"] and state["call"]["stage"] == "done"
    assert len(hotline.reports()) == 1 and len(hotline.sms.sent) == 1


def test_a_hang_up_after_confirming_the_content_still_files_the_report(
    hotline: Hotline,
) -> None:
    call = Call(hotline.client, sid(4))
    call.start()
    call.step(Digits="1")
    call.step(SpeechResult=CONTENT, Confidence="0.9")
    call.step(Digits="1")
    assert hotline.reports() == []
    assert len(call.status(CallStatus="completed")) == 0

    [report] = hotline.reports()
    assert report.content.startswith("Đèn đường") and report.reporter_phone == CALLER
    wait_for(lambda: hotline.sms.sent)
    assert report.code in hotline.sms.sent[0].payload["text"]


def _to_the_recording(call: Call) -> None:
    call.start()
    call.step(Digits="1")
    assert "nghe chưa rõ" in call.step(SpeechResult="ờ ừm đèn", Confidence="0.2")
    assert "tiếng bíp" in call.step(SpeechResult="đèn hư", Confidence="0.3")
    record = call.twiml.find("Record")
    assert record is not None and record.get("recordingStatusCallback") == f"{BASE}{STATUS_PATH}"


RECORDED = {"RecordingUrl": RECORDING, "RecordingSid": f"RE{'ab' * 16}", "RecordingDuration": "42"}


def _audio(hotline: Hotline, report: Report) -> list[tuple[str, str | None]]:
    with make_session_factory(hotline.engine)() as session:
        stored = session.get(Report, report.id)
        assert stored is not None
        return [(a.kind, a.url) for a in stored.attachments]


def test_unclear_speech_is_recorded_and_the_recording_attached(hotline: Hotline) -> None:
    call = Call(hotline.client, sid(5))
    _to_the_recording(call)
    done = call.step(**RECORDED, Digits="#")  # the <Record> action

    [report] = hotline.reports()
    assert spell_code(report.code) in done
    assert "đèn hư" in report.content  # the uncertain transcript, kept for staff
    late = call.status(**RECORDED, RecordingStatus="completed")  # the recording callback
    assert len(late) == 0
    assert _audio(hotline, report) == [("audio", RECORDING)]
    assert len(hotline.reports()) == 1


def test_a_recording_callback_before_the_record_action_is_not_lost(hotline: Hotline) -> None:
    call = Call(hotline.client, sid(7))
    _to_the_recording(call)
    record_action = call.url
    assert len(call.status(**RECORDED, RecordingStatus="completed")) == 0
    [report] = hotline.reports()
    done = call.step(record_action, **RECORDED, Digits="#")  # now superseded: the stored answer
    assert spell_code(report.code) in done and call.twiml.find("Hangup") is not None
    assert _audio(hotline, report) == [("audio", RECORDING)]
    assert len(hotline.reports()) == 1


def test_forged_malformed_and_unconfigured_webhooks_store_nothing(
    hotline: Hotline, engine: Engine, database_url: str, nlu: Nlu
) -> None:
    call = Call(hotline.client, sid(6))
    url = f"{BASE}{VOICE_PATH}"
    assert post(hotline.client, url, call.form(), token="forged").status_code == 403
    unsigned = hotline.client.post(url, content=urlencode(call.form()))
    assert unsigned.status_code == 403
    progress = post(hotline.client, f"{BASE}{STATUS_PATH}", call.form())
    assert progress.status_code == 200  # a callback of a call never answered: nothing to keep
    forged_status = hotline.client.post(
        f"{BASE}{STATUS_PATH}",
        content=urlencode(call.form(CallStatus="completed")),
        headers={"x-twilio-signature": "AAAA"},
    )
    assert forged_status.status_code == 403
    assert post(hotline.client, url, {**call.form(), "CallSid": "nope"}).status_code == 400
    assert post(hotline.client, f"{url}?step=x", call.form()).status_code == 400
    assert hotline.count(Conversation) == 0 and hotline.count(Report) == 0

    bare = create_app(make_settings(database_url=database_url), nlu=nlu, channels=Channels())
    with TestClient(bare) as client:
        assert post(client, url, call.form()).status_code == 404


def test_the_sms_after_a_call_tells_where_to_send_photos(nlu: Nlu) -> None:
    settings = make_settings(
        twilio={
            "zalo_oa_name": "UBND tỉnh Vĩnh Long",
            "zalo_link": "https://zalo.me/123",
            "telegram_link": "https://t.me/paht_vinhlong_bot",
        }
    )
    cfg = voice_config(ChatContext(settings=settings, nlu=nlu, bot=bot_config(settings)))
    text = sms_text("202611230001", cfg.zalo_oa_name, cfg.zalo_link, cfg.telegram_link)
    assert "202611230001" in text
    assert "https://zalo.me/123" in text and "https://t.me/paht_vinhlong_bot" in text
