"""A citizen's report through the Rasa REST webhook, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.conversations.models import Conversation, ConversationEvent
from backend.notifications.models import OutboxMessage
from backend.reports.models import Report
from tests.backend.conftest import Say

CODE = re.compile(r"Mã phản ánh: (\d{12})")


def _texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies)


PROMPTS = (
    ("Sự việc xảy ra ở đâu", "hẻm 12 Nguyễn Trãi, phường 3, thành phố Vĩnh Long"),
    ("ảnh hoặc video", "/media:done"),
    ("công khai", "/public:yes"),
    ("họ tên và số điện thoại", "Nguyễn Văn An 0912 345 678"),
    ("thuộc lĩnh vực nào", "1"),
)


def _answer_until_summary(say: Say, replies: list[dict], sender: str, ids: list[str]) -> None:
    """Answer each question the bot asks, as a citizen would, until it shows the summary."""
    for _ in range(8):
        asked = replies[-1]["text"]
        if "Vui lòng kiểm tra lại phản ánh" in asked:
            return
        answer = next(a for prompt, a in PROMPTS if prompt in asked)
        extra = {"message_id": f"m{len(ids)}"} if ids else {}
        ids.append(str(extra.get("message_id")))
        replies = say(answer, sender, **extra)
    raise AssertionError(f"no summary: {replies}")


def _report_flow(say: Say, sender: str = "citizen-1", ids: list[str] | None = None) -> str:
    ids = ids if ids is not None else []
    extra = {"message_id": "m0"} if ids else {}
    replies = say(
        "Đèn đường hẻm 12 Nguyễn Trãi phường 3 bị tắt cả tuần nay, tối rất nguy hiểm",
        sender,
        **extra,
    )
    _answer_until_summary(say, replies, sender, ids)
    replies = say("/confirm", sender, **({"message_id": "confirm"} if ids else {}))
    match = CODE.search(_texts(replies))
    assert match, replies
    return match.group(1)


def test_chat_creates_a_report_with_code_and_deadline(
    say: Say, sessions: sessionmaker[Session]
) -> None:
    say("xin chào")
    code = _report_flow(say)
    with sessions() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        assert report.content.startswith("Đèn đường hẻm 12 Nguyễn Trãi")
        assert report.reporter_phone == "+84912345678"
        assert report.reporter_name == "Nguyễn Văn An"
        assert report.public_consent is True
        assert report.status == "received"
        assert report.channel == "web"
        assert report.due_at > report.created_at
        assert report.events[0].kind == "created"
        # Web replies travel in the HTTP response: nothing waits in the outbox.
        assert session.scalars(select(OutboxMessage)).all() == []
    replies = say(f"tra cứu {code}")
    assert "Mới tiếp nhận" in _texts(replies)


def test_redelivered_message_has_no_second_effect(
    say: Say, sessions: sessionmaker[Session]
) -> None:
    ids = ["m0"]
    _report_flow(say, ids=ids)
    again = say("/confirm", message_id="confirm")
    assert "Mã phản ánh" in _texts(again)  # the same answer as the first delivery
    say(ids[1] and "/media:done", message_id="m1")  # an older message redelivered late
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 1
        conversation = session.scalars(select(Conversation)).one()
        inbound = session.scalar(
            select(func.count())
            .select_from(ConversationEvent)
            .where(ConversationEvent.direction == "in")
        )
        handled = len(ids) + 1  # every question answered once, plus the confirmation
        assert inbound == handled
        assert conversation.version == handled


def test_unknown_report_code_gets_a_clear_reply(say: Say) -> None:
    assert "Không tìm thấy phản ánh mã 202611239999" in _texts(say("tra cứu 202611239999"))


def test_bad_input_is_refused_with_a_reason(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    url = "/webhooks/rest/webhook"
    bad_json = client.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert bad_json.status_code == 422
    assert client.post(url, json={"message": "chào"}).status_code == 422
    assert client.post(url, json={"sender": "bad sender!", "message": "x"}).status_code == 422
    bad_location = client.post(url, json={"sender": "u1", "message": '/share_location{"lat": 500}'})
    assert bad_location.status_code == 422
    assert "lat" in bad_location.json()["detail"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_long_empty_and_emoji_messages_get_polite_replies(
    say: Say, sessions: sessionmaker[Session]
) -> None:
    say("Cống thoát nước trước nhà số 8 đường Phạm Thái Bường bị nghẹt, nước tràn lên đường")
    with sessions() as session:
        before = session.scalars(select(Conversation)).one().state
    assert "quá dài" in _texts(say("a" * 10_000))
    assert "trống" in _texts(say("   "))
    emoji = _texts(say("😀😀😀"))
    assert emoji  # a reply, not a crash
    with sessions() as session:
        after = session.scalars(select(Conversation)).one().state
        assert after["draft"]["content"] == before["draft"]["content"]
        assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_health_reports_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_chat_page_is_served_in_vietnamese(client: TestClient) -> None:
    page = client.get("/chat")
    assert page.status_code == 200
    assert 'lang="vi"' in page.text and "Phản ánh hiện trường" in page.text
