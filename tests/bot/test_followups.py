"""The citizen's own reports in chat: "phản ánh của tôi" and adding information or photos
to one of them, scripted against the pure dialogue core and in-memory ports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.settings import Settings
from bot import dialogue
from bot import followup_templates as ft
from bot import templates as t
from bot.commands import CreateReport
from bot.config import BotConfig
from bot.messages import Inbound, Media, Reply
from bot.ports import InMemoryReports, execute
from bot.state import Draft, State, Step
from nlu import Nlu

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FOREIGN = "202611239999"
UNKNOWN = "202611238888"
PHOTO = Media(kind="image", url="https://cdn.example/p1.jpg")


class Chat:
    """One citizen talking to the bot; every command runs against in-memory reports."""

    def __init__(self, nlu: Nlu, cfg: BotConfig) -> None:
        self.nlu, self.cfg = nlu, cfg
        self.state = State()
        self.reports = InMemoryReports(date(2026, 11, 23))
        self.now = START
        self.replies: list[Reply] = []

    def say(
        self,
        text: str = "",
        payload: str | None = None,
        media: tuple[Media, ...] = (),
        wait: timedelta | None = None,
    ) -> str:
        self.now += wait or timedelta(seconds=20)
        msg = Inbound(channel="web", sender_id="u", text=text, payload=payload, media=media)
        turn = dialogue.handle(self.state, msg, self.nlu.understand(text), self.now, self.cfg)
        self.state, replies = turn.state, list(turn.replies)
        for command in turn.commands:
            after = dialogue.on_outcome(self.state, execute(self.reports, command), self.cfg)
            self.state, replies = after.state, replies + list(after.replies)
        self.replies = replies
        return "\n".join(r.text for r in replies)

    def press(self, payload: str) -> str:
        return self.say(payload=payload)

    @property
    def buttons(self) -> dict[str, str]:
        return {b.title: b.payload for r in self.replies for b in r.buttons}

    def sent(self, content: str) -> str:
        """A report this citizen sent earlier; its code."""
        draft = Draft(content=content, public=False, contact_done=True)
        return self.reports.create_report(CreateReport(draft=draft, name=None, phone=None)).code


@pytest.fixture
def chat(nlu: Nlu, settings: Settings) -> Chat:
    cfg = BotConfig(province_name=settings.province.name, category_names=settings.category_names())
    return Chat(nlu, cfg)


# --- "phản ánh của tôi" -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "phản ánh của tôi",
        "phan anh cua toi",
        "Phản ánh của tôi?",
        "xem cac phan anh da gui",
        "tôi đã gửi những gì",
        "danh sách phản ánh của tôi",
        "các phản ánh tôi đã gửi",
    ],
)
def test_the_citizen_sees_their_reports_newest_first(chat: Chat, text: str) -> None:
    old = chat.sent("Đèn đường hẻm 12 Nguyễn Trãi bị tắt cả tuần nay")
    new = chat.sent("Rác đổ trộm ở đầu hẻm 7 đường Phạm Thái Bường")
    chat.reports.add_foreign(FOREIGN)
    chat.reports.complete(old)
    reply = chat.say(text)
    assert reply.index(new) < reply.index(old)
    assert f"{new} (23/11/2026) Mới tiếp nhận: «Rác đổ trộm ở đầu hẻm 7" in reply
    assert "Mới tiếp nhận" in reply and "Hoàn thành" in reply
    assert FOREIGN not in reply  # someone else's report is never listed
    assert chat.buttons[f"Xem {new}"] == ft.P_LOOKUP_CODE + new
    assert chat.buttons["Bổ sung thông tin"] == ft.P_ADD_INFO
    assert chat.state.step == Step.IDLE


def test_no_reports_yet_says_how_to_send_one(chat: Chat) -> None:
    reply = chat.say("phản ánh của tôi")
    assert "Bạn chưa gửi phản ánh nào" in reply and "mô tả sự việc" in reply
    assert chat.buttons["Gửi phản ánh"] == t.P_REPORT


def test_the_welcome_offers_the_list_and_its_buttons_look_up(chat: Chat) -> None:
    code = chat.sent("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    chat.say("xin chào")
    assert chat.buttons["Phản ánh của tôi"] == t.P_MY_REPORTS
    assert code in chat.press(t.P_MY_REPORTS)
    reply = chat.press(chat.buttons[f"Xem {code}"])
    assert f"Phản ánh {code} «Cống trước chợ Long Hồ" in reply and "Mới tiếp nhận" in reply


def test_a_long_list_shows_the_newest_five_and_says_so(chat: Chat) -> None:
    codes = [chat.sent(f"Đèn đường số {i} ở hẻm {i} bị tắt cả tuần nay") for i in range(7)]
    reply = chat.say("phan anh cua toi")
    assert all(c in reply for c in codes[2:]) and codes[0] not in reply and codes[1] not in reply
    assert "Bạn có tất cả 7 phản ánh" in reply
    assert len(chat.replies[-1].buttons) <= 5  # fits Zalo's five buttons


def test_a_status_question_without_a_code_lists_the_reports(chat: Chat) -> None:
    code = chat.sent("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    assert code in chat.say("phản ánh của tôi đã được xử lý chưa")
    assert "12 chữ số" in chat.say("tra cứu phản ánh")  # no "my": still asks for the code


def test_a_report_that_starts_with_my_words_is_still_a_report(chat: Chat) -> None:
    chat.say("Phản ánh của tôi là đèn đường hẻm 12 Nguyễn Trãi phường 9 bị tắt cả tuần nay")
    assert chat.state.draft is not None and chat.state.step != Step.IDLE


def test_the_list_in_the_middle_of_a_draft_keeps_the_draft(chat: Chat) -> None:
    code = chat.sent("Rác đổ trộm ở đầu hẻm 7 đường Phạm Thái Bường")
    chat.say("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    step, asked, draft = chat.state.step, chat.replies[-1].text, chat.state.draft
    reply = chat.say("phản ánh của tôi")
    assert code in reply and reply.endswith(asked)
    assert chat.state.step == step and chat.state.draft is not None
    assert draft is not None and chat.state.draft.content == draft.content


# --- adding information -------------------------------------------------------------------


def test_text_after_the_code_is_added_at_once(chat: Chat) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    reply = chat.say(f"bổ sung {code}: nước giờ sâu hơn 50cm, xe máy chết máy nhiều")
    [added] = chat.reports.added[code]
    assert added.text == "nước giờ sâu hơn 50cm, xe máy chết máy nhiều" and not added.media
    assert f"Đã bổ sung nội dung vào phản ánh {code}" in reply
    # Photos may follow, each added to the same report, until "xong".
    reply = chat.say(media=(PHOTO,))
    assert chat.reports.added[code][-1].media == (PHOTO,)
    assert "Đã bổ sung 1 ảnh/video" in reply
    assert "Cảm ơn bạn đã bổ sung" in chat.say("xong")
    assert chat.state.step == Step.IDLE and chat.state.adding is None
    chat.say("cảm ơn")
    assert len(chat.reports.added[code]) == 2


@pytest.mark.parametrize("text", ["bo sung thong tin cho ma {code}", "bổ sung {code}"])
def test_a_code_alone_asks_for_the_information(chat: Chat, text: str) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    reply = chat.say(text.format(code=code))
    assert f"Bạn bổ sung cho phản ánh {code} «Đường ngập sâu" in reply
    assert code not in chat.reports.added and chat.state.step == Step.ADD_INFO
    chat.say("Chỗ đó gần cổng trường, học sinh phải lội nước")
    assert chat.reports.added[code][0].text == "Chỗ đó gần cổng trường, học sinh phải lội nước"


def test_photos_with_the_code_in_the_caption(chat: Chat) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    reply = chat.say(f"bổ sung ảnh cho phản ánh {code}", media=(PHOTO, PHOTO))
    [added] = chat.reports.added[code]
    assert added.media == (PHOTO, PHOTO) and added.text is None
    assert "Đã bổ sung 2 ảnh/video" in reply


def test_the_add_button_asks_which_open_report(chat: Chat) -> None:
    done = chat.sent("Đèn đường hẻm 12 Nguyễn Trãi bị tắt cả tuần nay")
    chat.reports.complete(done)
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    chat.say("phản ánh của tôi")
    reply = chat.press(chat.buttons["Bổ sung thông tin"])
    assert "bổ sung cho phản ánh nào" in reply
    assert chat.buttons == {f"Bổ sung {code}": f"{ft.P_ADD_INFO}:{code}"}  # only open ones
    chat.say("1")
    assert chat.state.step == Step.ADD_INFO and chat.state.adding == code
    chat.say(media=(PHOTO,))
    assert chat.reports.added[code][0].media == (PHOTO,)


def test_add_words_without_a_code_then_the_code(chat: Chat) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    assert "bổ sung cho phản ánh nào" in chat.say("bổ sung thông tin")
    chat.say(code)
    assert chat.state.step == Step.ADD_INFO and chat.state.adding == code


def test_nothing_open_to_add_to(chat: Chat) -> None:
    reply = chat.say("bổ sung thông tin")
    assert "không có phản ánh nào đang xử lý" in reply and chat.state.step == Step.IDLE


def test_someone_elses_code_reads_like_an_unknown_one(chat: Chat) -> None:
    chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    chat.reports.add_foreign(FOREIGN, completed=False)
    foreign = chat.say(f"bổ sung {FOREIGN}: nước giờ sâu hơn 50cm")
    unknown = chat.say(f"bổ sung {UNKNOWN}: nước giờ sâu hơn 50cm")
    assert "Không tìm thấy phản ánh mã" in foreign
    assert foreign.replace(FOREIGN, "X") == unknown.replace(UNKNOWN, "X")
    assert chat.press(f"{ft.P_ADD_INFO}:{FOREIGN}").replace(FOREIGN, "X") == unknown.replace(
        UNKNOWN, "X"
    )
    assert not chat.reports.added and chat.state.step == Step.IDLE


def test_a_closed_report_takes_no_more_information(chat: Chat) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    chat.reports.reject(code)
    reply = chat.say(f"bổ sung {code}: nước giờ sâu hơn 50cm")
    assert f"Phản ánh {code} đã kết thúc (Từ chối)" in reply
    assert code not in chat.reports.added and chat.state.step == Step.IDLE


def test_adding_in_the_middle_of_a_draft_keeps_the_draft(chat: Chat) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    chat.say("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    step, asked = chat.state.step, chat.replies[-1].text
    chat.say(f"bổ sung {code}: nước giờ sâu hơn 50cm")
    assert chat.state.step == Step.ADD_INFO
    reply = chat.say("xong")
    assert reply.endswith(asked) and chat.state.step == step
    assert chat.state.draft is not None and "Cống" in (chat.state.draft.content or "")


def test_adding_lapses_after_a_long_silence(chat: Chat) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    chat.say(f"bổ sung {code}")
    chat.say("Cây xanh ngã đè lên dây điện ở đường Lê Lợi phường 1", wait=timedelta(hours=2))
    assert code not in chat.reports.added
    assert chat.state.adding is None and chat.state.draft is not None


# --- the contact step on a channel that knows the number (SMS) ----------------------------


def _to_contact(chat: Chat) -> str:
    chat.state = State(accepts_media=False, channel_phone="+84912345678")
    chat.say("Đèn đường hẻm 12 Nguyễn Trãi phường 9 thành phố Vĩnh Long bị tắt cả tuần nay")
    for _ in range(6):
        if chat.state.step == Step.CONTACT:
            return chat.replies[-1].text
        answers = {Step.CONSENT: "không", Step.CATEGORY: "1", Step.LOCATION: "hẻm 12 phường 9"}
        chat.say(answers[chat.state.step])
    raise AssertionError(f"never asked for contact: {chat.state.step}")


def test_sms_contact_step_offers_the_senders_number(chat: Chat) -> None:
    asked = _to_contact(chat)
    assert "0912345678" in asked and "số điện thoại (ví dụ" not in asked
    assert chat.buttons == {"Dùng số này": ft.P_CONTACT_USE, "Gửi ẩn danh": t.P_CONTACT_SKIP}


@pytest.mark.parametrize("answer", ["có", "1", "Dùng số này"])
def test_sms_citizen_just_confirms_the_number(chat: Chat, answer: str) -> None:
    _to_contact(chat)
    reply = chat.say(answer)
    assert "• Liên hệ: 0912345678" in reply
    chat.press(t.P_CONFIRM)
    [report] = chat.reports.created.values()
    assert report.phone == "+84912345678"


def test_sms_citizen_gives_a_name_and_is_not_asked_for_a_number(chat: Chat) -> None:
    _to_contact(chat)
    reply = chat.say("Lê Văn Tám")
    assert "• Liên hệ: Lê Văn Tám, 0912345678" in reply and chat.state.step != Step.CONTACT_PHONE


def test_sms_citizen_may_give_another_number_or_none(chat: Chat) -> None:
    _to_contact(chat)
    assert "• Liên hệ: 0987654321" in chat.say("0987654321")
    chat.press(t.P_EDIT_FIELD + "contact")
    assert "• Liên hệ: ẩn danh" in chat.press(t.P_CONTACT_SKIP)


def test_a_citizen_without_the_code_is_offered_the_list(chat: Chat) -> None:
    code = chat.sent("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    assert "Không nhớ mã" in chat.press(t.P_LOOKUP)
    assert code in chat.say("1")  # the one option offered: "Phản ánh của tôi"


@pytest.mark.parametrize("text", ["cảm ơn", "hủy", "không", "1"])
def test_closing_words_end_the_additions_without_being_added(chat: Chat, text: str) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    chat.say(f"bổ sung {code}")
    assert "Cảm ơn bạn đã bổ sung" in chat.say(text)
    assert code not in chat.reports.added and chat.state.step == Step.IDLE


def test_a_new_report_request_leaves_the_additions(chat: Chat) -> None:
    code = chat.sent("Đường ngập sâu trước trường tiểu học Long Châu")
    chat.say(f"bổ sung {code}")
    assert "mô tả sự việc" in chat.say("gửi phản ánh mới")
    assert code not in chat.reports.added and chat.state.step == Step.CONTENT
