"""Staff decisions on duplicate candidates, and what the pages read about clusters.

`confirm` merges the candidate into its cluster's primary through the workflow
(`backend.reports.actions.perform`, MERGE: same authorization, timeline and
citizen notice as the merge button); `dismiss` records "not a duplicate".
`cluster_size` is what the public portal shows ("N người đã phản ánh vấn đề
này"): the report plus every report merged into it. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.clusters.models import CANDIDATE, CONFIRMED, DISMISSED, DuplicateCandidate
from backend.errors import Conflict, NotFound
from backend.reports import actions, workflow
from backend.reports.models import Report, ReportEvent
from backend.reports.queries import merged_ids
from backend.reports.workflow import OPEN_STATUSES, Action, Role
from backend.settings import Settings

NOT_DUPLICATE_EVENT = "not_duplicate"


@dataclass(frozen=True)
class Member:
    candidate: DuplicateCandidate
    report: Report


def candidate_for_decision(session: Session, *, candidate_id: int) -> DuplicateCandidate:
    """The candidate, locked (PostgreSQL) for the decision; NotFound if there is none."""
    stmt = select(DuplicateCandidate).where(DuplicateCandidate.id == candidate_id)
    found = session.scalar(stmt.with_for_update())
    if found is None:
        raise NotFound("Không tìm thấy phản ánh trùng này.")
    return found


def _undecided(candidate: DuplicateCandidate) -> None:
    if candidate.status != CANDIDATE:
        raise Conflict("Phản ánh này đã được xác nhận hoặc đánh dấu không trùng.")


def _reports(session: Session, candidate: DuplicateCandidate) -> tuple[Report, Report]:
    member = session.scalar(
        select(Report).where(Report.id == candidate.report_id).with_for_update()
    )
    primary = session.get(Report, candidate.cluster_report_id)
    if member is None or primary is None:
        raise NotFound("Không tìm thấy phản ánh.")
    return member, primary


def confirm(
    session: Session,
    *,
    candidate: DuplicateCandidate,
    actor: actions.StaffActor,
    settings: Settings,
    now: datetime,
) -> Report:
    """Merge the candidate's report into the cluster's primary (workflow MERGE); its reporter
    then hears every update of the primary. Returns the primary."""
    _undecided(candidate)
    member, primary = _reports(session, candidate)
    actions.perform(
        session,
        report=member,
        action=Action.MERGE,
        actor=actor,
        data=actions.ActionInput(target_code=primary.code),
        settings=settings,
        now=now,
    )
    candidate.status, candidate.decided_by, candidate.decided_at = CONFIRMED, actor.id, now
    session.flush()
    return primary


def dismiss(
    session: Session, *, candidate: DuplicateCandidate, actor: actions.StaffActor, now: datetime
) -> Report:
    """Record that the candidate is not a duplicate (staff who may change the report; not
    administrators). Returns the primary."""
    _undecided(candidate)
    member, primary = _reports(session, candidate)
    if actor.actor.role == Role.ADMIN or not workflow.can_see(actor.actor, member.unit_id):
        raise workflow.Forbidden("dismissing a duplicate outside the actor's reach")
    candidate.status, candidate.decided_by, candidate.decided_at = DISMISSED, actor.id, now
    member.events.append(
        ReportEvent(
            kind=NOT_DUPLICATE_EVENT,
            actor=f"staff:{actor.username}",
            actor_id=actor.id,
            data={"cluster": primary.code},
            created_at=now,
        )
    )
    session.flush()
    return primary


def cluster_of(session: Session, *, report: Report) -> Report | None:
    """The primary of the cluster `report` belongs to: itself if it has members, its primary if
    it is an undismissed candidate, else None."""
    as_member = session.scalar(
        select(DuplicateCandidate).where(
            DuplicateCandidate.report_id == report.id, DuplicateCandidate.status != DISMISSED
        )
    )
    if as_member is not None:
        return session.get(Report, as_member.cluster_report_id)
    has_members = session.scalar(
        select(DuplicateCandidate.id)
        .where(DuplicateCandidate.cluster_report_id == report.id)
        .limit(1)
    )
    return report if has_members is not None else None


def members(session: Session, *, primary: Report) -> list[Member]:
    """The cluster's candidates and confirmed members, oldest first (dismissed ones left out)."""
    stmt = (
        select(DuplicateCandidate, Report)
        .join(Report, Report.id == DuplicateCandidate.report_id)
        .where(
            DuplicateCandidate.cluster_report_id == primary.id,
            DuplicateCandidate.status != DISMISSED,
        )
        .order_by(DuplicateCandidate.id)
    )
    return [Member(c, r) for c, r in session.execute(stmt).all()]


def duplicate_counts(session: Session, *, report_ids: Collection[int]) -> dict[int, int]:
    """Open candidates and confirmed members per cluster primary, for the inbox badge."""
    if not report_ids:
        return {}
    stmt = (
        select(DuplicateCandidate.cluster_report_id, func.count())
        .join(Report, Report.id == DuplicateCandidate.report_id)
        .where(
            DuplicateCandidate.cluster_report_id.in_(list(report_ids)),
            (DuplicateCandidate.status == CONFIRMED)
            | (
                (DuplicateCandidate.status == CANDIDATE)
                & Report.status.in_([s.value for s in OPEN_STATUSES])
            ),
        )
        .group_by(DuplicateCandidate.cluster_report_id)
    )
    return {cluster: count for cluster, count in session.execute(stmt).all()}


def cluster_size(session: Session, report_id: int) -> int:
    """How many reports tell of this problem: the report and every report merged into it
    (confirmed duplicates included), however deep."""
    return len(merged_ids(session, report_id=report_id))
