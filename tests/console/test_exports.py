"""Exports of the report list and the statistics: CSV and XLSX that open in a spreadsheet
program, with Vietnamese headers, masked phones, no formula injection, and the inbox's
filters and unit scope."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from backend.console import exports
from backend.db import make_session_factory, unit_of_work
from backend.reports.models import Report
from tests.console.conftest import LoginAs

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HEADER = [
    "Mã",
    "Tiêu đề",
    "Lĩnh vực",
    "Xã/phường",
    "Đơn vị xử lý",
    "Kênh",
    "Trạng thái",
    "Khẩn cấp",
    "Ngày tiếp nhận",
    "Hạn xử lý",
    "Ngày hoàn thành",
    "Quá hạn",
    "Đánh giá",
    "Điện thoại người phản ánh",
]
PHONE = "+84912345678"
CREATED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def _seed(engine: Engine) -> None:
    rows = [
        # code, unit, category, title, commune, status, urgent, rating
        ("202611020001", "ubnd_long_chau", "trat_tu_do_thi", "=HYPERLINK(\"http://x\",\"Bấm\")",
         "@SUM(A1)", "completed", True, 3),
        ("202611020002", "ubnd_long_chau", "moi_truong", "Rác thải, gọi 0912345678",
         "Phường Long Châu", "in_progress", False, None),
        ("202611020003", "so_xay_dung", "giao_thong", "Ổ gà đường Phạm Thái Bường",
         "Phường Phước Hậu", "received", False, None),
    ]  # fmt: skip
    with unit_of_work(make_session_factory(engine)) as session:
        for code, unit, category, title, commune, status, urgent, rating in rows:
            session.add(
                Report(
                    code=code,
                    title=title,
                    content="Nội dung",
                    category=category,
                    status=status,
                    urgent=urgent,
                    unit_id=unit,
                    channel="zalo",
                    commune_name=commune,
                    reporter_name="Nguyễn Văn An",
                    reporter_phone=PHONE,
                    due_at=CREATED - timedelta(hours=1),  # past: the open ones are overdue
                    created_at=CREATED,
                    updated_at=CREATED,
                    completed_at=CREATED + timedelta(hours=5) if status == "completed" else None,
                    rating=rating,
                )
            )


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _today() -> str:
    return str(datetime.now(TZ).date())


def test_report_csv_has_bom_vietnamese_headers_and_no_raw_phone(
    login_as: LoginAs, engine: Engine
) -> None:
    _seed(engine)
    response = login_as("intake").get("/console/reports.csv", params={"sort": "oldest"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="phan-anh-{_today()}.csv"'
    rows = _csv_rows(response.content)
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == ["202611020001", "202611020002", "202611020003"]
    first, second = dict(zip(HEADER, rows[1], strict=True)), dict(zip(HEADER, rows[2], strict=True))
    assert first["Tiêu đề"] == '\'=HYPERLINK("http://x","Bấm")'  # formula neutralised
    assert first["Xã/phường"] == "'@SUM(A1)"
    assert first["Lĩnh vực"] == "Trật tự đô thị" and first["Trạng thái"] == "Hoàn thành"
    assert first["Khẩn cấp"] == "Có" and first["Đánh giá"] == "Rất hài lòng"
    assert first["Quá hạn"] == "Có"  # completed after its deadline
    assert first["Ngày tiếp nhận"] == CREATED.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    assert second["Quá hạn"] == "Có" and second["Ngày hoàn thành"] == ""
    text = response.content.decode("utf-8-sig")
    assert "912345678" not in text and "Nguyễn Văn An" not in text
    assert first["Điện thoại người phản ánh"] == "'+8491•••••78"
    assert "******678" in second["Tiêu đề"]  # a phone number typed into the title is masked


def test_report_xlsx_opens_with_typed_cells(login_as: LoginAs, engine: Engine) -> None:
    _seed(engine)
    response = login_as("admin").get("/console/reports.xlsx", params={"sort": "oldest"})
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="phan-anh-{_today()}.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 40
    first = dict(zip(HEADER, rows[1], strict=True))
    created = first["Ngày tiếp nhận"]
    assert isinstance(created, datetime)
    assert created == CREATED.astimezone(TZ).replace(tzinfo=None)  # local time, not UTC
    assert sheet["I2"].number_format == "dd/mm/yyyy hh:mm"
    assert first["Tiêu đề"].startswith("'=") and sheet["B2"].data_type == "s"
    assert first["Xã/phường"] == "'@SUM(A1)"
    assert not any(
        isinstance(v, str) and "912345678" in v for row in rows for v in row
    )  # phones masked everywhere
    assert len(rows) == 4


def test_exports_follow_inbox_filters_and_unit_scope(login_as: LoginAs, engine: Engine) -> None:
    _seed(engine)
    leader = login_as("leader", unit_id="ubnd_long_chau")
    codes = [r[0] for r in _csv_rows(leader.get("/console/reports.csv").content)[1:]]
    assert sorted(codes) == ["202611020001", "202611020002"]  # not Sở Xây dựng's report
    filtered = leader.get("/console/reports.csv", params={"category": "moi_truong"})
    assert [r[0] for r in _csv_rows(filtered.content)[1:]] == ["202611020002"]
    intake = login_as("intake")
    search = intake.get("/console/reports.csv", params={"q": "Ổ gà", "status": ""})
    assert [r[0] for r in _csv_rows(search.content)[1:]] == ["202611020003"]
    overdue = intake.get("/console/reports.csv", params={"overdue": "true", "urgent": "bogus"})
    assert sorted(r[0] for r in _csv_rows(overdue.content)[1:]) == [
        "202611020002",
        "202611020003",
    ]  # an invalid filter is ignored, as in the inbox
    later = (datetime.now(TZ) + timedelta(days=1)).date()
    xlsx = intake.get("/console/reports.xlsx", params={"date_from": str(later)})
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == 1  # header only


def test_stats_csv_has_one_section_per_breakdown(login_as: LoginAs, engine: Engine) -> None:
    _seed(engine)
    response = login_as("leader", unit_id="ubnd_long_chau").get("/console/stats.csv")
    assert response.status_code == 200
    assert re.fullmatch(
        r'attachment; filename="thong-ke-\d{4}-\d\d-\d\d-den-\d{4}-\d\d-\d\d\.csv"',
        response.headers["content-disposition"],
    )
    rows = _csv_rows(response.content)
    titles = [rows[0][0]] + [rows[i + 1][0] for i, r in enumerate(rows[:-1]) if r == []]
    assert titles == [
        "Tổng quan",
        "Theo lĩnh vực",
        "Theo trạng thái",
        "Theo đơn vị",
        "Theo kênh",
        "Theo xã, phường",
        "Đúng hạn theo đơn vị",
        "Mức độ hài lòng",
    ]
    assert ["Tổng số phản ánh", "2"] in rows
    assert ["Trật tự đô thị", "1", "50.0%"] in rows
    assert ["'@SUM(A1)", "1", "50.0%"] in rows  # a commune name is text, never a formula
    assert not any("Giao thông" in cell for row in rows for cell in row)


def test_stats_xlsx_has_a_sheet_per_breakdown_with_numbers(
    login_as: LoginAs, engine: Engine
) -> None:
    _seed(engine)
    response = login_as("admin").get("/console/stats.xlsx")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[:2] == ["Tổng quan", "Theo lĩnh vực"]
    assert len(workbook.sheetnames) == 8
    categories = {row[0]: row[1:] for row in workbook["Theo lĩnh vực"].iter_rows(values_only=True)}
    assert categories["Lĩnh vực"] == ("Số phản ánh", "Tỷ lệ")
    count, share = categories["Giao thông"]
    assert count == 1 and share == pytest.approx(1 / 3)
    assert workbook["Theo lĩnh vực"]["C2"].number_format == "0.0%"
    ranking = list(workbook["Đúng hạn theo đơn vị"].iter_rows(values_only=True))
    # Long Châu completed one report, late: 0 % but ranked above a unit with nothing completed.
    assert ranking[1] == (1, "UBND phường Long Châu", 2, 1, 0, 0.0, 1)
    assert ranking[2] == (2, "Sở Xây dựng", 1, 0, 0, None, 1)
    assert workbook["Đúng hạn theo đơn vị"]["F2"].number_format == "0.0%"


def test_spreadsheet_formulas_are_neutralised_in_both_formats() -> None:
    cells = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\x01=1+1", "Bình thường"]
    table = exports.Table("Thử", ("Ô", "Số"), [(c, -5) for c in cells])
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes([table]))).active
    assert sheet is not None
    values = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [v[0] for v in values] == [
        "'=1+1",
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1)",
        "'\t=1",
        "'=1+1",  # a control character XML cannot hold is dropped, then the rule applies
        "Bình thường",
    ]
    assert all(v[1] == -5 for v in values)  # numbers stay numbers, negative ones too
    assert all(cell.data_type == "s" for cell in sheet["A"][1:])
    rows = _csv_rows(b"".join(exports.csv_stream([table])))
    assert [r[0] for r in rows[1:]][:5] == [
        "'=1+1",
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1)",
        "'\t=1",
    ]
    assert rows[1][1] == "-5"


def test_exports_need_a_login(console_client: TestClient) -> None:
    for path in ("/console/reports.csv", "/console/reports.xlsx", "/console/stats.csv"):
        response = console_client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login?next=")
        assert console_client.get(path, headers={"Accept": "text/csv"}).status_code == 401
