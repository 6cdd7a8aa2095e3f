"""The authorisation matrix through the console's real routes: every role x every action x
own/other unit → done (303) or refused (403/409), and a refusal changes nothing.

The service-level matrix (tests/backend/test_authz_matrix.py) covers every status; this
one proves the HTTP layer adds no way around it. Expectations are written out here by hand,
not read from the transition table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from backend.db import make_session_factory
from backend.notifications.models import OutboxMessage
from backend.reports.models import Report, ReportEvent
from backend.settings import Settings
from tests.console.conftest import LoginAs
from tests.console.test_inbox import add_report

OWN, OTHER = "dien_luc", "ubnd_phuoc_hau"
COMMENT = {"comment": "Ghi chú kiểm thử"}

# action → (status the report is in, extra report fields, form data, roles allowed to do it)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, str], set[str]]] = {
    "classify": ("received", {}, {"category": "dien_chieu_sang"}, {"intake"}),
    "relocate": ("assigned", {}, {"location_detail": "hẻm 12"}, {"intake", "specialist", "leader"}),
    "assign": ("classified", {}, {"unit_id": OWN}, {"intake"}),
    "accept": ("assigned", {}, {}, {"specialist", "leader"}),
    "save_draft": ("in_progress", {}, {"answer": "Đã sửa."}, {"specialist", "leader"}),
    "submit": ("in_progress", {}, {"answer": "Đã sửa."}, {"specialist", "leader"}),
    "approve": ("pending_approval", {"answer_draft": "<p>Đã sửa.</p>"}, {}, {"leader"}),
    "return": ("pending_approval", {"answer_draft": "<p>x</p>"}, COMMENT, {"leader"}),
    "reject": ("assigned", {}, COMMENT, {"leader"}),
    "merge": ("classified", {}, {}, {"intake"}),  # target filled in per case
    "request_extension": (
        "in_progress",
        {},
        {"extension_days": "3", **COMMENT},
        {"specialist", "leader"},
    ),
    "approve_extension": ("in_progress", {"extension_days": 3}, {}, {"leader"}),
    "deny_extension": ("in_progress", {"extension_days": 3}, {}, {"leader"}),
    "reopen": ("completed", {}, {}, {"intake", "leader"}),
    "comment": ("in_progress", {}, COMMENT, {"intake", "specialist", "leader"}),
}
# (role, unit of the staff member): province-wide roles have no "other unit".
PEOPLE = [
    ("intake", None),
    ("admin", None),
    ("specialist", OWN),
    ("specialist", OTHER),
    ("leader", OWN),
    ("leader", OTHER),
]


def _snapshot(engine: Engine, code: str) -> tuple[Any, ...]:
    with make_session_factory(engine)() as session:
        report = session.scalar(select(Report).where(Report.code == code))
        assert report is not None
        row = tuple(
            getattr(report, c.key) for c in Report.__table__.columns if c.key != "updated_at"
        )
        events = session.scalar(
            select(func.count()).select_from(ReportEvent).where(ReportEvent.report_id == report.id)
        )
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
        return row, events, outbox


def test_every_role_and_unit_against_every_action(
    login_as: LoginAs, engine: Engine, console_settings: Settings
) -> None:
    clients = {
        (role, unit): login_as(role, unit_id=unit) if unit else login_as(role)
        for role, unit in PEOPLE
    }
    for action in CASES:
        for (role, unit), client in clients.items():
            _check(action, role, unit, client, engine, console_settings)


def _check(
    action: str, role: str, unit: str | None, client: Any, engine: Engine, settings: Settings
) -> None:
    status, fields, form, allowed = CASES[action]
    code = add_report(
        engine,
        settings,
        category="dien_chieu_sang",
        status=status,
        unit_id=OWN,
        **fields,
    )
    data = dict(form)
    if action == "merge":
        data["target_code"] = add_report(engine, settings, unit_id=OWN)
    before = _snapshot(engine, code)
    response = client.post(
        f"/console/reports/{code}/actions/{action}",
        data={"csrf_token": client.csrf, **data},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    may = role in allowed and unit in (None, OWN)
    who = f"{role}@{unit}: {action} on a {status} report"
    if may:
        assert response.status_code == 303, (who, response.text[:300])
        assert _snapshot(engine, code) != before, who
    else:
        expected = {403} if unit == OTHER or role == "admin" else {403, 409}
        assert response.status_code in expected, (who, response.status_code)
        assert _snapshot(engine, code) == before, who
