"""The statistics dashboard: figures within the viewer's scope, date range, SVG charts, login."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.db import make_session_factory, unit_of_work
from backend.reports.models import Report
from tests.console.conftest import LoginAs

H = timedelta(hours=1)
LC = "Phường Long Châu"


def _seed(engine: Engine) -> datetime:
    """Four reports of the last days: three for UBND Long Châu, one for Sở Xây dựng."""
    now = datetime.now(UTC)
    start = now - timedelta(days=3)
    rows = [
        # unit, category, status, commune, due, hours to complete, rating
        ("ubnd_long_chau", "trat_tu_do_thi", "completed", LC, start + 48 * H, 10, 3),
        ("ubnd_long_chau", "trat_tu_do_thi", "completed", LC, start + 6 * H, 30, 1),
        ("ubnd_long_chau", "moi_truong", "in_progress", "<b>Ấp Mới</b>", start + H, None, None),
        ("so_xay_dung", "giao_thong", "received", "Phường Phước Hậu", now + 48 * H, None, None),
    ]
    with unit_of_work(make_session_factory(engine)) as session:
        for i, (unit, category, status, commune, due, hours, rating) in enumerate(rows):
            session.add(
                Report(
                    code=f"20261102{i:04d}",
                    title=f"Phản ánh số {i}",
                    content="Nội dung",
                    category=category,
                    status=status,
                    unit_id=unit,
                    channel="zalo",
                    commune_name=commune,
                    due_at=due,
                    created_at=start,
                    updated_at=start,
                    completed_at=start + hours * H if hours else None,
                    rating=rating,
                )
            )
    return now


def _tile(html: str, name: str) -> str:
    match = re.search(rf'id="tile-{name}"[^>]*><span class="figure">([^<]*)</span>', html)
    assert match, f"tile {name} missing"
    return match.group(1)


def test_commune_leader_sees_its_own_figures_and_charts(login_as: LoginAs, engine: Engine) -> None:
    _seed(engine)
    leader = login_as("leader", unit_id="ubnd_long_chau")
    page = leader.get("/console/stats")
    assert page.status_code == 200
    html = page.text
    assert _tile(html, "total") == "3"
    assert _tile(html, "completed") == "2"
    assert _tile(html, "on-time") == "50,0%"
    assert _tile(html, "overdue") == "1"
    assert _tile(html, "mean") == "20,0 giờ"
    assert _tile(html, "median") == "20,0 giờ"
    assert _tile(html, "satisfied") == "50,0%"
    assert "Trật tự đô thị" in html and "Môi trường" in html
    assert "Giao thông" not in html and "Phước Hậu" not in html  # another unit's report
    assert html.count("<svg") >= 2
    category_chart = html.split('id="chart-category"')[1].split("</figure>")[0]
    assert "<rect" in category_chart and "Trật tự đô thị" in category_chart
    # The larger category gets the full bar, the other half of it.
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', category_chart)]
    assert widths == [330.0, 165.0]


def test_units_are_ranked_by_on_time_rate(login_as: LoginAs, engine: Engine) -> None:
    _seed(engine)
    html = login_as("intake").get("/console/stats").text
    ranking = html.split('id="units-ranking"')[1].split("</table>")[0]
    units = re.findall(r'data-unit="([^"]*)"', ranking)
    assert units == ["ubnd_long_chau", "so_xay_dung"]  # 50 % first, nothing completed last
    assert "50,0%" in ranking
    assert _tile(html, "total") == "4"


def test_date_range_filters_and_is_kept_in_the_form(login_as: LoginAs, engine: Engine) -> None:
    now = _seed(engine)
    admin = login_as("admin")
    day = (now - timedelta(days=40)).date()
    html = admin.get("/console/stats", params={"date_from": str(day), "date_to": str(day)}).text
    assert _tile(html, "total") == "0"
    assert f'name="date_from" value="{day}"' in html
    assert f"date_from={day}&amp;date_to={day}" in html  # the export links keep the range
    assert "Chưa có dữ liệu" in html


def test_default_range_is_the_last_30_days(login_as: LoginAs, engine: Engine) -> None:
    now = _seed(engine)
    html = login_as("admin").get("/console/stats", params={"date_from": "not-a-date"}).text
    today = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    assert f'name="date_to" value="{today}"' in html
    assert f'name="date_from" value="{today - timedelta(days=29)}"' in html
    assert _tile(html, "total") == "4"


def test_names_from_reports_are_displayed_inert(login_as: LoginAs, engine: Engine) -> None:
    _seed(engine)
    html = login_as("leader", unit_id="ubnd_long_chau").get("/console/stats").text
    assert "<b>Ấp Mới</b>" not in html
    assert "&lt;b&gt;Ấp Mới&lt;/b&gt;" in html


@pytest.mark.parametrize("path", ["/console/stats", "/console/stats.xlsx"])
def test_not_logged_in_goes_to_login(console_client: TestClient, path: str) -> None:
    response = console_client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=%2Fconsole%2Fstats")
