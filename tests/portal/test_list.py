"""The public list: only published, unmerged reports; filters, search, newest first, paging."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.reports.models import Report
from tests.portal.conftest import FindId, Seed, codes

LONG_CHAU, PHUOC_HAU = "Phường Long Châu", "Phường Phước Hậu"


def test_only_published_unmerged_reports_are_listed_newest_first(
    client: TestClient, seed: Seed, report_id: FindId
) -> None:
    old = seed(title="Cống nghẹt", ago=timedelta(days=2))
    new = seed(title="Đèn đường hư", ago=timedelta(hours=1))
    seed(title="Chưa công khai", published=False)
    merged = seed(title="Trùng lặp", published=True)
    # merged into `new`: a confirmed duplicate is counted on its page, not listed on its own
    merge(client, merged_code=merged, into_code=new, report_id=report_id)
    page = client.get("/cong-dong")
    assert page.status_code == 200
    assert codes(page.text) == [new, old]
    assert "Chưa công khai" not in page.text
    assert "Phản ánh đã công khai" in page.text


def merge(client: TestClient, *, merged_code: str, into_code: str, report_id: FindId) -> None:
    factory = client.app.state.sessions
    with factory() as session:
        session.execute(
            update(Report)
            .where(Report.code == merged_code)
            .values(merged_into_id=report_id(into_code), status="merged")
        )
        session.commit()


def test_each_filter_narrows_the_list(client: TestClient, seed: Seed) -> None:
    water = seed(category="cap_thoat_nuoc", commune_name=LONG_CHAU, ago=timedelta(days=3))
    road = seed(category="giao_thong", commune_name=PHUOC_HAU, status="in_progress")
    urgent = seed(category="giao_thong", urgent=True, commune_name=LONG_CHAU)

    def listed(**params: str) -> list[str]:
        return sorted(codes(client.get("/cong-dong", params=params).text))

    assert listed(category="giao_thong") == sorted([road, urgent])
    assert listed(status="in_progress") == [road]
    assert listed(urgent="true") == [urgent]
    assert listed(urgent="false") == sorted([water, road])
    assert listed(commune=LONG_CHAU) == sorted([water, urgent])
    assert listed(category="giao_thong", commune=LONG_CHAU) == [urgent]
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    since = (today - timedelta(days=1)).isoformat()
    assert listed(date_from=since) == sorted([road, urgent])
    before = (today - timedelta(days=2)).isoformat()
    assert listed(date_to=before) == [water]
    # an invalid value is ignored, not a server error
    assert listed(status="không-có", urgent="có lẽ") == sorted([water, road, urgent])
    # the commune choice offers the communes of published reports
    page = client.get("/cong-dong").text
    assert f"<option>{LONG_CHAU}</option>" in page


def test_search_by_code_or_title(client: TestClient, seed: Seed) -> None:
    lamp = seed(title="Đèn đường hư trước chợ")
    seed(title="Rác thải ven sông")
    hidden = seed(title="Đèn đường chưa công khai", published=False)

    def found(q: str) -> list[str]:
        return codes(client.get("/cong-dong", params={"q": q}).text)

    assert found(lamp) == [lamp]
    assert found("đèn đường") == [lamp]
    assert found(hidden) == []  # an unpublished code is not found by search either
    assert found("không có gì") == []


def test_search_does_not_match_digits_in_titles(client: TestClient, seed: Seed) -> None:
    """Digits that are not a code find nothing: the search cannot confirm a hidden number."""
    seed(title="Gọi 0912345678 khi cần")
    assert codes(client.get("/cong-dong", params={"q": "0912345678"}).text) == []


def test_paging_continues_after_the_last_report_shown(client: TestClient, seed: Seed) -> None:
    made = [seed(title=f"Phản ánh {i}", ago=timedelta(minutes=100 - i)) for i in range(45)]
    newest_first = list(reversed(made))
    seen: list[str] = []
    url = "/cong-dong"
    for _ in range(5):
        page = client.get(url)
        seen += codes(page.text)
        link = re.search(r'<a rel="next" href="([^"]+)"', page.text)
        if not link:
            break
        url = link.group(1).replace("&amp;", "&")
    assert seen == newest_first
    assert "Trang đầu" in page.text  # a later page links back to the first


def test_paging_keeps_the_filters(client: TestClient, seed: Seed) -> None:
    for i in range(25):
        seed(category="giao_thong", ago=timedelta(minutes=50 - i))
    seed(category="moi_truong")
    first = client.get("/cong-dong", params={"category": "giao_thong"})
    link = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert link and "category=giao_thong" in link.group(1)
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert len(codes(first.text)) == 20 and len(codes(second.text)) == 5


def test_created_at_is_shown_as_a_local_date(client: TestClient, seed: Seed) -> None:
    code = seed(title="Ngày giờ")
    assert code in client.get("/cong-dong").text
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=1)
    assert today.strftime("%d/%m/%Y") in client.get("/cong-dong").text
