"""The web chat's side of the workflow, on SQLite and PostgreSQL: what staff send reaches the
page through /chat/updates, and the citizen rates or reopens the answer in chat."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.conversations.models import Conversation
from backend.notifications.dispatcher import dispatch_once
from backend.notifications.models import OutboxMessage
from backend.notifications.service import enqueue
from backend.reports import service as reports
from backend.reports.deadlines import due_at
from backend.reports.models import Report
from backend.reports.schemas import ReportCreate
from bot import templates as t
from bot.messages import Button, Reply
from channels.base import ChannelAdapter, Outgoing
from tests.backend.conftest import Say
from tests.conftest import make_settings

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ANSWER = "Kết quả xử lý phản ánh: đã thay bóng đèn."


def _queue(
    session: Session, text: str, *, recipient: str = "citizen-1", channel: str = "web"
) -> OutboxMessage:
    buttons = (Button(title="Rất hài lòng", payload="/rate_very_good:202611230001"),)
    return enqueue(
        session,
        key=f"test:{channel}:{recipient}:{text}",
        channel=channel,
        recipient=recipient,
        kind="report_update",
        payload=Reply(text=text, buttons=buttons).model_dump(mode="json"),
        now=NOW,
    )


def _updates(client: TestClient, sender: str = "citizen-1", after: int = 0) -> list[dict[str, Any]]:
    response = client.get("/chat/updates", params={"sender": sender, "after": after})
    assert response.status_code == 200, response.text
    updates: list[dict[str, Any]] = response.json()
    return updates


def test_staff_messages_reach_their_web_chat_only(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        first = _queue(session, "Phản ánh đã được chuyển xử lý.").id
        second = _queue(session, ANSWER).id
        _queue(session, "Tin cho người khác.", recipient="citizen-2")
        _queue(session, "Tin Telegram.", channel="telegram")

    updates = _updates(client)
    assert [u["id"] for u in updates] == [first, second]
    assert updates[1] == {
        "id": second,
        "recipient_id": "citizen-1",
        "text": ANSWER,
        "buttons": [{"title": "Rất hài lòng", "payload": "/rate_very_good:202611230001"}],
    }
    with sessions() as session:
        rows = {r.id: r for r in session.scalars(select(OutboxMessage))}
        assert rows[first].status == rows[second].status == "sent"
        assert rows[first].sent_at is not None
        assert {r.status for i, r in rows.items() if i not in (first, second)} == {"pending"}

    # Reads are idempotent; the page moves `after` on to what it has shown.
    assert [u["id"] for u in _updates(client)] == [first, second]
    assert [u["id"] for u in _updates(client, after=first)] == [second]
    assert _updates(client, after=second) == []
    assert [u["text"] for u in _updates(client, sender="citizen-2")] == ["Tin cho người khác."]
    assert _updates(client, sender="citizen-3") == []


def test_a_message_committed_late_is_not_skipped(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        late = _queue(session, "Chậm").id
        shown_row = _queue(session, "Đã xem")
        # `shown` committed first and the page fetched it while `late` was not visible yet.
        shown_row.status, shown_row.sent_at, shown = "sent", NOW, shown_row.id
    assert [u["id"] for u in _updates(client, after=shown)] == [late]
    assert _updates(client, after=shown) == []  # delivered now: not again


def test_updates_come_fifty_at_a_time_oldest_first(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        ids = [_queue(session, f"Tin {n}").id for n in range(55)]
    page = _updates(client)
    assert [u["id"] for u in page] == ids[:50]
    assert [u["id"] for u in _updates(client, after=page[-1]["id"])] == ids[50:]


def test_a_bad_sender_or_cursor_is_refused(client: TestClient) -> None:
    assert client.get("/chat/updates", params={"sender": "bad sender!"}).status_code == 422
    assert client.get("/chat/updates").status_code == 422
    assert client.get("/chat/updates", params={"sender": "u1", "after": -1}).status_code == 422


class _Recorder:
    """A provider that accepts everything and remembers it."""

    name = "fake"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def render(self, replies: Sequence[Reply], recipient: str) -> list[Outgoing]:
        return [Outgoing(recipient=recipient, payload={"text": r.text}) for r in replies]

    async def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return str(len(self.sent))


def test_the_dispatcher_leaves_web_messages_for_the_page(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        web_id = _queue(session, "Cho trang web").id
        _queue(session, "Cho Telegram", channel="fake", recipient="42")
    fake = _Recorder()
    sent = asyncio.run(
        dispatch_once(
            sessions,
            {"fake": cast(ChannelAdapter, fake)},  # render and send are all it uses
            clock=lambda: NOW + timedelta(seconds=1),
            limit=1,
        )
    )
    assert sent == 1 and [m.payload["text"] for m in fake.sent] == ["Cho Telegram"]
    with sessions() as session:
        web_row = session.get(OutboxMessage, web_id)
        assert web_row is not None
        assert (web_row.status, web_row.attempts, web_row.last_error) == ("pending", 0, None)


# --- rating and reopening through the REST webhook -----------------------------------


def _answered_report(sessions: sessionmaker[Session], sender: str) -> str:
    """A completed report of the citizen chatting as `sender` (staff approved its answer)."""
    settings = make_settings()
    with sessions.begin() as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.external_user_id == sender)
        ).one()
        data = ReportCreate(
            content="Đèn đường hẻm 12 Nguyễn Trãi bị tắt cả tuần nay",
            category="giao_thong",
            channel="web",
            citizen_id=conversation.citizen_id,
            conversation_id=conversation.id,
        )
        report = reports.create_report(session, data=data, settings=settings, now=NOW)
        report.status, report.answer, report.completed_at = "completed", ANSWER, NOW
        return report.code


def _report(sessions: sessionmaker[Session], code: str) -> Report:
    with sessions() as session:
        report = session.scalars(select(Report).where(Report.code == code)).one()
        _ = report.events  # loaded before the session closes
        return report


def _texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


def test_the_citizen_rates_comments_and_reopens_in_chat(
    say: Say, sessions: sessionmaker[Session]
) -> None:
    say("xin chào", "citizen-1")
    code = _answered_report(sessions, "citizen-1")

    replies = say(t.P_RATE_BAD + code, "citizen-1")
    assert "điều gì vẫn chưa được giải quyết" in _texts(replies)
    assert [b["title"] for b in replies[-1]["buttons"]] == ["Mở lại phản ánh", "Không, cảm ơn"]
    report = _report(sessions, code)
    assert (report.rating, report.rating_comment, report.status) == (1, None, "completed")
    assert report.rated_at is not None

    say("Đèn sáng hai hôm rồi lại tắt", "citizen-1")
    assert _report(sessions, code).rating_comment == "Đèn sáng hai hôm rồi lại tắt"

    replies = say(f"/reopen:{code}", "citizen-1")
    report = _report(sessions, code)
    assert (report.status, report.reopened_count, report.completed_at) == ("assigned", 1, None)
    event = report.events[-1]
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        "reopen",
        "citizen:web",
        "completed",
        "assigned",
    )
    assert event.comment == "Đèn sáng hai hôm rồi lại tắt"
    settings = make_settings()
    tz = ZoneInfo(settings.timezone)
    expected = due_at(event.created_at, days=10, holidays=set(settings.holidays), tz=tz)
    assert report.due_at == expected
    assert f"Hạn trả lời mới: {expected:%d/%m/%Y}" in _texts(replies)
    # Back with its unit: no second reopening, no rating until it is answered again.
    assert "đang được xử lý" in _texts(say(f"/reopen:{code}", "citizen-1"))
    assert _report(sessions, code).reopened_count == 1


def test_a_good_rating_is_stored(say: Say, sessions: sessionmaker[Session]) -> None:
    say("xin chào", "citizen-1")
    code = _answered_report(sessions, "citizen-1")
    assert "«Hài lòng»" in _texts(say(t.P_RATE_GOOD + code, "citizen-1"))
    report = _report(sessions, code)
    assert (report.rating, report.status) == (2, "completed")
    assert report.events[-1].kind == "rate"


def test_nobody_rates_or_reopens_someone_elses_report(
    say: Say, sessions: sessionmaker[Session]
) -> None:
    say("xin chào", "citizen-1")
    say("xin chào", "citizen-2")
    code = _answered_report(sessions, "citizen-1")
    for payload in (t.P_RATE_BAD + code, f"/reopen:{code}"):
        assert f"Không tìm thấy phản ánh mã {code}" in _texts(say(payload, "citizen-2"))
    report = _report(sessions, code)
    assert (report.rating, report.status, report.reopened_count) == (None, "completed", 0)
