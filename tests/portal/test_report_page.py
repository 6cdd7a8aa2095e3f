"""A published report's page: facts, answer, map, photos, how many people reported it."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import update

from backend.media import ingest
from backend.reports.models import Attachment, Report
from tests.portal.conftest import FindId, Seed
from tests.portal.test_list import merge

ANSWER = "<p>Điện lực đã <strong>thay bóng đèn</strong> ngày 20/11.</p>"


def test_report_page_shows_the_facts_answer_and_map(client: TestClient, seed: Seed) -> None:
    code = seed(
        title="Đèn đường hư trước chợ",
        content="Đèn đường trước chợ Long Châu hư ba ngày nay.",
        category="giao_thong",
        commune_name="Phường Long Châu",
        lat=10.2536789,
        lon=105.9722123,
        answer=ANSWER,
        answered_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
    )
    page = client.get(f"/cong-dong/{code}")
    assert page.status_code == 200
    text = page.text
    assert "Đèn đường hư trước chợ" in text
    assert "Giao thông" in text and "Phường Long Châu" in text and "Hoàn thành" in text
    assert "<strong>thay bóng đèn</strong>" in text  # the sanitised answer keeps its markup
    assert "Ngày trả lời: 20/11/2026" in text
    assert 'id="report-map"' in text and 'data-lat="10.2537"' in text  # rounded to ~10 m
    assert "/console/static/vendor/leaflet/leaflet.js" in text
    assert "1 người đã phản ánh vấn đề này" in text


def test_a_report_without_answer_or_position_says_so(client: TestClient, seed: Seed) -> None:
    code = seed(title="Chưa xử lý xong", status="in_progress")
    text = client.get(f"/cong-dong/{code}").text
    assert "Chưa có trả lời." in text
    assert 'id="report-map"' not in text


def test_unpublished_merged_and_unknown_reports_are_not_found(
    client: TestClient, seed: Seed, report_id: FindId
) -> None:
    hidden = seed(title="Riêng tư", published=False)
    target = seed(title="Gốc")
    duplicate = seed(title="Bản trùng")
    merge(client, merged_code=duplicate, into_code=target, report_id=report_id)
    for code in (hidden, duplicate, "209901019999"):
        page = client.get(f"/cong-dong/{code}")
        assert page.status_code == 404, code
        assert "Không tìm thấy phản ánh." in page.text
    assert client.get("/cong-dong/khong-phai-ma").status_code == 404


def test_reporters_count_includes_reports_merged_through_others(
    client: TestClient, seed: Seed, report_id: FindId
) -> None:
    root = seed(title="Ngập nước đường 3/2")
    first = seed(title="Ngập nước", published=False)
    second = seed(title="Ngập nước nữa", published=False)
    third = seed(title="Ngập", published=False)
    merge(client, merged_code=first, into_code=root, report_id=report_id)
    merge(client, merged_code=second, into_code=root, report_id=report_id)
    merge(client, merged_code=third, into_code=first, report_id=report_id)  # transitively
    assert "4 người đã phản ánh vấn đề này" in client.get(f"/cong-dong/{root}").text


def test_citizen_text_is_escaped(client: TestClient, seed: Seed) -> None:
    code = seed(
        title="<script>alert('tiêu đề')</script>",
        content='<img src=x onerror="alert(1)"> cống nghẹt',
        commune_name="<b>Phường</b>",
        answer='<p>Đã xử lý.</p><script>alert("trả lời")</script><img src=x onerror="alert(2)">',
    )
    for url in ("/cong-dong", f"/cong-dong/{code}"):
        text = client.get(url).text
        assert "<script>alert(" not in text and "<img src=x" not in text, url
        assert "&lt;script&gt;" in text, url
    page = client.get(f"/cong-dong/{code}").text
    assert "<b>Phường</b>" not in page
    assert "<p>Đã xử lý.</p>" in page  # the answer's own markup is kept, its script is not
    assert 'trả lời")' not in page and 'onerror="alert(2)"' not in page
    markers = client.get("/cong-dong/ban-do.json").json()["markers"]
    assert markers == []  # no position: not on the map


def _jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "JPEG")
    return out.getvalue()


def _attach(client: TestClient, report_id: int, *, purpose: str, colour: str) -> int:
    store = client.app.state.media_store
    stored = asyncio.run(ingest(_jpeg(colour), store=store, client=None))
    with client.app.state.sessions() as session:
        attachment = Attachment(
            report_id=report_id,
            kind="image",
            purpose=purpose,
            status="stored",
            storage_key=stored.key,
            thumbnail_key=stored.thumbnail_key,
        )
        session.add(attachment)
        session.commit()
        return attachment.id


def test_photos_are_served_only_for_published_reports(
    client: TestClient, seed: Seed, report_id: FindId
) -> None:
    code = seed(title="Có ảnh")
    photo = _attach(client, report_id(code), purpose="report", colour="red")
    staff_file = _attach(client, report_id(code), purpose="answer", colour="blue")
    page = client.get(f"/cong-dong/{code}").text
    assert f'src="/cong-dong/{code}/anh/{photo}"' in page
    assert f"/anh/{staff_file}" not in page
    served = client.get(f"/cong-dong/{code}/anh/{photo}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size[0] <= 320  # the thumbnail, no EXIF
    assert client.get(f"/cong-dong/{code}/anh/{staff_file}").status_code == 404
    other = seed(title="Khác")
    assert client.get(f"/cong-dong/{other}/anh/{photo}").status_code == 404
    with client.app.state.sessions() as session:
        session.execute(update(Report).where(Report.code == code).values(published=False))
        session.commit()
    assert client.get(f"/cong-dong/{code}/anh/{photo}").status_code == 404


@pytest.mark.parametrize("params", [{}, {"category": "giao_thong"}])
def test_map_json_lists_published_reports_with_a_position(
    client: TestClient, seed: Seed, params: dict[str, str]
) -> None:
    shown = seed(title="Ổ gà", category="giao_thong", lat=10.25, lon=105.97)
    seed(title="Không vị trí", category="giao_thong")
    seed(title="Riêng tư", category="giao_thong", lat=10.2, lon=105.9, published=False)
    seed(title="Môi trường", category="moi_truong", lat=10.3, lon=106.0)
    body = client.get("/cong-dong/ban-do.json", params=params).json()
    found = [m["code"] for m in body["markers"]]
    assert shown in found and len(found) == (1 if params else 2)
    marker = next(m for m in body["markers"] if m["code"] == shown)
    assert marker == {
        "code": shown,
        "title": "Ổ gà",
        "category": "Giao thông",
        "status": "Hoàn thành",
        "lat": 10.25,
        "lon": 105.97,
        "url": f"/cong-dong/{shown}",
    }
    page = client.get("/cong-dong/ban-do").text
    assert 'id="public-map"' in page and 'data-source="/cong-dong/ban-do.json"' in page
    assert re.search(r"/cong-dong/static/portal\.js", page)
    assert client.get("/cong-dong/static/portal.js").status_code == 200
