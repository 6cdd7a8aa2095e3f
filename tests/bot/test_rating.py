"""Rating an answered report in chat, commenting and reopening it, against in-memory ports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.settings import Settings
from bot import dialogue
from bot import templates as t
from bot.config import BotConfig
from bot.messages import Inbound, Reply
from bot.ports import InMemoryReports, execute
from bot.state import State, Step
from nlu import Nlu

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FOREIGN = "202611239999"


class Chat:
    """One citizen talking to the bot; every command runs against in-memory reports."""

    def __init__(self, nlu: Nlu, cfg: BotConfig) -> None:
        self.nlu, self.cfg = nlu, cfg
        self.state = State()
        self.reports = InMemoryReports(date(2026, 11, 23))
        self.now = START
        self.replies: list[Reply] = []

    def say(self, text: str = "", payload: str | None = None, wait: timedelta | None = None) -> str:
        self.now += wait or timedelta(seconds=20)
        msg = Inbound(channel="web", sender_id="u", text=text, payload=payload)
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


@pytest.fixture
def chat(nlu: Nlu, settings: Settings) -> Chat:
    cfg = BotConfig(province_name=settings.province.name, category_names=settings.category_names())
    return Chat(nlu, cfg)


def _answered_report(chat: Chat) -> str:
    """A report the citizen sent earlier and staff have answered."""
    chat.say("Đèn đường hẻm 12 Nguyễn Trãi phường 3 thành phố Vĩnh Long bị tắt cả tuần nay")
    for _ in range(8):
        if chat.state.step == Step.IDLE:
            break
        if chat.state.step == Step.SUMMARY:
            chat.press(t.P_CONFIRM)
            continue
        answers = {
            Step.PHOTOS: "xong",
            Step.CONSENT: "có",
            Step.CONTACT: "bỏ qua",
            Step.CATEGORY: "1",
            Step.LOCATION: "hẻm 12 Nguyễn Trãi phường 3",
        }
        chat.say(answers[chat.state.step])
    code = next(iter(chat.reports.created))
    chat.reports.complete(code)
    return code


@pytest.mark.parametrize(("title", "score"), [("Rất hài lòng", 3), ("Hài lòng", 2)])
def test_a_good_rating_is_stored_and_thanked(chat: Chat, title: str, score: int) -> None:
    code = _answered_report(chat)
    reply = chat.press(dict((b.title, b.payload) for b in t.rating_buttons(code))[title])
    assert chat.reports.ratings[code] == (score, None)
    assert f"Cảm ơn bạn đã đánh giá «{title}» cho phản ánh {code}" in reply
    assert "Mở lại" not in reply and not chat.buttons  # nothing to reopen when satisfied
    assert chat.state.step == Step.RATING_COMMENT


def test_a_bad_rating_asks_what_is_wrong_and_offers_to_reopen(chat: Chat) -> None:
    code = _answered_report(chat)
    reply = chat.press(t.P_RATE_BAD + code)
    assert chat.reports.ratings[code] == (1, None)
    assert "điều gì vẫn chưa được giải quyết" in reply
    assert chat.buttons == {
        "Mở lại phản ánh": f"/reopen:{code}",
        "Không, cảm ơn": f"/keep_closed:{code}",
    }


def test_the_next_text_after_a_rating_is_its_comment(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.press(t.P_RATE_BAD + code)
    reply = chat.say("Đèn sáng được hai hôm rồi lại tắt")
    assert chat.reports.ratings[code] == (1, "Đèn sáng được hai hôm rồi lại tắt")
    assert f"Đã ghi nhận ý kiến của bạn về phản ánh {code}" in reply
    assert chat.state.step == Step.IDLE and chat.state.rating is None
    # Only the next text: what follows is an ordinary message again.
    chat.say("Cảm ơn nhiều")
    assert chat.reports.ratings[code][1] == "Đèn sáng được hai hôm rồi lại tắt"


def test_a_comment_step_left_alone_lapses(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.press(t.P_RATE_GOOD + code)
    chat.say("Cống trước nhà bị nghẹt, nước tràn ra đường", wait=timedelta(hours=2))
    assert chat.reports.ratings[code] == (2, None)
    assert chat.state.step != Step.RATING_COMMENT and chat.state.draft is not None


def test_reopening_sends_the_report_back_to_its_unit(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.press(t.P_RATE_BAD + code)
    reply = chat.say("1")  # the first offered option: "Mở lại phản ánh"
    assert chat.reports.statuses[code] == "Đã chuyển xử lý"
    assert chat.reports.reopened[code] == 1
    assert f"Đã mở lại phản ánh {code}" in reply and "Hạn trả lời mới: 30/11/2026" in reply
    # Reopened, it is no longer completed: no second reopening, no rating.
    assert "đang được xử lý" in chat.press(t.P_REOPEN + code)
    assert "đang được xử lý" in chat.press(t.P_RATE_GOOD + code)
    assert chat.reports.reopened[code] == 1 and chat.reports.ratings[code] == (1, None)


def test_no_thanks_keeps_the_report_closed(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.press(t.P_RATE_BAD + code)
    assert "đã được ghi nhận" in chat.press(t.P_KEEP_CLOSED + code)
    assert chat.reports.statuses[code] == "Hoàn thành" and code not in chat.reports.reopened
    assert chat.state.step == Step.IDLE


def test_rating_in_the_middle_of_a_draft_keeps_the_draft(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.say("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    asked = chat.replies[-1].text
    draft = chat.state.draft
    assert draft is not None and chat.state.step != Step.IDLE

    reply = chat.press(t.P_RATE_VERY_GOOD + code)
    assert chat.reports.ratings[code] == (3, None)
    assert "đang soạn vẫn được giữ nguyên" in reply
    assert chat.buttons["Tiếp tục soạn phản ánh"] == t.P_RESUME
    assert chat.state.draft == draft.model_copy(update={"turns": draft.turns + 1})

    reply = chat.say("Cán bộ làm việc rất nhanh")
    assert chat.reports.ratings[code] == (3, "Cán bộ làm việc rất nhanh")
    assert reply.endswith(asked)  # thanked, then back to the draft's question
    assert chat.state.draft is not None and chat.state.draft.content == draft.content


def test_reopening_in_the_middle_of_a_draft_keeps_the_draft(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.say("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    step, asked = chat.state.step, chat.replies[-1].text
    reply = chat.press(t.P_REOPEN + code)
    assert chat.reports.reopened[code] == 1
    assert reply.endswith(asked) and chat.state.step == step


def test_back_to_the_draft_from_the_comment_step(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.say("Cống trước chợ Long Hồ bị nghẹt, nước tràn ra đường")
    step, asked = chat.state.step, chat.replies[-1].text
    chat.press(t.P_RATE_GOOD + code)
    assert chat.press(t.P_RESUME) == asked and chat.state.step == step
    assert chat.reports.ratings[code] == (2, None)


@pytest.mark.parametrize("payload", [t.P_RATE_GOOD, t.P_RATE_BAD, t.P_REOPEN])
def test_someone_elses_report_is_not_found(chat: Chat, payload: str) -> None:
    _answered_report(chat)
    chat.reports.add_foreign(FOREIGN)
    reply = chat.press(payload + FOREIGN)
    assert f"Không tìm thấy phản ánh mã {FOREIGN}" in reply
    assert FOREIGN not in chat.reports.ratings and FOREIGN not in chat.reports.reopened
    assert chat.reports.statuses[FOREIGN] == "Hoàn thành"


def test_an_unanswered_report_cannot_be_rated(chat: Chat) -> None:
    code = _answered_report(chat)
    chat.reports.statuses[code] = "Đang xử lý"
    assert "chưa có kết quả để đánh giá" in chat.press(t.P_RATE_GOOD + code)
    assert code not in chat.reports.ratings
