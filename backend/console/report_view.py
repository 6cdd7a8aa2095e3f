"""What the console's report page shows: one report as its viewer may see it.

Owns the page context: the report looked up inside the viewer's scope (404
otherwise, so other units' reports do not even exist), personal data masked
unless this response is a recorded reveal, media grouped by kind, the
conversation transcript, duplicate candidates among the open reports the viewer
can see, the timeline with readable actors, and the action forms the workflow
table allows this viewer (with the routing rule's suggested unit and the answer
templates for the report's category).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clusters.intake import snapshot
from backend.console.clusters import cluster_context
from backend.console.deliveries import report_deliveries
from backend.console.pages import CHANNEL_LABELS
from backend.conversations.models import ConversationEvent
from backend.errors import NotFound
from backend.logs import mask_pii
from backend.reports import actions, queries, workflow
from backend.reports.models import Attachment, Report, ReportEvent
from backend.reports.service import CODE_RE
from backend.reports.workflow import OPEN_STATUSES, Action, Role, Status
from backend.settings import AnswerTemplate, Settings
from backend.staff.models import StaffUser
from nlu.similar import SimilarReport, find_similar

# Roles whose work needs the reporter's phone and unmasked text (after an audited reveal).
REVEAL_ROLES = frozenset({Role.INTAKE, Role.SPECIALIST, Role.LEADER})
# Roles that attach files to the answer, and the statuses in which they may.
ANSWER_FILE_ROLES = frozenset({Role.SPECIALIST, Role.LEADER})
ANSWER_FILE_STATUSES = frozenset({Status.IN_PROGRESS, Status.PENDING_APPROVAL})
TRANSCRIPT_LIMIT = 200
SIMILAR_POOL = 500
SIMILAR_MAX_AGE = timedelta(days=30)

EVENT_LABELS = {
    "created": "Tiếp nhận phản ánh",
    "location_from_photo": "Lấy vị trí từ ảnh",
    "answer_attachment": "Đính kèm tệp vào câu trả lời",
    "rate": "Người dân đánh giá",
    "citizen_info": "Người dân bổ sung thông tin",
    "not_duplicate": "Đánh dấu không trùng",
}
SOURCE_LABELS = {"nlu": "tự động (NLU)", "citizen": "người dân chọn", "staff": "cán bộ sửa"}
KIND_LABELS = {"image": "ảnh", "video": "video", "audio": "ghi âm", "file": "tệp"}
TRANSCRIPT_KINDS = {
    "image": "gửi ảnh",
    "video": "gửi video",
    "audio": "gửi ghi âm",
    "location": "gửi vị trí",
    "payload": "chọn một lựa chọn",
    "digits": "bấm phím",
    "call": "gọi đến tổng đài",
    "no_input": "không nói gì",
    "dial": "chuyển máy cho tổng đài viên",
    "hangup": "kết thúc cuộc gọi",
}
RATING_LABELS = {3: "Rất hài lòng", 2: "Hài lòng", 1: "Chưa hài lòng"}


def visible_report(
    session: Session, *, code: str, viewer: workflow.Actor, lock: bool = False
) -> Report:
    """The report with this code if the viewer may see it; NotFound otherwise (no leak).

    `lock` takes the row lock (PostgreSQL) before a change; SQLite's write lock is
    already held from BEGIN.
    """
    report = None
    if CODE_RE.match(code):
        stmt = queries.scoped(viewer).where(Report.code == code)
        report = session.scalar(stmt.with_for_update() if lock else stmt)
    if report is None:
        raise NotFound("Không tìm thấy phản ánh.")
    return report


def report_for_action(session: Session, *, code: str) -> Report:
    """The report an action names, locked, whoever's unit it is in: the workflow then
    refuses other units' reports with 403 (codes are public, so nothing leaks)."""
    report = None
    if CODE_RE.match(code):
        report = session.scalar(select(Report).where(Report.code == code).with_for_update())
    if report is None:
        raise NotFound("Không tìm thấy phản ánh.")
    return report


def may_reveal(role: Role) -> bool:
    return role in REVEAL_ROLES


def may_attach_answer_file(report: Report, actor: workflow.Actor) -> bool:
    return (
        actor.role in ANSWER_FILE_ROLES
        and workflow.can_see(actor, report.unit_id)
        and report.status in ANSWER_FILE_STATUSES
    )


@dataclass(frozen=True)
class MediaGroups:
    photos: list[Attachment] = field(default_factory=list)
    videos: list[Attachment] = field(default_factory=list)
    audio: list[Attachment] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    waiting: list[Attachment] = field(default_factory=list)  # pending or failed
    answer: list[Attachment] = field(default_factory=list)


def media_groups(report: Report) -> MediaGroups:
    groups = MediaGroups()
    for item in report.attachments:
        if item.status != "stored" or not item.storage_key:
            groups.waiting.append(item)
        elif item.purpose == "answer":
            groups.answer.append(item)
        else:
            by_kind = {"image": groups.photos, "video": groups.videos, "audio": groups.audio}
            by_kind.get(item.kind, groups.files).append(item)
    return groups


@dataclass(frozen=True)
class TranscriptLine:
    direction: str
    kind: str
    text: str
    at: datetime


def transcript(session: Session, *, report: Report, revealed: bool) -> list[TranscriptLine]:
    """The conversation behind the report, oldest first (the latest TRANSCRIPT_LIMIT lines)."""
    if report.conversation_id is None:
        return []
    stmt = (
        select(ConversationEvent)
        .where(ConversationEvent.conversation_id == report.conversation_id)
        .order_by(ConversationEvent.created_at.desc(), ConversationEvent.id.desc())
        .limit(TRANSCRIPT_LIMIT)
    )
    rows = reversed(list(session.scalars(stmt)))
    return [
        TranscriptLine(e.direction, e.kind, _shown(e.text or "", revealed=revealed), e.created_at)
        for e in rows
    ]


@dataclass(frozen=True)
class Duplicate:
    report: Report
    similar: SimilarReport


def duplicates(
    session: Session, *, report: Report, viewer: workflow.Actor, now: datetime
) -> list[Duplicate]:
    """Open reports the viewer can see that are probably the same problem, best first."""
    stmt = (
        queries.scoped(viewer)
        .where(
            Report.status.in_(OPEN_STATUSES),
            Report.id != report.id,
            Report.created_at >= now - SIMILAR_MAX_AGE,
        )
        .order_by(Report.created_at.desc())
        .limit(SIMILAR_POOL)
    )
    pool = {str(r.id): r for r in session.scalars(stmt)}
    found = find_similar(
        snapshot(report), [snapshot(r) for r in pool.values()], now=now, max_age=SIMILAR_MAX_AGE
    )
    return [Duplicate(pool[s.id], s) for s in found]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    who: str
    what: str
    from_status: str | None
    to_status: str | None
    comment: str | None


def _who(event: ReportEvent, staff: dict[int, StaffUser]) -> str:
    user = staff.get(event.actor_id) if event.actor_id is not None else None
    if user is not None:
        return f"{user.full_name} ({workflow.ROLE_LABELS.get(Role(user.role), user.role)})"
    kind, _, detail = event.actor.partition(":")
    if kind == "citizen":
        return f"Người dân ({CHANNEL_LABELS.get(detail, detail)})"
    if kind == "staff":
        return f"Cán bộ {detail}"
    return "Hệ thống"


def _what(kind: str) -> str:
    if kind in EVENT_LABELS:
        return EVENT_LABELS[kind]
    try:
        return workflow.ACTION_LABELS[Action(kind)]
    except ValueError:
        return kind


def timeline(session: Session, *, report: Report) -> list[TimelineEntry]:
    ids = {e.actor_id for e in report.events if e.actor_id is not None}
    users = session.scalars(select(StaffUser).where(StaffUser.id.in_(ids))).all() if ids else []
    staff = {u.id: u for u in users}
    return [
        TimelineEntry(
            e.created_at, _who(e, staff), _what(e.kind), e.from_status, e.to_status, e.comment
        )
        for e in report.events
    ]


@dataclass(frozen=True)
class ActionForms:
    """The actions offered to this viewer, and what their forms need."""

    allowed: list[Action]
    suggested_unit: str | None
    templates: list[AnswerTemplate]
    attach_answer_files: bool

    def has(self, action: str) -> bool:
        return Action(action) in self.allowed

    def needs_comment(self, action: Action) -> bool:
        return action in workflow.NEEDS_COMMENT

    @property
    def other(self) -> list[Action]:
        """Actions without a form of their own: a button with an optional or required comment."""
        special = {
            Action.CLASSIFY,
            Action.RELOCATE,
            Action.ASSIGN,
            Action.SAVE_DRAFT,
            Action.SUBMIT,
            Action.MERGE,
            Action.REQUEST_EXTENSION,
        }
        return [a for a in self.allowed if a not in special]


def action_forms(report: Report, *, actor: workflow.Actor, settings: Settings) -> ActionForms:
    allowed = workflow.allowed_actions(
        status=Status(report.status), actor=actor, report_unit=report.unit_id
    )
    suggested = report.unit_id
    if Action.ASSIGN in allowed:
        routed = actions.route(settings, category=report.category, commune_name=report.commune_name)
        suggested = routed or report.unit_id
    offered = [t for t in settings.answer_templates if t.category in (None, report.category)]
    return ActionForms(allowed, suggested, offered, may_attach_answer_file(report, actor))


def _shown(text: str, *, revealed: bool) -> str:
    return text if revealed else mask_pii(text)


def report_context(
    session: Session,
    *,
    report: Report,
    actor: workflow.Actor,
    settings: Settings,
    now: datetime,
    revealed: bool,
) -> dict[str, Any]:
    """Everything report.html shows, for this viewer; `revealed` only after an audit entry."""
    category = settings.category(report.category)
    unit = settings.unit(report.unit_id)
    map_pin = None
    if report.lat is not None and report.lon is not None:
        map_pin = {
            "lat": report.lat,
            "lon": report.lon,
            "tile_url": settings.console.tile_url,
            "attribution": settings.console.tile_attribution,
        }
    return {
        "report": report,
        "revealed": revealed,
        "may_reveal": may_reveal(actor.role) and not revealed,
        "content": _shown(report.content, revealed=revealed),
        "location_raw": _shown(report.location_raw or "", revealed=revealed),
        "category_name": category.name if category else None,
        "channel_label": CHANNEL_LABELS.get(report.channel, report.channel),
        "source_label": SOURCE_LABELS.get(report.category_source, report.category_source),
        "unit_name": unit.name if unit else report.unit_id,
        "rating_label": RATING_LABELS.get(report.rating or 0),
        "is_open": report.status in OPEN_STATUSES,
        "overdue": report.status in OPEN_STATUSES and report.due_at < now,
        "map": map_pin,
        "kind_labels": KIND_LABELS,
        "transcript_kinds": TRANSCRIPT_KINDS,
        "media": media_groups(report),
        "transcript": transcript(session, report=report, revealed=revealed),
        "duplicates": duplicates(session, report=report, viewer=actor, now=now),
        "cluster": cluster_context(session, report=report, actor=actor),
        "timeline": timeline(session, report=report),
        "deliveries": report_deliveries(session, report_id=report.id, revealed=revealed),
        "forms": action_forms(report, actor=actor, settings=settings),
        "categories": settings.category_names(),
        "units": settings.unit_names(),
        "merged_into": session.get(Report, report.merged_into_id)
        if report.merged_into_id
        else None,
    }
