"""Report records: codes, titles that never carry a phone number, routing and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from backend.db import make_session_factory, unit_of_work
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report, get_by_code, make_title
from backend.settings import Settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 in Vietnam


def test_title_is_first_sentence_without_phone_numbers() -> None:
    title = make_title("Đèn đường hư, gọi tôi 0912 345 678. Đã hư từ tuần trước.")
    assert title.startswith("Đèn đường hư, gọi tôi")
    assert "0912" not in title and "Đã hư" not in title


def test_report_gets_code_unit_and_working_day_deadline(engine: Engine, settings: Settings) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        data = ReportCreate(
            content="Ống nước vỡ trước nhà số 3", category="cap_thoat_nuoc", channel="web"
        )
        report = create_report(session, data=data, settings=settings, now=NOW)
        code = report.code
    with make_session_factory(engine)() as session:
        stored = get_by_code(session, code=code)
        assert stored is not None
        assert code == "202611230001"
        assert stored.unit_id == "cap_thoat_nuoc"
        assert stored.anonymous is True and stored.public_consent is False
        # 5 working days from Monday 23/11 → Monday 30/11, 17:00 local = 10:00 UTC.
        assert stored.due_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
        assert get_by_code(session, code="'; DROP TABLE reports; --") is None


def test_urgent_report_is_due_in_hours(engine: Engine, settings: Settings) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        data = ReportCreate(
            content="Cháy nhà ở ấp 3", category="thien_tai", urgent=True, channel="web"
        )
        report = create_report(session, data=data, settings=settings, now=NOW)
        assert (report.due_at - NOW).total_seconds() == settings.urgent_deadline_hours * 3600
