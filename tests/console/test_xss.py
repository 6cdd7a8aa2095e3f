"""Hostile text stays inert in the console, answers lose their scripts, CSRF-less posts fail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from backend.citizens.models import Citizen
from backend.conversations.models import Conversation, ConversationEvent
from backend.db import make_session_factory, unit_of_work
from backend.reports.models import Report
from backend.settings import Settings
from tests.console.conftest import LoginAs
from tests.console.test_inbox import add_report

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ESCAPED = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;")
PAYLOAD = f"{SCRIPT} {IMG}"


def _hostile_report(engine: Engine, settings: Settings) -> str:
    code = add_report(
        engine,
        settings,
        content=f"Nội dung {PAYLOAD}",
        title=f"Tiêu đề {PAYLOAD}",
        reporter_name=f"Tên {PAYLOAD}",
        reporter_phone="+84912345678",
        location_raw=f"Nơi {PAYLOAD}",
        commune_name=f"Xã {PAYLOAD}",
        location_detail=f"Chi tiết {PAYLOAD}",
        urgent=True,
        urgent_reasons=[f"Lý do {PAYLOAD}"],
        lat=10.25,
        lon=105.97,
        category="dien_chieu_sang",
    )
    now = datetime.now(UTC)
    with unit_of_work(make_session_factory(engine)) as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        citizen = Citizen(name=f"Tên {PAYLOAD}", created_at=now, updated_at=now)
        session.add(citizen)
        session.flush()
        conversation = Conversation(
            channel="web", external_user_id="x", citizen_id=citizen.id, state={}
        )
        session.add(conversation)
        session.flush()
        report.conversation_id = conversation.id
        session.add(
            ConversationEvent(
                conversation_id=conversation.id,
                direction="in",
                kind="text",
                text=f"Tin nhắn {PAYLOAD}",
                created_at=now,
            )
        )
    return code


def _assert_inert(html: str, *, expected_escaped: int) -> None:
    assert SCRIPT not in html and IMG not in html
    assert "onerror=alert(1)>" not in html
    for escaped in ESCAPED:
        assert html.count(escaped) >= expected_escaped, escaped


def test_hostile_text_is_inert_on_the_inbox(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    _hostile_report(engine, console_settings)
    html = login_as("intake").get("/console/reports").text
    _assert_inert(html, expected_escaped=2)  # the title and the commune column
    filtered = login_as("intake").get("/console/reports", params={"q": PAYLOAD}).text
    assert SCRIPT not in filtered and IMG not in filtered


@pytest.mark.parametrize("revealed", [False, True])
def test_hostile_text_is_inert_on_the_report_page(
    login_as: LoginAs, engine: Engine, console_settings: Settings, revealed: bool
) -> None:
    code = _hostile_report(engine, console_settings)
    intake = login_as("intake")
    if revealed:
        response = intake.post(f"/console/reports/{code}/reveal", data={"csrf_token": intake.csrf})
    else:
        response = intake.get(f"/console/reports/{code}")
    assert response.status_code == 200
    html = response.text
    # title (twice: <title> and <h1>), content, name, place, commune, detail, reason, transcript
    _assert_inert(html, expected_escaped=8)
    for field in ("Nội dung", "Tên", "Nơi", "Chi tiết", "Lý do", "Tin nhắn"):
        assert f"{field} {ESCAPED[0]}" in html, field


def test_an_answer_with_a_script_is_stored_without_it(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings, unit_id="dien_luc", status="in_progress")
    specialist = login_as("specialist", unit_id="dien_luc")
    answer = f'<p onclick="alert(1)">Đã xử lý <a href="javascript:alert(1)">xong</a></p>{PAYLOAD}'
    saved = specialist.post(
        f"/console/reports/{code}/actions/save_draft",
        data={"csrf_token": specialist.csrf, "answer": answer},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with make_session_factory(engine)() as session:
        draft = session.scalar(select(Report.answer_draft).where(Report.code == code))
    assert draft is not None and "Đã xử lý" in draft
    for dangerous in ("<script", "onerror", "onclick", "javascript:"):
        assert dangerous not in draft
    page = specialist.get(f"/console/reports/{code}").text
    assert SCRIPT not in page and IMG not in page and "onclick" not in page


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    code = add_report(engine, console_settings, category="dien_chieu_sang")
    intake = login_as("intake")
    other = login_as("intake")
    attempts = [
        {"category": "giao_thong"},
        {"category": "giao_thong", "csrf_token": ""},
        {"category": "giao_thong", "csrf_token": other.csrf},  # another session's token
    ]
    for data in attempts:
        response = intake.post(
            f"/console/reports/{code}/actions/classify", data=data, follow_redirects=False
        )
        assert response.status_code == 403
    with make_session_factory(engine)() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        assert (report.status, report.category, len(report.events)) == (
            "received",
            "dien_chieu_sang",
            1,
        )
    accepted = intake.post(
        f"/console/reports/{code}/actions/classify",
        data={"category": "giao_thong", "csrf_token": intake.csrf},
        follow_redirects=False,
    )
    assert accepted.status_code == 303  # the same post with the token goes through
