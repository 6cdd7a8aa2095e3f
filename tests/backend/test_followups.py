"""Follow-ups on the citizen's own reports through the bot runner, on both databases:
"phản ánh của tôi" across linked channels, adding information and photos, and the SMS
contact step that offers the sender's number instead of asking for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from backend.console.report_view import timeline
from backend.conversations.service import ChatContext, bot_config, handle_inbound
from backend.db import make_session_factory, unit_of_work
from backend.reports.models import Attachment, Report, ReportEvent
from bot.messages import Inbound, Media
from nlu import Nlu
from tests.conftest import make_settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PHONE = "+84912345678"
UNKNOWN = "202611239999"


class Bot:
    def __init__(self, engine: Engine, nlu: Nlu) -> None:
        settings = make_settings()
        self.engine = engine
        self.ctx = ChatContext(settings=settings, nlu=nlu, bot=bot_config(settings))
        self.count = 0

    def say(self, channel: str, sender: str, text: str = "", **fields: object) -> str:
        self.count += 1
        payload = text if text.startswith("/") else None
        msg = Inbound(
            channel=channel,
            sender_id=sender,
            message_id=f"m{self.count}",
            text="" if payload else text,
            payload=payload,
            **fields,  # type: ignore[arg-type]
        )
        now = NOW + timedelta(minutes=self.count)
        with unit_of_work(make_session_factory(self.engine)) as session:
            replies = handle_inbound(session, msg=msg, ctx=self.ctx, now=now)
        return "\n".join(r.text for r in replies)


def _sms_report(bot: Bot) -> tuple[str, str]:
    """A report sent by SMS; the contact question it got, and the report's code."""
    bot.say("sms", PHONE, "Đèn đường hẻm 12 Nguyễn Trãi phường 9 thành phố Vĩnh Long bị tắt")
    asked = bot.say("sms", PHONE, "/public:no")
    bot.say("sms", PHONE, "có")
    bot.say("sms", PHONE, "/confirm")
    with make_session_factory(bot.engine)() as session:
        return asked, session.scalars(select(Report.code)).one()


def test_sms_contact_step_offers_the_senders_number(engine: Engine, nlu: Nlu) -> None:
    asked, code = _sms_report(Bot(engine, nlu))
    assert "qua số 0912345678 bạn đang dùng để nhắn tin" in asked
    with make_session_factory(engine)() as session:
        report = session.scalars(select(Report).where(Report.code == code)).one()
        assert report.reporter_phone == PHONE and not report.anonymous


def test_telegram_citizen_sees_their_earlier_sms_report(engine: Engine, nlu: Nlu) -> None:
    bot = Bot(engine, nlu)
    _, code = _sms_report(bot)
    assert code not in bot.say("telegram", "tg-55", "phản ánh của tôi")  # not linked yet
    bot.say("telegram", "tg-55", contact_phone=PHONE, sender_name="Tám")
    listed = bot.say("telegram", "tg-55", "phan anh cua toi")
    assert f"{code} (23/11/2026) Mới tiếp nhận: «Đèn đường hẻm 12 Nguyễn Trãi" in listed
    assert "Mới tiếp nhận" in listed
    assert code not in bot.say("web", "someone-else", "phản ánh của tôi")


def test_adding_information_and_a_photo_to_a_report(engine: Engine, nlu: Nlu) -> None:
    bot = Bot(engine, nlu)
    _, code = _sms_report(bot)
    bot.say("telegram", "tg-55", contact_phone=PHONE, sender_name="Tám")
    reply = bot.say("telegram", "tg-55", f"bổ sung {code}: đèn tắt từ 18 giờ, hẻm tối om")
    assert f"Đã bổ sung nội dung vào phản ánh {code}" in reply
    photo = Media(kind="image", provider_ref="AgACAgUAAxkBAAIB")
    assert "Đã bổ sung 1 ảnh/video" in bot.say("telegram", "tg-55", media=(photo,))
    assert "Cảm ơn bạn đã bổ sung" in bot.say("telegram", "tg-55", "xong")
    with make_session_factory(engine)() as session:
        report = session.scalars(select(Report).where(Report.code == code)).one()
        added = [e for e in report.events if e.kind == "citizen_info"]
        assert [(e.actor, e.comment) for e in added] == [
            ("citizen:telegram", "đèn tắt từ 18 giờ, hẻm tối om"),
            ("citizen:telegram", None),
        ]
        [attachment] = report.attachments
        assert (attachment.provider_ref, attachment.status) == ("AgACAgUAAxkBAAIB", "pending")
        assert added[1].data == {"attachments": [attachment.id]}
        entries = [e for e in timeline(session, report=report) if e.comment]
        assert any(e.what == "Người dân bổ sung thông tin" for e in entries)


def test_someone_elses_code_is_not_found(engine: Engine, nlu: Nlu) -> None:
    bot = Bot(engine, nlu)
    _, code = _sms_report(bot)
    theirs = bot.say("web", "someone-else", f"bổ sung {code}: tôi thấy đèn vẫn sáng mà")
    unknown = bot.say("web", "someone-else", f"bổ sung {UNKNOWN}: tôi thấy đèn vẫn sáng mà")
    assert "Không tìm thấy phản ánh mã" in theirs
    assert theirs.replace(code, "X") == unknown.replace(UNKNOWN, "X")
    with make_session_factory(engine)() as session:
        kinds = session.scalars(select(ReportEvent.kind)).all()
        assert "citizen_info" not in kinds
        assert not session.scalars(select(Attachment)).all()


def test_a_closed_report_takes_no_more_information(engine: Engine, nlu: Nlu) -> None:
    bot = Bot(engine, nlu)
    _, code = _sms_report(bot)
    with unit_of_work(make_session_factory(engine)) as session:
        session.scalars(select(Report)).one().status = "rejected"
    reply = bot.say("sms", PHONE, f"bo sung {code} den van tat")
    assert f"Phản ánh {code} đã kết thúc (Từ chối)" in reply
    with make_session_factory(engine)() as session:
        assert "citizen_info" not in session.scalars(select(ReportEvent.kind)).all()
