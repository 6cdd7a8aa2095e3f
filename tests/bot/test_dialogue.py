"""Scripted Vietnamese conversations against the pure dialogue core and in-memory ports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.settings import Settings
from bot import dialogue
from bot.commands import CreateReport
from bot.config import BotConfig
from bot.messages import Inbound, Media, Reply
from bot.ports import InMemoryReports
from bot.state import State, Step
from nlu import Nlu

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


class Chat:
    """One citizen talking to the bot; executes commands against in-memory reports."""

    def __init__(self, nlu: Nlu, cfg: BotConfig, accepts_media: bool = True) -> None:
        self.nlu, self.cfg = nlu, cfg
        self.state = State(accepts_media=accepts_media)
        self.reports = InMemoryReports(date(2026, 11, 23))
        self.now = START
        self.turns = 0

    def say(self, text: str = "", **fields: object) -> str:
        self.now += timedelta(seconds=20)
        self.turns += 1
        msg = Inbound(channel="web", sender_id="u", text=text, **fields)  # type: ignore[arg-type]
        understood = self.nlu.understand(text)
        turn = dialogue.handle(self.state, msg, understood, self.now, self.cfg)
        self.state, replies = turn.state, list(turn.replies)
        for command in turn.commands:
            if isinstance(command, CreateReport):
                outcome = self.reports.create_report(command)
            else:
                outcome = self.reports.lookup_status(command.code)
            after = dialogue.on_outcome(self.state, outcome, self.cfg)
            self.state, replies = after.state, replies + list(after.replies)
        return "\n".join(r.text for r in replies)

    @property
    def last(self) -> CreateReport:
        return list(self.reports.created.values())[-1]


@pytest.fixture
def cfg(settings: Settings) -> BotConfig:
    return BotConfig(province_name=settings.province.name, category_names=settings.category_names())


@pytest.fixture
def chat(nlu: Nlu, cfg: BotConfig) -> Chat:
    return Chat(nlu, cfg)


def _finish(chat: Chat) -> str:
    """Answer whatever is still asked with the shortest answers, then confirm."""
    for _ in range(8):
        step = chat.state.step
        if step == Step.SUMMARY:
            return chat.say("gửi")
        answers = {
            Step.PHOTOS: "xong",
            Step.CONSENT: "có",
            Step.CONTACT: "bỏ qua",
            Step.CATEGORY: "1",
            Step.LOCATION: "ấp Phú Thạnh xã Long Hồ",
        }
        chat.say(answers[step])
    raise AssertionError(f"stuck at {chat.state.step}")


def test_full_report_with_diacritics(chat: Chat) -> None:
    assert "Xin chào" in chat.say("Xin chào")
    chat.say("Tôi muốn phản ánh")
    assert chat.state.step == Step.CONTENT
    chat.say("Rác thải đổ bừa bãi trước cổng chợ, bốc mùi hôi suốt mấy ngày nay")
    assert chat.state.step == Step.LOCATION
    chat.say("số 45 đường 3 tháng 2, phường 1")
    assert chat.state.step == Step.PHOTOS
    chat.say(media=(Media(kind="image", url="https://x.invalid/1.jpg"),))
    chat.say(media=(Media(kind="image", url="https://x.invalid/2.jpg"),))
    chat.say("xong")
    chat.say("Đồng ý công khai")
    chat.say("Trần Thị Lan 0987 654 321")
    reply = _finish(chat)
    assert "Mã phản ánh: 202611230001" in reply
    draft = chat.last.draft
    assert draft.content and draft.content.startswith("Rác thải")
    assert len(draft.media) == 2 and draft.public is True
    assert chat.last.phone == "+84987654321" and chat.last.name == "Trần Thị Lan"


def test_all_in_one_message_without_diacritics_is_not_asked_again(chat: Chat) -> None:
    chat.say("den duong hem 12 nguyen trai phuong 3 bi tat ca tuan nay, sdt 0912345678")
    # content, location and phone were all given: only photos and consent remain.
    assert chat.state.step == Step.PHOTOS
    chat.say("ko")
    chat.say("co")
    reply = _finish(chat)
    assert "Mã phản ánh" in reply
    assert chat.last.phone == "+84912345678"
    assert chat.last.draft.location is not None
    assert "nguyen trai" in chat.last.draft.location.raw
    assert chat.turns <= 5


def test_correcting_the_address_from_the_summary(chat: Chat) -> None:
    chat.say("Cây xanh ngã đổ chắn ngang đường trước trường tiểu học Long Hồ")
    chat.say("trước trường tiểu học Long Hồ, xã Long Hồ")
    _to_summary(chat)
    chat.say("sửa địa chỉ")
    assert chat.state.step == Step.LOCATION
    chat.say("ấp Phước Yên, xã Phú Quới")
    assert chat.state.step == Step.SUMMARY
    assert chat.state.draft is not None and chat.state.draft.location is not None
    assert "Phước Yên" in chat.state.draft.location.raw
    assert "Mã phản ánh" in chat.say(payload="/confirm")


def _to_summary(chat: Chat) -> None:
    answers = {
        Step.PHOTOS: "xong",
        Step.CONSENT: "không",
        Step.CONTACT: "ẩn danh",
        Step.CATEGORY: "1",
    }
    while chat.state.step != Step.SUMMARY:
        chat.say(answers[chat.state.step])


def test_cancel_discards_the_draft(chat: Chat) -> None:
    chat.say("Đường vào ấp 3 bị sạt lở một đoạn dài, xe không qua được")
    assert "Đã hủy" in chat.say("hủy")
    assert chat.state.draft is None and chat.state.step == Step.IDLE
    assert "không có phản ánh nào đang soạn" in chat.say("huy").lower()
    assert chat.reports.created == {}


def test_unfinished_draft_is_resumed_after_a_break(chat: Chat) -> None:
    chat.say("Nắp cống trước nhà số 10 đường Hùng Vương bị mất, rất nguy hiểm")
    step = chat.state.step
    chat.now += timedelta(hours=5)
    assert "soạn dở" in chat.say("chào")
    assert chat.state.step == Step.RESUME
    chat.say("Tiếp tục")
    assert chat.state.step == step
    assert chat.state.draft is not None and "Nắp cống" in (chat.state.draft.content or "")


def test_status_lookup_by_code_alone_and_with_words(chat: Chat) -> None:
    chat.say("Đèn tín hiệu giao thông ở ngã tư Phó Cơ Điều bị hư từ sáng")
    reply = _finish(chat)
    code = reply.split("Mã phản ánh: ")[1][:12]
    assert "Mới tiếp nhận" in chat.say(f"tra cứu {code}")
    assert "Mới tiếp nhận" in chat.say(code)
    assert "Không tìm thấy" in chat.say("tra cuu 202611239999")


def test_lookup_without_code_asks_for_it(chat: Chat) -> None:
    assert "mã phản ánh" in chat.say("tra cứu phản ánh").lower()
    assert chat.state.step == Step.AWAIT_CODE


def test_options_by_number_and_by_word(chat: Chat) -> None:
    chat.say("Đường ngập nước sau mưa ở khu phố 2 phường 4, xe chết máy nhiều")
    chat.say("ko co anh")
    assert chat.state.step == Step.CONSENT
    chat.say("số 2")  # "Không công khai"
    assert chat.state.draft is not None and chat.state.draft.public is False


def test_declining_contact_makes_an_anonymous_report(chat: Chat) -> None:
    chat.say("Có nhóm thanh niên tụ tập đua xe mỗi tối ở đường tránh Quốc lộ 1A")
    chat.say("đoạn gần cầu Cái Cá")
    chat.say("không")
    chat.say("không")
    chat.say("Gửi ẩn danh")
    _finish(chat)
    assert chat.last.phone is None and chat.last.name is None


def test_channel_without_media_skips_the_photo_question(nlu: Nlu, cfg: BotConfig) -> None:
    sms = Chat(nlu, cfg, accepts_media=False)
    sms.say("Nha may xa khoi den ngap ca xom, o ap Tan Quy xa Tan Hanh")
    assert sms.state.step != Step.PHOTOS
    assert sms.state.step == Step.CONSENT


def test_too_long_and_empty_messages_change_nothing(chat: Chat, cfg: BotConfig) -> None:
    chat.say("Bãi rác tự phát ven sông Cổ Chiên ngày càng lớn, mùi hôi nồng nặc")
    before = chat.state.draft
    assert "quá dài" in chat.say("x" * (cfg.max_chars + 1))
    assert "trống" in chat.say("   ")
    assert chat.state.draft == before


def test_every_reply_is_vietnamese_with_diacritics(chat: Chat) -> None:
    replies: list[Reply] = []
    msg = Inbound(channel="web", sender_id="u", text="alo")
    replies += dialogue.handle(chat.state, msg, chat.nlu.understand("alo"), START, chat.cfg).replies
    assert any(ch in replies[0].text for ch in "ăâđêôơư")
