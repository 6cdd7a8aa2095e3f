"""Clustering at creation: attach a new report to the open cluster it probably repeats.

One bounded query narrows the open reports down to the recent ones (the
`[duplicates]` window) in the same commune or inside a box around the new
report's position, of the same category when both are known, newest first and
at most `max_candidates`; `nlu.similar.find_similar` then scores them. The best
match's cluster (its primary if the match is itself a candidate, else the match)
gets the new report as a candidate, and its citizen is told in the same
transaction. Services flush, never commit.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from backend.clusters.models import CANDIDATE, DISMISSED, DuplicateCandidate
from backend.notifications import wording
from backend.notifications.citizen import KIND, recipient
from backend.notifications.service import enqueue
from backend.reports.models import Report
from backend.reports.workflow import OPEN_STATUSES
from backend.settings import DuplicateSettings, Settings
from nlu.similar import ReportSnapshot, SimilarReport, distance_m, find_similar

METRES_PER_DEGREE = 111_320.0


def snapshot(report: Report) -> ReportSnapshot:
    return ReportSnapshot(
        id=str(report.id),
        text=f"{report.title}\n{report.content}",
        created_at=report.created_at,
        commune_code=report.commune_code,
        lat=report.lat,
        lon=report.lon,
        category=report.category,
    )


def _has_position(report: Report) -> bool:
    return report.lat is not None and report.lon is not None


def _place_filter(report: Report, radius_m: float) -> ColumnElement[bool] | None:
    """Same commune, or inside the box around the position; None when the place is unknown."""
    parts: list[ColumnElement[bool]] = []
    if report.commune_code:
        parts.append(Report.commune_code == report.commune_code)
    if report.lat is not None and report.lon is not None:
        dlat = radius_m / METRES_PER_DEGREE
        dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(report.lat)), 0.01))
        parts.append(
            and_(
                Report.lat.between(report.lat - dlat, report.lat + dlat),
                Report.lon.between(report.lon - dlon, report.lon + dlon),
            )
        )
    return or_(*parts) if parts else None


def open_neighbours(
    session: Session, *, report: Report, config: DuplicateSettings, now: datetime
) -> list[Report]:
    """Recent open reports at the same place (and category, when known); bounded."""
    place = _place_filter(report, config.distance_m)
    if place is None:
        return []
    stmt = select(Report).where(
        Report.id != report.id,
        Report.status.in_(OPEN_STATUSES),
        Report.merged_into_id.is_(None),
        Report.created_at >= now - timedelta(days=config.window_days),
        place,
    )
    if report.category:
        stmt = stmt.where(or_(Report.category == report.category, Report.category.is_(None)))
    stmt = stmt.order_by(Report.created_at.desc()).limit(config.max_candidates)
    return [r for r in session.scalars(stmt) if _near(report, r, config.distance_m)]


def _near(new: Report, old: Report, radius_m: float) -> bool:
    if new.commune_code and new.commune_code == old.commune_code:
        return True
    if _has_position(new) and _has_position(old):
        assert new.lat is not None and new.lon is not None
        assert old.lat is not None and old.lon is not None
        return distance_m(new.lat, new.lon, old.lat, old.lon) <= radius_m
    return False


def _primary(session: Session, match: Report) -> Report:
    """The cluster `match` belongs to: its primary if it is a candidate of an open one."""
    row = session.scalar(
        select(DuplicateCandidate).where(
            DuplicateCandidate.report_id == match.id, DuplicateCandidate.status != DISMISSED
        )
    )
    if row is not None:
        primary = session.get(Report, row.cluster_report_id)
        if primary is not None and primary.status in OPEN_STATUSES and not primary.merged_into_id:
            return primary
    return match


def attach_on_create(
    session: Session, *, report: Report, settings: Settings, now: datetime
) -> DuplicateCandidate | None:
    """Attach the new `report` to the best open cluster, if any, and queue its citizen's notice."""
    config = settings.duplicates
    if not config.enabled:
        return None
    pool = {str(r.id): r for r in open_neighbours(session, report=report, config=config, now=now)}
    if not pool:
        return None
    found = find_similar(
        snapshot(report),
        [snapshot(r) for r in pool.values()],
        now=now,
        limit=len(pool),
        min_score=config.min_score,
        min_text=config.min_text,
        max_age=timedelta(days=config.window_days),
    )
    if not found:
        return None
    primary = _primary(session, pool[found[0].id])
    best = next((s for s in found if s.id == str(primary.id)), found[0])
    candidate = _add(session, report=report, primary=primary, best=best, now=now)
    _tell_citizen(session, report=report, primary=primary, now=now)
    return candidate


def _add(
    session: Session, *, report: Report, primary: Report, best: SimilarReport, now: datetime
) -> DuplicateCandidate:
    candidate = DuplicateCandidate(
        report_id=report.id,
        cluster_report_id=primary.id,
        score=best.score,
        distance_m=round(best.distance_m, 1) if best.distance_m is not None else None,
        status=CANDIDATE,
        created_at=now,
    )
    session.add(candidate)
    session.flush()
    return candidate


def _tell_citizen(session: Session, *, report: Report, primary: Report, now: datetime) -> None:
    target = recipient(session, report=report)
    if target is None:
        return
    channel, to = target
    enqueue(
        session,
        key=f"cluster-candidate:{report.id}",
        channel=channel,
        recipient=to,
        kind=KIND,
        payload=wording.clustered(report.code, primary.code).reply().model_dump(mode="json"),
        now=now,
        report_id=report.id,
    )
