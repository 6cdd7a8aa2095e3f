"""An Open311 report in the staff console, and staff actions read back over Open311."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.clusters.models import DuplicateCandidate
from backend.db import unit_of_work, utcnow
from backend.notifications.models import OutboxMessage
from backend.reports.actions import ActionInput, perform
from backend.reports.models import Report
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.reports.workflow import Action
from backend.settings import Settings
from backend.staff.deps import Staff
from backend.staff.models import StaffUser
from tests.console.conftest import LoginAs
from tests.open311.conftest import BASE, submit

PHONE = "0912 345 678"


def act(
    sessions: sessionmaker[Session], settings: Settings, code: str, action: Action, user_id: int,
    **data: str,
) -> None:  # fmt: skip
    with unit_of_work(sessions) as session:
        report = session.scalar(select(Report).where(Report.code == code))
        user = session.get(StaffUser, user_id)
        assert report is not None and user is not None
        staff = Staff.of(user, settings=settings, csrf_token="")
        perform(
            session,
            report=report,
            action=action,
            actor=staff,
            data=ActionInput(**data),
            settings=settings,
            now=utcnow(),
        )


def status_of(client: TestClient, code: str) -> dict[str, str]:
    [found] = client.get(f"{BASE}/requests/{code}.json").json()
    return found


def test_open311_report_in_console_and_back(
    login_as: LoginAs,
    console_client: TestClient,
    console_settings: Settings,
    sessions: sessionmaker[Session],
    api_key: str,
) -> None:
    response = submit(
        console_client,
        api_key,
        service_code="dien_chieu_sang",
        description="Đèn đường trước cổng trường tiểu học bị tắt cả tuần.",
        phone=PHONE,
    )
    assert response.status_code == 200, response.text
    code = response.json()[0]["service_request_id"]

    intake = login_as("intake")
    page = intake.get(f"/console/reports/{code}")
    assert page.status_code == 200
    assert "Đèn đường trước cổng trường tiểu học" in page.text
    inbox = intake.get("/console/reports")
    assert code in inbox.text

    act(sessions, console_settings, code, Action.ASSIGN, intake.user_id)  # type: ignore[attr-defined]
    assert status_of(console_client, code)["detailed_status"] == "assigned"
    assert status_of(console_client, code)["status_notes"] == "Đã chuyển xử lý"

    specialist = login_as("specialist", unit_id="dien_luc")
    act(sessions, console_settings, code, Action.ACCEPT, specialist.user_id)  # type: ignore[attr-defined]
    shown = status_of(console_client, code)
    assert (shown["status"], shown["detailed_status"]) == ("open", "in_progress")
    assert shown["agency_responsible"] == console_settings.unit("dien_luc").name  # type: ignore[union-attr]

    leader = login_as("leader", unit_id="dien_luc")
    act(
        sessions, console_settings, code, Action.REJECT, leader.user_id,  # type: ignore[attr-defined]
        comment="Đèn thuộc khuôn viên trường, không do điện lực quản lý.",
    )  # fmt: skip
    shown = status_of(console_client, code)
    assert (shown["status"], shown["detailed_status"]) == ("closed", "rejected")

    with sessions() as session:  # the citizen hears of it by SMS at the number they gave
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert sms and {m.recipient for m in sms} == {"+84912345678"}
    assert "không do điện lực quản lý" in sms[-1].payload["text"]


def test_console_shows_the_open311_channel(
    login_as: LoginAs, console_client: TestClient, api_key: str
) -> None:
    [created] = submit(console_client, api_key).json()
    page = login_as("intake").get(f"/console/reports/{created['service_request_id']}")
    assert page.status_code == 200
    assert "open311" in page.text


def test_repeat_over_open311_joins_the_chat_reports_cluster(
    open311: TestClient, api_key: str, sessions: sessionmaker[Session], open311_settings: Settings
) -> None:
    """Duplicate handling is the chat reports' own (backend.clusters, inside create_report)."""
    text = "Cống thoát nước trước chợ Long Châu bị nghẹt, nước tràn ra đường gây ngập."
    with unit_of_work(sessions) as session:
        first = create_report(
            session,
            data=ReportCreate(
                content=text,
                category="cap_thoat_nuoc",
                channel="zalo",
                commune_name="Phường Long Châu",
                commune_code="29551",
                lat=10.2537,
                lon=105.9722,
            ),
            settings=open311_settings,
            now=utcnow(),
        )
        first_id = first.id
    [created] = submit(open311, api_key, description=text, service_code="cap_thoat_nuoc").json()
    with sessions() as session:
        repeat = session.scalar(select(Report).where(Report.code == created["service_request_id"]))
        assert repeat is not None
        candidate = session.scalar(
            select(DuplicateCandidate).where(DuplicateCandidate.report_id == repeat.id)
        )
    assert candidate is not None and candidate.cluster_report_id == first_id
