"""Private lookup by code and phone: the citizen's own report, nothing for anyone else."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from backend.portal.lookup import AttemptLimiter
from backend.reports.models import ReportEvent
from tests.portal.conftest import FindId, Seed
from tests.portal.test_list import merge

PHONE = "+84912345678"
NOT_FOUND = "Không tìm thấy phản ánh với mã số và số điện thoại này."


def lookup(client: TestClient, code: str, phone: str) -> tuple[int, str]:
    form = client.get("/tra-cuu")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "lookup form without a CSRF token"
    data = {"code": code, "phone": phone, "csrf_token": token.group(1)}
    response = client.post("/tra-cuu", data=data)
    return response.status_code, response.text


def test_the_reporter_sees_their_unpublished_report_with_its_timeline(
    client: TestClient, seed: Seed, report_id: FindId
) -> None:
    code = seed(
        title="Nước sinh hoạt bị đục",
        reporter_phone=PHONE,
        published=False,
        status="in_progress",
    )
    with client.app.state.sessions() as session:
        for from_status, to_status in (("received", "assigned"), ("assigned", "in_progress")):
            session.add(
                ReportEvent(
                    report_id=report_id(code),
                    kind="x",
                    actor="staff:canbo1",
                    from_status=from_status,
                    to_status=to_status,
                    comment="ghi chú nội bộ",
                    created_at=datetime.now(UTC),
                )
            )
        session.commit()
    for typed in ("0912 345 678", "0912345678", "+84 912 345 678"):
        status, text = lookup(client, code, typed)
        assert status == 200
        assert "Nước sinh hoạt bị đục" in text and "Đang xử lý" in text, typed
        assert "Đã chuyển xử lý" in text and "Mới tiếp nhận" in text  # the timeline
        assert "canbo1" not in text and "ghi chú nội bộ" not in text  # no staff, no notes
        assert "Chưa có trả lời" in text
        assert "912 345 678" not in text and "912345678" not in text  # phone never echoed


def test_wrong_phone_and_unknown_code_look_the_same(client: TestClient, seed: Seed) -> None:
    code = seed(title="Bí mật", reporter_phone=PHONE, published=False)
    _, wrong_phone = lookup(client, code, "0987654321")
    _, unknown = lookup(client, "209901019999", PHONE)
    _, garbage = lookup(client, "abc", "xyz")
    for text in (wrong_phone, unknown, garbage):
        assert NOT_FOUND in text
        assert "Bí mật" not in text

    def strip(text: str) -> str:
        return re.sub(r'value="[^"]*"', "", text)

    assert strip(wrong_phone).replace(code, "") == strip(unknown).replace("209901019999", "")


def test_a_merged_report_shows_the_answer_of_the_report_it_joined(
    client: TestClient, seed: Seed, report_id: FindId
) -> None:
    root = seed(title="Ngập", answer="<p>Đã nạo vét cống.</p>")
    mine = seed(title="Ngập đường", reporter_phone=PHONE, published=False)
    merge(client, merged_code=mine, into_code=root, report_id=report_id)
    _, text = lookup(client, mine, PHONE)
    assert f'href="/cong-dong/{root}"' in text
    assert "Đã nạo vét cống." in text


def test_lookup_needs_the_form_token(client: TestClient, seed: Seed) -> None:
    code = seed(title="Có mã", reporter_phone=PHONE)
    response = client.post("/tra-cuu", data={"code": code, "phone": PHONE, "csrf_token": "x"})
    assert response.status_code == 403
    assert "Có mã" not in response.text


def test_lookups_are_limited_per_address(client: TestClient, seed: Seed) -> None:
    code = seed(title="Giới hạn", reporter_phone=PHONE)
    client.app.state.portal_limiter = AttemptLimiter(limit=3, window=600)
    for _ in range(3):
        assert lookup(client, code, "0900000000")[0] == 200
    status, text = lookup(client, code, PHONE)  # even the right phone waits now
    assert status == 429
    assert "quá nhiều lần" in text and "Giới hạn" not in text


def test_the_limiter_forgets_attempts_after_the_window() -> None:
    limiter = AttemptLimiter(limit=2, window=60)
    assert limiter.retry_after("a", now=0) == 0
    assert limiter.retry_after("a", now=1) == 0
    assert limiter.retry_after("a", now=2) == 59
    assert limiter.retry_after("b", now=2) == 0  # another address is not affected
    assert limiter.retry_after("a", now=61) == 0
