"""The console's "Cụm phản ánh trùng": the section on the report page, its two buttons (CSRF,
the workflow's authorization) and the "N trùng" badge in the inbox, on both databases."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from backend.clusters.models import DuplicateCandidate
from backend.db import make_session_factory
from backend.reports.models import Report
from backend.settings import Settings
from tests.console.conftest import LoginAs
from tests.console.test_inbox import add_report

LAMP = "Đèn đường trước chợ Long Châu bị hư, tối om không đi được"
LAMP_AGAIN = "Den duong truoc cho Long Chau bi hu, buoi toi rat toi"
COMMUNE = "31153"


def cluster(engine: Engine, settings: Settings) -> tuple[str, str, int]:
    """Two reports of one broken lamp, the second a candidate: (primary, member, candidate id)."""
    common: dict[str, Any] = {"category": "dien_chieu_sang", "commune_code": COMMUNE}
    primary = add_report(engine, settings, content=LAMP, ago=timedelta(days=1), **common)
    member = add_report(engine, settings, content=LAMP_AGAIN, **common)
    with make_session_factory(engine)() as session:
        found = session.scalar(
            select(DuplicateCandidate).join(Report, Report.id == DuplicateCandidate.report_id)
        )
        assert found is not None
        return primary, member, found.id


def fetch(engine: Engine, code: str) -> tuple[str, int | None, str | None]:
    """(status, merged into id, the candidate's status)."""
    with make_session_factory(engine)() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        decided = session.scalar(
            select(DuplicateCandidate.status).where(DuplicateCandidate.report_id == report.id)
        )
        return report.status, report.merged_into_id, decided


def report_id(engine: Engine, code: str) -> int:
    with make_session_factory(engine)() as session:
        found = session.scalar(select(Report.id).where(Report.code == code))
        assert found is not None
        return found


def section(html: str) -> str:
    assert 'id="cluster"' in html, "no cluster section"
    return html.split('id="cluster"')[1].split("</section>")[0]


def decide(client: TestClient, candidate: int, decision: str, **data: str) -> Any:
    return client.post(
        f"/console/duplicates/{candidate}/{decision}",
        data={"csrf_token": client.csrf, **data},  # type: ignore[attr-defined]
        headers={"accept": "text/html"},
        follow_redirects=False,
    )


def badge(html: str, code: str) -> str | None:
    row = re.search(rf'data-code="{code}">(.*?)</tr>', html, re.S)
    assert row, f"row {code} missing"
    found = re.search(r'class="badge duplicates"[^>]*>([^<]+)<', row.group(1))
    return found.group(1) if found else None


def test_the_section_lists_the_candidate_and_the_inbox_badges_the_primary(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    primary, member, candidate = cluster(engine, console_settings)
    alone = add_report(engine, console_settings, content="Trường học thiếu nước sạch")
    intake = login_as("intake")
    on_primary = section(intake.get(f"/console/reports/{primary}").text)
    assert "Cụm phản ánh trùng" in on_primary
    assert f'data-code="{member}"' in on_primary and f'data-candidate="{candidate}"' in on_primary
    assert f'action="/console/duplicates/{candidate}/confirm"' in on_primary
    assert "Xác nhận trùng" in on_primary and "Không trùng" in on_primary
    on_member = section(intake.get(f"/console/reports/{member}").text)
    assert f'href="/console/reports/{primary}"' in on_member
    assert 'id="cluster"' not in intake.get(f"/console/reports/{alone}").text
    inbox = intake.get("/console/reports").text
    assert badge(inbox, primary) == "1 trùng"
    assert badge(inbox, member) is None and badge(inbox, alone) is None


def test_confirm_merges_the_candidate_into_the_primary(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    primary, member, candidate = cluster(engine, console_settings)
    intake = login_as("intake")
    response = decide(intake, candidate, "confirm")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/console/reports/{primary}")
    assert fetch(engine, member) == ("merged", report_id(engine, primary), "confirmed")
    page = section(intake.get(f"/console/reports/{primary}").text)
    assert "Đã xác nhận trùng" in page and "Xác nhận trùng</button>" not in page
    assert 'data-cluster-size="2"' in page
    again = decide(intake, candidate, "confirm")  # decided once
    assert again.status_code == 409


def test_dismiss_keeps_the_report_apart(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    primary, member, candidate = cluster(engine, console_settings)
    specialist = login_as("specialist")  # dien_luc: the lamp's unit; may dismiss, not merge
    page = section(specialist.get(f"/console/reports/{primary}").text)
    assert "Không trùng" in page and "Xác nhận trùng" not in page
    assert decide(specialist, candidate, "dismiss").status_code == 303
    assert fetch(engine, member) == ("received", None, "dismissed")
    assert 'id="cluster"' not in specialist.get(f"/console/reports/{member}").text
    assert badge(specialist.get("/console/reports").text, primary) is None


def test_other_units_and_missing_csrf_are_refused(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    _, member, candidate = cluster(engine, console_settings)
    other = login_as("leader", unit_id="so_xay_dung")
    for decision in ("confirm", "dismiss"):
        refused = decide(other, candidate, decision)
        assert refused.status_code == 403
        assert "không có quyền" in refused.text
    intake = login_as("intake")
    forged = decide(intake, candidate, "confirm", csrf_token="")
    assert forged.status_code == 403
    assert decide(intake, 999_999, "confirm").status_code == 404
    assert fetch(engine, member) == ("received", None, "candidate")
