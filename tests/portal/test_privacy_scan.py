"""No public page or JSON shows a reporter's phone, ID number or name, in any spelling.

Reports are seeded whose title, content, answer, name and phone fields carry a phone
number, a CCCD, a CMND and the reporter's name; then every public page and endpoint is
fetched (list with each filter and with searches for the secrets themselves, report
pages, map page and JSON, lookup form, failed and successful lookups) and each response
is scanned with `assert_no_pii`.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.portal.conftest import FindId, Seed
from tests.portal.privacy import assert_no_pii, find_pii
from tests.portal.test_list import merge
from tests.portal.test_lookup import lookup

NAME = "Trần Thị Bích Ngọc"
PHONE = "0912 345 678"  # typed into the text
STORED_PHONE = "+84987654321"  # the reporter_phone field
CCCD = "079123456789"
CMND = "123456789"
SECRETS = [NAME, PHONE, "+84912345678", "84912345678", STORED_PHONE, CCCD, CMND]


def _seed_reports(client: TestClient, seed: Seed, report_id: FindId) -> list[str]:
    common = {
        "reporter_name": NAME,
        "reporter_phone": STORED_PHONE,
        "category": "moi_truong",
        "commune_name": "Phường Long Châu",
        "lat": 10.25,
        "lon": 105.97,
    }
    first = seed(
        title=f"Rác thải, liên hệ {NAME} 0912.345.678",
        content=(
            f"Tôi là {NAME}, CCCD {CCCD}, số điện thoại {PHONE} hoặc +84912345678 "
            f"(84912345678), CMND cũ {CMND}. Rác thải bốc mùi cạnh nhà tôi."
        ),
        answer=(
            f"<p>Chào bà {NAME.upper()}, cán bộ đã gọi số 0912345678 và xác minh CCCD "
            f"079 123 456 789. Rác đã được thu gom.</p>"
        ),
        **common,
    )
    second = seed(
        title="Cống nghẹt",
        content=f"Người báo: tran thi bich ngoc, dt 0912-345-678, cccd {CCCD}",
        status="in_progress",
        urgent=True,
        **common,
    )
    merged = seed(title=f"Trùng: {NAME} {PHONE}", published=False, **common)
    merge(client, merged_code=merged, into_code=first, report_id=report_id)
    return [first, second, merged]


def test_helper_catches_every_spelling() -> None:
    """The scan itself must be able to fail."""
    for leak in ("0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678", "0912345678"):
        assert find_pii(f"<p>gọi {leak}</p>", ["0912345678"]) == ["0912345678"], leak
    assert find_pii("079 123 456 789", [CCCD]) == [CCCD]
    assert find_pii("Tr&#7847;n Th&#7883; B&iacute;ch Ng&#7885;c", [NAME]) == [NAME]
    assert find_pii('{"t": "TRAN THI BICH NGOC"}', [NAME]) == [NAME]
    assert find_pii('{"t": "Tr\\u1ea7n Th\\u1ecb B\\u00edch Ng\\u1ecdc"}', [NAME]) == [NAME]
    assert find_pii("mã 202611230001, ******678", SECRETS) == []
    with pytest.raises(AssertionError):
        assert_no_pii("liên hệ 0912 345 678", SECRETS)


def test_no_public_page_shows_personal_data(
    client: TestClient, seed: Seed, report_id: FindId
) -> None:
    first, second, merged = _seed_reports(client, seed, report_id)
    urls = [
        "/cong-dong",
        "/cong-dong?category=moi_truong",
        "/cong-dong?status=in_progress",
        "/cong-dong?urgent=true",
        "/cong-dong?commune=Phường Long Châu",
        "/cong-dong?date_from=2020-01-01&date_to=2099-12-31",
        f"/cong-dong?q={first}",
        "/cong-dong?q=Rác thải",
        f"/cong-dong/{first}",
        f"/cong-dong/{second}",
        f"/cong-dong/{merged}",
        "/cong-dong/ban-do",
        "/cong-dong/ban-do.json",
        "/cong-dong/ban-do.json?category=moi_truong&urgent=true",
        "/tra-cuu",
        *(f"/cong-dong?q={secret}" for secret in SECRETS if secret != NAME),  # not echoed
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_no_pii(response.text, SECRETS, where=url)
    # a search for the name finds nothing (the search box shows what the visitor typed)
    by_name = client.get("/cong-dong", params={"q": NAME}).text
    assert 'class="report-card' not in by_name
    assert_no_pii(by_name.replace(f'value="{NAME}"', ""), SECRETS, where="search by name")
    # the pages did show the reports (the scan looked at real content)
    page = client.get(f"/cong-dong/{first}").text
    assert "Rác thải bốc mùi" in page and "Rác đã được thu gom" in page
    assert "2 người đã phản ánh vấn đề này" in page
    assert len(client.get("/cong-dong/ban-do.json").json()["markers"]) == 2
    # lookups: a wrong phone, a code typed as an ID number, and the reporter's own lookup
    for code, phone in ((first, "0900000000"), (CCCD, STORED_PHONE), (second, STORED_PHONE)):
        status, text = lookup(client, code, phone)
        assert status == 200
        assert_no_pii(text, SECRETS, where=f"lookup {code}")
    _, own = lookup(client, second, STORED_PHONE)
    assert "Cống nghẹt" in own and re.search(r"\*{6}678", own)
