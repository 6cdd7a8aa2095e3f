"""No personal data in any Open311 GET answer, JSON or XML (tests/portal/privacy.py scan)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import unit_of_work
from backend.reports.models import Attachment, Report
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.settings import Settings
from tests.open311.conftest import BASE, submit
from tests.portal.privacy import assert_no_pii

PHONE = "0912345678"
OTHER_PHONE = "0987 654 321"
CCCD = "079123456789"
NAME = "Nguyễn Văn An"
EMAIL = "an.nguyen@example.vn"
HOUSE = "số 12 hẻm 34 Phạm Thái Bường"
THUMB = "cc/cc/cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.jpg"
ORIGINAL = "dd/dd/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.jpg"
SECRETS = [PHONE, OTHER_PHONE, CCCD, NAME, EMAIL, "dev-42", "acc-99"]


def everything(client: TestClient, code: str, token: str) -> list[str]:
    """Every GET answer that can mention the report, in both formats."""
    bodies = []
    for fmt in ("json", "xml"):
        for path in (
            f"/requests.{fmt}",
            f"/requests/{code}.{fmt}",
            f"/tokens/{token}.{fmt}",
            f"/services.{fmt}",
        ):
            response = client.get(BASE + path)
            assert response.status_code == 200, path
            bodies.append(response.text)
    return bodies


def test_open311_contact_and_content_never_shown(open311: TestClient, api_key: str) -> None:
    response = submit(
        open311,
        api_key,
        description=f"Tôi là {NAME}, CCCD {CCCD}, gọi {OTHER_PHONE}: đèn đường hư trước nhà.",
        address_string=HOUSE,
        first_name="Nguyễn Văn",
        last_name="An",
        phone=PHONE,
        email=EMAIL,
        device_id="dev-42",
        account_id="acc-99",
    )
    assert response.status_code == 200
    [created] = response.json()
    bodies = everything(open311, created["service_request_id"], created["token"])
    for body in bodies:
        assert_no_pii(body, SECRETS)
        assert "hẻm 34" not in body  # no consent to publish: the street address stays inside
    [shown] = open311.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert shown["description"] is None
    assert shown["lat"] is None and shown["long"] is None
    assert shown["status"] == "open"  # the client can still follow its request


def test_consented_report_is_shown_masked(
    open311: TestClient, sessions: sessionmaker[Session], open311_settings: Settings
) -> None:
    with unit_of_work(sessions) as session:
        report = create_report(
            session,
            data=ReportCreate(
                content=f"Tôi là Trần Thị Bình, nước thải tràn ra đường, gọi {PHONE}, CCCD {CCCD}.",
                category="moi_truong",
                channel="zalo",
                reporter_name="Trần Thị Bình",
                reporter_phone="+84912345678",
                public_consent=True,
                commune_name="Phường Long Châu",
                location_detail=f"{HOUSE}, gọi {OTHER_PHONE}",
                lat=10.25,
                lon=105.97,
            ),
            settings=open311_settings,
            now=datetime.now(UTC),
        )
        report.published = True
        report.attachments.append(
            Attachment(
                kind="image",
                status="stored",
                url="https://photos.example.vn/orig.jpg",
                storage_key=ORIGINAL,
                thumbnail_key=THUMB,
                created_at=datetime.now(UTC),
            )
        )
        session.flush()
        code, photo_id = report.code, report.attachments[0].id
    for fmt in ("json", "xml"):
        for path in (f"/requests.{fmt}", f"/requests/{code}.{fmt}"):
            body = open311.get(BASE + path).text
            assert_no_pii(body, [PHONE, OTHER_PHONE, CCCD, "Trần Thị Bình", "orig.jpg", ORIGINAL])
    [shown] = open311.get(f"{BASE}/requests/{code}.json").json()
    assert "nước thải tràn ra đường" in shown["description"]
    assert "******678" in shown["description"]  # masked, last digits kept for support
    assert HOUSE in shown["address"] and "Phường Long Châu" in shown["address"]
    assert (shown["lat"], shown["long"]) == (10.25, 105.97)
    photo = f"{open311_settings.public_base_url}/cong-dong/{code}/anh/{photo_id}"
    assert shown["media_url"] == photo  # the portal's thumbnail route, not the original


def test_consented_but_unpublished_report_shows_nothing_of_its_content(
    open311: TestClient, sessions: sessionmaker[Session], api_key: str
) -> None:
    [created] = submit(open311, api_key, media_url="https://photos.example.vn/a.jpg").json()
    code = created["service_request_id"]
    with unit_of_work(sessions) as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        report.public_consent = True
        report.attachments[0].status = "stored"
        report.attachments[0].thumbnail_key = THUMB
    [shown] = open311.get(f"{BASE}/requests/{code}.json").json()
    assert shown["media_url"] is None  # staff have not published the report
    assert shown["description"] is None and shown["lat"] is None
