"""A report's whole life in real browsers, on SQLite and PostgreSQL.

A citizen reports through the web chat; the intake operator confirms the category
and routes it; the unit's specialist drafts an answer; the leader returns it once,
then approves; the citizen's open chat receives the answer and rates it. Each
person has their own browser context (their own cookies). Screenshots of the main
pages are saved under `test-artifacts/screenshots/` (kept by CI as artifacts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from backend.app import create_app
from backend.db import make_session_factory, unit_of_work, utcnow
from backend.reports.models import Report
from backend.staff.service import create_user
from nlu import Nlu
from tests.browser.live import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    live_server,
    needs_chromium,
    report_in_chat,
)
from tests.conftest import make_settings

pytestmark = needs_chromium
PASSWORD = "mat-khau-thu-nghiem"
STAFF = (
    ("tiepnhan", "Trần Thị Thu", "intake", "van_phong_ubnd"),
    ("chuyenvien", "Nguyễn Văn Minh", "specialist", "dien_luc"),
    ("lanhdao", "Phạm Quốc Hùng", "leader", "dien_luc"),
)


@pytest.fixture
def server(engine: Engine, database_url: str, nlu: Nlu) -> Iterator[str]:
    settings = make_settings(database_url=database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        for username, name, role, unit in STAFF:
            create_user(
                session,
                username=username,
                full_name=name,
                password=PASSWORD,
                role=role,
                unit_id=unit,
                settings=settings,
                now=utcnow(),
            )
    with live_server(create_app(settings, nlu=nlu)) as base:
        yield base


def test_report_lifecycle_from_chat_to_rating(
    server: str, engine: Engine, database_url: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM, "chromium is required under CI"
    shots = ARTIFACTS / ("postgres" if database_url.startswith("postgresql") else "sqlite")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        chat = browser.new_page(viewport={"width": 390, "height": 800})
        code = report_in_chat(
            chat,
            server,
            content="Đèn đường hẻm 12 Nguyễn Trãi phường Phước Hậu bị tắt cả tuần nay, rất tối",
            place="hẻm 12 Nguyễn Trãi, phường Phước Hậu",
        )
        chat.screenshot(path=str(shots / "01-chat-report.png"))

        intake = _staff_page(browser, server, "tiepnhan", viewport=(1366, 900))
        intake.goto(f"{server}/console/reports")
        expect(intake.get_by_role("link", name=code)).to_be_visible()
        intake.screenshot(path=str(shots / "02-inbox.png"), full_page=True)
        intake.get_by_role("link", name=code).click()
        intake.get_by_role("button", name="Xác nhận phân loại").click()
        expect(intake.locator("main")).to_contain_text("Đã phân loại, xác minh")
        intake.get_by_role("button", name="Chuyển xử lý").click()
        expect(intake.locator("main")).to_contain_text("Đã chuyển xử lý")
        intake.screenshot(path=str(shots / "03-report-assigned.png"), full_page=True)

        specialist = _staff_page(browser, server, "chuyenvien", viewport=(1024, 768))
        specialist.goto(f"{server}/console/reports/{code}")
        specialist.get_by_role("button", name="Nhận xử lý").click()
        expect(specialist.locator("main")).to_contain_text("Đang xử lý")
        _submit_answer(specialist, "Điện lực đã kiểm tra tuyến đèn hẻm 12.")

        leader = _staff_page(browser, server, "lanhdao", viewport=(1024, 768))
        leader.goto(f"{server}/console/reports/{code}")
        leader.get_by_text("Trả bước trước", exact=True).first.click()
        leader.locator("#c-return").fill("Bổ sung thời gian hoàn thành sửa chữa.")
        leader.get_by_role("button", name="Trả bước trước").click()
        expect(leader.locator("main")).to_contain_text("Bổ sung thời gian hoàn thành sửa chữa.")

        specialist.reload()
        answer = "Điện lực đã thay bóng đèn hẻm 12 Nguyễn Trãi ngày 24/11/2026. Đèn đã sáng lại."
        _submit_answer(specialist, answer)
        leader.reload()
        leader.get_by_role("button", name="Phê duyệt và gửi trả lời").click()
        expect(leader.locator("main")).to_contain_text("Hoàn thành")
        leader.screenshot(path=str(shots / "04-report-completed.png"), full_page=True)
        leader.goto(f"{server}/console/stats")
        leader.screenshot(path=str(shots / "05-stats.png"), full_page=True)

        # The citizen's chat, still open, receives the answer with the rating buttons.
        expect(chat.locator(".bot").last).to_contain_text("Đèn đã sáng lại", timeout=20_000)
        chat.screenshot(path=str(shots / "06-chat-answer.png"))
        chat.locator(".buttons").last.get_by_role("button", name="Rất hài lòng").click()
        expect(chat.locator(".bot").last).to_contain_text("Cảm ơn")
        browser.close()

    report = _report(engine, code)
    assert report["status"] == "completed"
    assert report["rating"] == 3
    assert report["answer"] and "Đèn đã sáng lại" in report["answer"]
    assert report["unit_id"] == "dien_luc"


def _staff_page(browser: Any, server: str, username: str, viewport: tuple[int, int]) -> Any:
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.goto(f"{server}/console/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/console/reports"))
    return page


def _submit_answer(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    page.locator("#answer-text").fill(text)
    page.get_by_role("button", name="Trình phê duyệt").click()
    expect(page.locator("main")).to_contain_text("Chờ phê duyệt")


def _report(engine: Engine, code: str) -> dict[str, Any]:
    with make_session_factory(engine)() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        return {
            "status": report.status,
            "rating": report.rating,
            "answer": report.answer,
            "unit_id": report.unit_id,
        }
