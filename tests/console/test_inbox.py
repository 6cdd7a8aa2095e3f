"""The console inbox: filters, search, sorting, paging, unit scope, urgent and overdue reports."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from backend.db import make_session_factory, unit_of_work
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.settings import Settings
from tests.conftest import make_settings
from tests.console.conftest import LoginAs

# Fields create_report takes; anything else (status, unit_id, due_at...) is set afterwards.
_CREATE_FIELDS = set(ReportCreate.model_fields)
LONG_CHAU, PHUOC_HAU = "Phường Long Châu", "Phường Phước Hậu"


def add_report(
    engine: Engine, settings: Settings, *, ago: timedelta = timedelta(hours=1), **fields: Any
) -> str:
    """Create a report through the service `ago` before now, then set workflow fields directly."""
    create = {k: v for k, v in fields.items() if k in _CREATE_FIELDS}
    create.setdefault("content", "Đèn đường trước chợ bị hư")
    create.setdefault("channel", "zalo")
    with unit_of_work(make_session_factory(engine)) as session:
        report = create_report(
            session,
            data=ReportCreate(**create),
            settings=settings,
            now=datetime.now(UTC) - ago,
        )
        for key, value in fields.items():
            if key not in _CREATE_FIELDS:
                setattr(report, key, value)
        return report.code


def row_codes(html: str) -> list[str]:
    """Codes of the inbox rows, in display order."""
    return re.findall(r'<tr class="[^"]*"\s+data-code="(\d+)"', html)


def row_class(html: str, code: str) -> str:
    match = re.search(rf'<tr class="([^"]*)"\s+data-code="{code}"', html)
    assert match, f"row {code} missing"
    return match.group(1)


def assert_codes(html: str, expected: Iterable[str]) -> None:
    assert sorted(row_codes(html)) == sorted(expected)


def test_console_root_redirects_to_the_inbox_and_requires_login(
    login_as: LoginAs, console_client: Any
) -> None:
    anonymous = console_client.get(
        "/console/reports", headers={"accept": "text/html"}, follow_redirects=False
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/console/login?next=")
    intake = login_as("intake")
    root = intake.get("/console", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (303, "/console/reports")


def test_each_filter_narrows_the_list(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    s = console_settings
    water = add_report(engine, s, category="cap_thoat_nuoc", channel="web", ago=timedelta(days=3))
    road = add_report(engine, s, category="giao_thong", commune_name=LONG_CHAU)
    urgent = add_report(engine, s, category="thien_tai", urgent=True, channel="voice")
    assigned = add_report(
        engine, s, category="dien_chieu_sang", commune_name=PHUOC_HAU, status="assigned"
    )
    late = add_report(
        engine, s, category="moi_truong", due_at=datetime.now(UTC) - timedelta(hours=2)
    )
    intake = login_as("intake")
    every = [water, road, urgent, assigned, late]
    assert_codes(intake.get("/console/reports").text, every)
    cases = {
        "status=assigned": [assigned],
        "category=giao_thong": [road],
        "urgent=true": [urgent],
        "urgent=false": [water, road, assigned, late],
        f"commune={PHUOC_HAU}": [assigned],
        "unit=dien_luc": [assigned],
        "channel=voice": [urgent],
        "overdue=true": [late],
    }
    for query, expected in cases.items():
        assert_codes(intake.get(f"/console/reports?{query}").text, expected)
    # Dates are local calendar days (Asia/Ho_Chi_Minh), whatever the hour in UTC.
    tz = ZoneInfo(s.timezone)
    water_day = (datetime.now(UTC) - timedelta(days=3)).astimezone(tz).date()
    road_day = (datetime.now(UTC) - timedelta(hours=1)).astimezone(tz).date()
    only_old = intake.get(f"/console/reports?date_to={water_day}").text
    assert water in row_codes(only_old) and road not in row_codes(only_old)
    recent = intake.get(f"/console/reports?date_from={road_day - timedelta(days=1)}").text
    assert water not in row_codes(recent) and road in row_codes(recent)


def test_search_by_code_title_content_name_and_phone(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    s = console_settings
    pothole = add_report(engine, s, content="Ổ gà rất sâu trên đường Phạm Thái Bường")
    flood = add_report(
        engine,
        s,
        content="Ngập nước sau mưa ở hẻm 12",
        reporter_name="Nguyễn Thị Hoa",
        reporter_phone="+84912345678",
    )
    intake = login_as("intake")
    for q, expected in {
        pothole: [pothole],
        "gà rất sâu": [pothole],
        "hẻm 12": [flood],
        "thị hoa": [flood],
        "0912 345 678": [flood],
        "không có gì khớp": [],
    }.items():
        assert_codes(intake.get("/console/reports", params={"q": q}).text, expected)


def test_sort_orders(login_as: LoginAs, engine: Engine, console_settings: Settings) -> None:
    s = console_settings
    now = datetime.now(UTC)
    old = add_report(engine, s, ago=timedelta(days=2), due_at=now + timedelta(days=1))
    mid = add_report(engine, s, ago=timedelta(days=1), due_at=now + timedelta(days=5))
    new = add_report(engine, s, ago=timedelta(hours=1), due_at=now + timedelta(hours=3))
    urgent_old = add_report(engine, s, ago=timedelta(days=3), urgent=True)
    closed_urgent = add_report(engine, s, ago=timedelta(minutes=5), urgent=True, status="completed")
    intake = login_as("intake")

    def order(sort: str) -> list[str]:
        return row_codes(intake.get("/console/reports", params={"sort": sort}).text)

    assert order("newest") == [closed_urgent, new, mid, old, urgent_old]
    assert order("oldest") == [urgent_old, old, mid, new, closed_urgent]
    # Urgent reports are due in 24 hours: the closed one just before `old`, one day out.
    assert order("due") == [urgent_old, new, closed_urgent, old, mid]
    # Default: open urgent reports first, closed ones last, newest first inside each group.
    assert order("urgent") == [urgent_old, new, mid, old, closed_urgent]


@pytest.fixture
def console_settings(database_url: str) -> Settings:
    """Pages of five reports, so paging is visible with a handful of rows."""
    return make_settings(database_url=database_url, console={"page_size": 5})


def test_paging_keeps_the_filters(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    codes = [
        add_report(engine, console_settings, category="giao_thong", ago=timedelta(minutes=i + 1))
        for i in range(7)
    ]
    other = add_report(engine, console_settings, category="y_te")
    intake = login_as("intake")
    first = intake.get("/console/reports?category=giao_thong&sort=oldest").text
    second = intake.get("/console/reports?category=giao_thong&sort=oldest&page=2").text
    assert row_codes(first) == list(reversed(codes))[:5]
    assert row_codes(second) == list(reversed(codes))[5:]
    assert other not in row_codes(first) + row_codes(second)
    assert 'href="?category=giao_thong&amp;sort=oldest&amp;page=2"' in first
    assert "<strong>7</strong> phản ánh" in first
    beyond = intake.get("/console/reports?category=giao_thong&page=99").text
    assert len(row_codes(beyond)) == 2  # the last page, not an empty one


def test_invalid_filters_are_ignored_with_a_message(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    road = add_report(engine, console_settings, category="giao_thong")
    add_report(engine, console_settings, category="y_te")
    intake = login_as("intake")
    page = intake.get(
        "/console/reports?category=giao_thong&status=bogus&date_from=31-12-2026&page=x&sort=zzz"
    )
    assert page.status_code == 200
    assert row_codes(page.text) == [road]  # the valid filter still applies
    assert "Đã bỏ qua bộ lọc không hợp lệ" in page.text
    for label in ("trạng thái", "từ ngày", "trang", "sắp xếp"):
        assert label in page.text.split("Đã bỏ qua bộ lọc không hợp lệ")[1].split("</p>")[0]


def test_specialist_sees_only_its_unit(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    s = console_settings
    mine = add_report(
        engine, s, content="Rác thải ở chợ Long Châu", unit_id="ubnd_long_chau", status="assigned"
    )
    theirs = add_report(
        engine,
        s,
        content="Rác thải ở chợ Phước Hậu",
        reporter_phone="+84987654321",
        unit_id="ubnd_phuoc_hau",
        status="assigned",
    )
    specialist = login_as("specialist", unit_id="ubnd_long_chau")
    assert_codes(specialist.get("/console/reports").text, [mine])
    for q in (theirs, "Phước Hậu", "0987654321", "rác thải"):
        found = row_codes(specialist.get("/console/reports", params={"q": q}).text)
        assert theirs not in found
    assert specialist.get(f"/console/reports/{theirs}").status_code == 404
    assert specialist.get(f"/console/reports/{mine}").status_code == 200
    assert_codes(login_as("intake").get("/console/reports").text, [mine, theirs])


def test_urgent_reports_are_on_top_and_announced(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    s = console_settings
    calm = add_report(engine, s, ago=timedelta(minutes=1))
    fire = add_report(engine, s, content="Cháy nhà ở ấp 3", urgent=True, ago=timedelta(hours=5))
    flood = add_report(engine, s, content="Sạt lở bờ sông", urgent=True, ago=timedelta(hours=9))
    add_report(engine, s, urgent=True, status="completed")  # closed: not announced
    html = login_as("intake").get("/console/reports").text
    assert "Có 2 phản ánh khẩn cấp đang mở" in html
    assert row_codes(html)[:3] == [fire, flood, calm]
    assert "urgent" in row_class(html, fire).split()
    assert "urgent" not in row_class(html, calm).split()
    fire_row = html.split(f'data-code="{fire}"')[1].split("</tr>")[0]
    assert 'class="badge urgent"' in fire_row


def test_no_urgent_banner_when_none_is_open(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    add_report(engine, console_settings)
    assert "phản ánh khẩn cấp đang mở" not in login_as("intake").get("/console/reports").text


def test_overdue_and_soon_due_rows_are_highlighted_and_counted(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    s = console_settings
    now = datetime.now(UTC)
    late = add_report(engine, s, due_at=now - timedelta(hours=3))
    soon = add_report(engine, s, due_at=now + timedelta(hours=5))
    later = add_report(engine, s, due_at=now + timedelta(days=4))
    done_late = add_report(engine, s, due_at=now - timedelta(days=1), status="completed")
    html = login_as("intake").get("/console/reports").text
    assert "overdue" in row_class(html, late).split()
    assert "soon-due" in row_class(html, soon).split()
    for calm in (later, done_late):
        assert not {"overdue", "soon-due"} & set(row_class(html, calm).split())
    assert 'data-overdue="1"' in html and 'data-soon-due="1"' in html
    late_row = html.split(f'data-code="{late}"')[1].split("</tr>")[0]
    assert "Quá hạn" in late_row


def test_export_and_stats_links_carry_the_filters(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    add_report(engine, console_settings)
    html = login_as("intake").get("/console/reports?category=giao_thong&urgent=true&page=2").text
    for path in ("/console/reports.csv", "/console/reports.xlsx", "/console/stats"):
        assert f'href="{path}?category=giao_thong&amp;urgent=true"' in html
