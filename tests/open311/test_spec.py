"""Open311 GeoReport v2 conformance: every endpoint in JSON and XML, and its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.citizens.service import citizen_for
from backend.db import unit_of_work
from backend.reports.models import Report
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.settings import Settings
from tests.open311.conftest import BASE, submit

REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "detailed_status",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def xml(response) -> ET.Element:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.content)


def test_services_json_lists_the_deployment_categories(
    open311: TestClient, open311_settings: Settings
) -> None:
    response = open311.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = response.json()
    assert isinstance(services, list)
    assert [s["service_code"] for s in services] == [c.id for c in open311_settings.categories]
    lighting = next(s for s in services if s["service_code"] == "dien_chieu_sang")
    assert lighting["service_name"] == "Điện, chiếu sáng"
    assert lighting["type"] == "realtime"
    assert lighting["metadata"] is False
    assert lighting["group"] == open311_settings.unit("dien_luc").name  # type: ignore[union-attr]
    assert set(lighting) == {
        "service_code", "service_name", "description", "metadata", "type", "keywords", "group"
    }  # fmt: skip


def test_services_xml(open311: TestClient) -> None:
    root = xml(open311.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    first = root.find("service")
    assert first is not None
    assert first.findtext("service_code") == "giao_thong"
    assert first.findtext("service_name") == "Giao thông"
    assert first.findtext("metadata") == "false"
    assert first.findtext("type") == "realtime"


def test_service_definition_and_unknown_service(open311: TestClient) -> None:
    found = open311.get(f"{BASE}/services/giao_thong.json")
    assert found.status_code == 200
    assert found.json() == {"service_code": "giao_thong", "attributes": []}
    root = xml(open311.get(f"{BASE}/services/giao_thong.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "giao_thong"

    missing = open311.get(f"{BASE}/services/khong_co.json")
    assert missing.status_code == 404
    [error] = missing.json()
    assert error["code"] == 404 and "khong_co" in error["description"]
    missing_xml = open311.get(f"{BASE}/services/khong_co.xml")
    assert missing_xml.status_code == 404
    root = xml(missing_xml)
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"
    assert root.findtext("error/description")


def test_post_then_read_back_by_id_and_token(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    response = submit(open311, api_key, service_code="dien_chieu_sang")
    assert response.status_code == 200, response.text
    [created] = response.json()
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    code, token = created["service_request_id"], created["token"]
    assert code and token and code in created["service_notice"]

    with sessions() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        assert report.channel == "open311"
        assert report.category == "dien_chieu_sang"
        assert report.unit_id == "dien_luc"
        assert report.status == "received"
        assert report.due_at > report.created_at
        assert report.events[0].kind == "created"
        assert report.events[0].actor == "citizen:open311"
        assert report.events[0].data["open311_client"] == "Ứng dụng Công dân số"

    [one] = open311.get(f"{BASE}/requests/{code}.json").json()
    assert set(one) == REQUEST_FIELDS
    assert one["service_request_id"] == code
    assert one["status"] == "open"
    assert one["detailed_status"] == "received"
    assert one["status_notes"] == "Mới tiếp nhận"
    assert one["service_code"] == "dien_chieu_sang"
    assert one["service_name"] == "Điện, chiếu sáng"
    assert one["agency_responsible"]
    assert one["expected_datetime"] > one["requested_datetime"]

    root = xml(open311.get(f"{BASE}/requests/{code}.xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == code
    assert root.findtext("request/status") == "open"

    assert open311.get(f"{BASE}/tokens/{token}.json").json() == [
        {"service_request_id": code, "token": token}
    ]
    root = xml(open311.get(f"{BASE}/tokens/{token}.xml"))
    assert root.findtext("request/service_request_id") == code
    assert open311.get(f"{BASE}/tokens/nope.json").status_code == 404
    assert open311.get(f"{BASE}/requests/202611239999.json").status_code == 404


def test_post_xml_answer(open311: TestClient, api_key: str) -> None:
    response = submit(open311, api_key, fmt="xml", account_id="acc-7")
    root = xml(response)
    assert response.status_code == 200
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id")
    assert root.findtext("request/token")
    assert root.findtext("request/account_id") == "acc-7"


def test_nlu_fills_the_service_code(open311: TestClient, api_key: str) -> None:
    text = "Cột đèn chiếu sáng ở đường Phạm Thái Bường bị hư, bóng đèn không sáng mấy đêm nay."
    [created] = submit(open311, api_key, description=text).json()
    [found] = open311.get(f"{BASE}/requests/{created['service_request_id']}.json").json()
    assert found["service_code"] == "dien_chieu_sang"


def _old_report(sessions: sessionmaker[Session], settings: Settings, days: int, **kw) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(sessions) as session:
        report = create_report(
            session,
            data=ReportCreate(content="Rác thải ùn ứ đầu hẻm", channel="zalo", **kw),
            settings=settings,
            now=datetime.now(UTC) - timedelta(days=days),
        )
        return report.code


def test_list_filters_and_paging(
    open311: TestClient,
    api_key: str,
    sessions: sessionmaker[Session],
    open311_settings: Settings,
) -> None:
    old = _old_report(sessions, open311_settings, 120, category="moi_truong")
    recent = _old_report(sessions, open311_settings, 3, category="moi_truong")
    [mine] = submit(open311, api_key, service_code="dien_chieu_sang").json()
    with unit_of_work(sessions) as session:
        report = session.scalar(select(Report).where(Report.code == recent))
        assert report is not None
        report.status = "completed"

    def codes(**params: str) -> list[str]:
        response = open311.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert codes() == [mine["service_request_id"], recent]  # last 90 days, newest first
    assert codes(status="closed") == [recent]
    assert codes(status="open") == [mine["service_request_id"]]
    assert codes(service_code="moi_truong") == [recent]
    since = (datetime.now(UTC) - timedelta(days=200)).date().isoformat()
    assert codes(start_date=since, service_code="moi_truong") == [recent, old]
    assert codes(service_request_id=f"{old},{recent}") == [recent, old]  # other filters ignored
    assert codes(page_size="1") == [mine["service_request_id"]]
    assert codes(page_size="1", page="2") == [recent]
    end = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    assert codes(end_date=end, start_date=since) == [old]

    root = xml(open311.get(f"{BASE}/requests.xml", params={"status": "closed"}))
    assert [e.findtext("service_request_id") for e in root.findall("request")] == [recent]


def test_malformed_query_is_a_spec_error(open311: TestClient) -> None:
    for params in (
        {"start_date": "hôm qua"},
        {"end_date": "2026-13-45"},
        {"status": "pending"},
        {"page_size": "5000"},
        {"service_code": "khong_co"},
        {"start_date": "2026-11-20", "end_date": "2026-11-01"},
    ):
        response = open311.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 400, params
        [error] = response.json()
        assert error["code"] == 400 and error["description"], params
    unknown_format = open311.get(f"{BASE}/services.html")
    assert unknown_format.status_code == 400 and unknown_format.json()[0]["code"] == 400
    root = xml(open311.get(f"{BASE}/requests.xml", params={"start_date": "x"}))
    assert root.tag == "errors" and root.findtext("error/code") == "400"


def test_jurisdiction_id_is_checked_when_configured(open311: TestClient, api_key: str) -> None:
    open311.app.state.settings = open311.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"open311": open311.app.state.settings.open311.model_copy(  # type: ignore[attr-defined]
            update={"jurisdiction_id": "vinhlong.gov.vn"}
        )}
    )  # fmt: skip
    ok = open311.get(f"{BASE}/services.json", params={"jurisdiction_id": "vinhlong.gov.vn"})
    assert ok.status_code == 200
    other = open311.get(f"{BASE}/services.json", params={"jurisdiction_id": "hanoi.gov.vn"})
    assert other.status_code == 400 and other.json()[0]["code"] == 400
    refused = submit(open311, api_key, jurisdiction_id="hanoi.gov.vn")
    assert refused.status_code == 400


def test_address_resolved_to_commune_like_chat_reports(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    [created] = submit(
        open311, api_key, lat=None, long=None, address_string="12 Phạm Thái Bường, phường Long Châu"
    ).json()
    with sessions() as session:
        report = session.scalar(select(Report).where(Report.code == created["service_request_id"]))
        assert report is not None
        assert (report.commune_name, report.commune_code) == ("Phường Long Châu", "29551")
        assert report.location_detail == "12 Phạm Thái Bường"
        assert report.lat is None
    [pinned] = submit(open311, api_key).json()  # the map pin alone finds the commune too
    with sessions() as session:
        report = session.scalar(select(Report).where(Report.code == pinned["service_request_id"]))
        assert report is not None and report.commune_name == "Phường Long Châu"
        assert (report.lat, report.lon) == (10.2537, 105.9722)


def test_phone_links_the_citizen_known_from_another_channel(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions) as session:
        known = citizen_for(session, channel="zalo", external_id="zalo-1", now=datetime.now(UTC))
        known.phone = "+84912345678"
        known_id = known.id
    [created] = submit(open311, api_key, phone="0912.345.678", first_name="An").json()
    with sessions() as session:
        report = session.scalar(select(Report).where(Report.code == created["service_request_id"]))
        assert report is not None
        assert report.citizen_id == known_id
        assert report.reporter_phone == "+84912345678"  # normalised
        assert report.reporter_name == "An"


def test_public_consent_extension_decides_whether_the_description_is_shown(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session]
) -> None:
    codes = {}
    for consent in ("true", None):
        response = submit(open311, api_key, service_code="dien_chieu_sang", public_consent=consent)
        assert response.status_code == 200, response.text
        codes[consent] = response.json()[0]["service_request_id"]
    with unit_of_work(sessions) as session:
        for report in session.scalars(select(Report).where(Report.code.in_(codes.values()))):
            report.published = True  # as if answered and published by staff
    shown = open311.get(f"{BASE}/requests/{codes['true']}.json").json()[0]
    hidden = open311.get(f"{BASE}/requests/{codes[None]}.json").json()[0]
    assert "Đèn đường trước chợ" in (shown["description"] or "")
    assert "Đèn đường trước chợ" not in (hidden["description"] or "")

    refused = submit(open311, api_key, public_consent="maybe")
    assert refused.status_code == 400
    assert "public_consent" in refused.json()[0]["description"]
