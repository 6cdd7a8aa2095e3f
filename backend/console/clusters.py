"""The console's duplicate clusters: the "Cụm phản ánh trùng" section and its two buttons.

Owns the section's context (the cluster the report belongs to, its members the viewer
can see, which buttons each offers), the POST routes "Xác nhận trùng" (the workflow's
MERGE, with its authorization) and "Không trùng" (CSRF like every console POST; a
refusal renders the Vietnamese error page: 403 for another unit's report). The inbox's
"N trùng" badge counts come from `service.duplicate_counts` (backend/console/pages.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from backend.clusters import service
from backend.clusters.models import CANDIDATE
from backend.console import pages
from backend.db import unit_of_work, utcnow
from backend.errors import DomainError
from backend.reports import workflow
from backend.reports.models import Report
from backend.reports.workflow import OPEN_STATUSES, Action, Role, Status
from backend.settings import Settings
from backend.staff.deps import CsrfStaff, Staff

router = APIRouter(prefix="/console", include_in_schema=False)


@dataclass(frozen=True)
class MemberView:
    id: int
    report: Report
    status: str
    score: float
    distance_m: float | None
    may_confirm: bool
    may_dismiss: bool


@dataclass(frozen=True)
class ClusterView:
    primary: Report
    members: list[MemberView]
    size: int  # the primary and the reports merged into it


def _may_merge(report: Report, actor: workflow.Actor) -> bool:
    if report.status not in OPEN_STATUSES:
        return False
    allowed = workflow.allowed_actions(
        status=Status(report.status), actor=actor, report_unit=report.unit_id
    )
    return Action.MERGE in allowed


def _may_dismiss(report: Report, actor: workflow.Actor) -> bool:
    return actor.role != Role.ADMIN and workflow.can_see(actor, report.unit_id)


def cluster_context(
    session: Session, *, report: Report, actor: workflow.Actor
) -> ClusterView | None:
    """The cluster shown on `report`'s page, or None when it belongs to none."""
    primary = service.cluster_of(session, report=report)
    if primary is None:
        return None
    shown: list[MemberView] = []
    for m in service.members(session, primary=primary):
        if not workflow.can_see(actor, m.report.unit_id):
            continue
        undecided = m.candidate.status == CANDIDATE and m.report.status in OPEN_STATUSES
        shown.append(
            MemberView(
                id=m.candidate.id,
                report=m.report,
                status=m.candidate.status,
                score=m.candidate.score,
                distance_m=m.candidate.distance_m,
                may_confirm=undecided and _may_merge(m.report, actor),
                may_dismiss=undecided and _may_dismiss(m.report, actor),
            )
        )
    return ClusterView(primary, shown, service.cluster_size(session, primary.id))


@router.post("/duplicates/{candidate_id}/confirm")
def confirm(request: Request, candidate_id: int, staff: CsrfStaff) -> Response:
    """ "Xác nhận trùng": merge the candidate into the cluster's primary."""
    settings: Settings = request.app.state.settings

    def run(session: Session) -> Report:
        candidate = service.candidate_for_decision(session, candidate_id=candidate_id)
        return service.confirm(
            session, candidate=candidate, actor=staff, settings=settings, now=utcnow()
        )

    return _decide(request, staff, run, flash=Action.MERGE.value)


@router.post("/duplicates/{candidate_id}/dismiss")
def dismiss(request: Request, candidate_id: int, staff: CsrfStaff) -> Response:
    """ "Không trùng": the candidate stays a report of its own."""

    def run(session: Session) -> Report:
        candidate = service.candidate_for_decision(session, candidate_id=candidate_id)
        return service.dismiss(session, candidate=candidate, actor=staff, now=utcnow())

    return _decide(request, staff, run, flash="")


def _decide(
    request: Request, staff: Staff, run: Callable[[Session], Report], *, flash: str
) -> Response:
    try:
        with unit_of_work(request.app.state.sessions) as session:
            primary = run(session)
            target = f"/console/reports/{primary.code}#cluster"
    except DomainError as exc:
        return pages.error_page(request, status=exc.status_code, staff=staff, message=exc.message)
    if flash:
        target = target.replace("#", f"?flash={flash}#")
    return RedirectResponse(target, status_code=303)
