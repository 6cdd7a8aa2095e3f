"""Applying a staff action to a stored report: the workflow service.

`perform` asks the transition table first (`workflow.authorize`), so a refused action changes
nothing; then it validates the input (Vietnamese `DomainError` messages for the console),
applies the effect, records corrections of the NLU's category or place as training data,
writes one timeline event and queues what the citizen should hear. `rate` stores the
citizen's rating of an answer. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.errors import Conflict, DomainError, NotFound
from backend.notifications import wording
from backend.notifications.citizen import notify
from backend.reports import deadlines, workflow
from backend.reports.models import Correction, Report, ReportEvent
from backend.reports.routing import Place, place, route
from backend.reports.sanitize import clean_answer, clean_text, to_plain_text
from backend.reports.service import category_deadline, get_by_code
from backend.reports.workflow import Action, Actor, Status
from backend.settings import Settings
from backend.webhooks_out import events as webhook_events
from bot.messages import Button

__all__ = ["ActionInput", "StaffActor", "perform", "rate", "route"]

MAX_COMMENT = 4000
MAX_ANSWER = 50_000
MAX_EXTENSION_DAYS = 30

_COMMENT_PROMPTS = {
    Action.RETURN: "Hãy ghi rõ lý do trả lại.",
    Action.REJECT: "Hãy ghi rõ lý do từ chối (lý do sẽ được gửi cho người phản ánh).",
    Action.REQUEST_EXTENSION: "Hãy ghi rõ lý do xin gia hạn.",
    Action.COMMENT: "Nội dung ghi chú đang trống.",
}


@dataclass(frozen=True)
class ActionInput:
    comment: str | None = None
    category: str | None = None  # classify
    commune_name: str | None = None  # classify / relocate
    location_detail: str | None = None  # relocate
    lat: float | None = None
    lon: float | None = None
    unit_id: str | None = None  # assign (None: the routing rule decides)
    answer: str | None = None  # save_draft / submit (HTML, sanitised on the way in)
    target_code: str | None = None  # merge: the report this one duplicates
    extension_days: int | None = None  # request_extension


class StaffActor(Protocol):
    """What `perform` needs to know about the staff member (backend.staff.deps.Staff)."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def actor(self) -> Actor: ...


@dataclass
class _Step:
    """What an action changed (for the timeline) and what to tell the citizen."""

    changes: dict[str, Any] = field(default_factory=dict)
    notice: wording.Notice | None = None
    buttons: tuple[Button, ...] = ()  # for the report's own citizen
    others_notice: wording.Notice | None = None  # for reporters merged into it, if it differs


@dataclass(frozen=True)
class _Ctx:
    session: Session
    report: Report
    staff: StaffActor
    data: ActionInput
    settings: Settings
    now: datetime
    comment: str | None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)


def perform(
    session: Session,
    *,
    report: Report,
    action: Action,
    actor: StaffActor,
    data: ActionInput,
    settings: Settings,
    now: datetime,
) -> Report:
    """Apply `action`; raise workflow.Forbidden / NotAllowedNow / DomainError and change nothing."""
    before = Status(report.status)
    after = workflow.authorize(action, status=before, actor=actor.actor, report_unit=report.unit_id)
    comment = _comment(action, data.comment)
    ctx = _Ctx(session, report, actor, data, settings, now, comment)
    step = _HANDLERS[action](ctx)
    if after is not None:
        report.status = after.value
    report.updated_at = now
    event = ReportEvent(
        kind=action.value,
        actor=f"staff:{actor.username}",
        actor_id=actor.id,
        from_status=before.value,
        to_status=after.value if after is not None and after != before else None,
        comment=comment,
        data=step.changes or None,
        created_at=now,
    )
    report.events.append(event)
    session.flush()
    webhook_events.status_changed(
        session, report=report, before=before.value, settings=settings, now=now
    )
    if step.notice:
        notify(
            session,
            report=report,
            event=event,
            notice=step.notice,
            now=now,
            buttons=step.buttons,
            others=step.others_notice,
        )
    return report


def rate(
    session: Session, *, report: Report, score: int, comment: str | None, now: datetime
) -> Report:
    """Store the citizen's rating (3 rất hài lòng, 2 hài lòng, 1 chưa hài lòng); a new one wins."""
    if report.status != Status.COMPLETED:
        raise Conflict(f"Phản ánh mã {report.code} chưa có kết quả nên chưa thể đánh giá.")
    if isinstance(score, bool) or score not in (1, 2, 3):
        raise DomainError("Mức đánh giá không hợp lệ.")
    text = (comment or "").replace("\x00", "").strip()[:MAX_COMMENT] or None  # never refused
    previous = report.rating
    report.rating, report.rating_comment, report.rated_at = score, text, now
    report.updated_at = now
    report.events.append(
        ReportEvent(
            kind="rate",
            actor=f"citizen:{report.channel}",
            comment=text,
            data={"score": score, "previous": previous},
            created_at=now,
        )
    )
    session.flush()
    return report


# --- input -----------------------------------------------------------------------------


def _comment(action: Action, raw: str | None) -> str | None:
    text = clean_text(raw, limit=MAX_COMMENT, what="Ghi chú")
    if text is None and action in workflow.NEEDS_COMMENT:
        raise DomainError(_COMMENT_PROMPTS.get(action, "Hãy nhập ghi chú."))
    return text


# --- effects ---------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _deadline(ctx: _Ctx, *, start: datetime) -> datetime:
    """The category's deadline counted from `start`; urgent reports keep the hours rule."""
    return category_deadline(
        ctx.settings, category=ctx.report.category, urgent=ctx.report.urgent, start=start
    )


def _correct(ctx: _Ctx, kind: str, text: str, old: str | None, new: str) -> None:
    """Record what the NLU understood and what staff corrected it to: training data."""
    ctx.session.add(
        Correction(
            report_id=ctx.report.id,
            kind=kind,
            text=text,
            old_value=old,
            new_value=new,
            actor_id=ctx.staff.id,
            created_at=ctx.now,
        )
    )


def _staff_place(data: ActionInput, *, required: bool) -> Place:
    return place(
        commune_name=data.commune_name,
        location_detail=data.location_detail,
        lat=data.lat,
        lon=data.lon,
        required=required,
    )


def _apply_place(ctx: _Ctx, new: Place, step: _Step) -> None:
    r = ctx.report
    if new.commune_name is not None and new.commune_name != r.commune_name:
        _correct(ctx, "location", r.location_raw or r.content, r.commune_name, new.commune_name)
        step.changes["commune_name"] = [r.commune_name, new.commune_name]
        r.commune_name, r.commune_code = new.commune_name, None  # the old code no longer fits
    if new.location_detail is not None and new.location_detail != r.location_detail:
        step.changes["location_detail"] = [r.location_detail, new.location_detail]
        r.location_detail = new.location_detail
    if new.lat is not None and (new.lat, new.lon) != (r.lat, r.lon):
        step.changes["position"] = [[r.lat, r.lon], [new.lat, new.lon]]
        r.lat, r.lon = new.lat, new.lon


def _provisional_unit(ctx: _Ctx, step: _Step) -> None:
    """Before it is assigned, the report sits with the unit the routing rule names."""
    r = ctx.report
    if Status(r.status) not in (Status.RECEIVED, Status.CLASSIFIED):
        return
    unit_id = route(ctx.settings, category=r.category, commune_name=r.commune_name)
    if unit_id is not None and unit_id != r.unit_id:
        step.changes["unit_id"] = [r.unit_id, unit_id]
        r.unit_id = unit_id


def _clear_extension(report: Report) -> None:
    report.extension_days = report.extension_reason = None


def _classify(ctx: _Ctx) -> _Step:
    r, step = ctx.report, _Step()
    category = ctx.settings.category((ctx.data.category or "").strip() or None)
    if category is None:
        raise DomainError("Hãy chọn một lĩnh vực có trong danh mục.")
    where = _staff_place(ctx.data, required=False)
    if category.id != r.category:
        _correct(ctx, "category", r.content, r.category, category.id)
        step.changes["category"] = [r.category, category.id]
        r.category, r.category_source = category.id, "staff"
        old_due, r.due_at = r.due_at, _deadline(ctx, start=r.created_at)
        step.changes["due_at"] = [_iso(old_due), _iso(r.due_at)]
    _apply_place(ctx, where, step)
    _provisional_unit(ctx, step)
    return step


def _relocate(ctx: _Ctx) -> _Step:
    step = _Step()
    _apply_place(ctx, _staff_place(ctx.data, required=True), step)
    _provisional_unit(ctx, step)
    return step


def _assign(ctx: _Ctx) -> _Step:
    r = ctx.report
    wanted = (ctx.data.unit_id or "").strip() or route(
        ctx.settings, category=r.category, commune_name=r.commune_name
    )
    if wanted is None:
        raise DomainError("Chưa xác định được đơn vị xử lý: hãy chọn đơn vị.")
    unit = ctx.settings.unit(wanted)
    if unit is None:
        raise DomainError("Đơn vị xử lý không có trong danh sách.")
    step = _Step(changes={"unit_id": [r.unit_id, unit.id]})
    if unit.id == r.unit_id and Status(r.status) == Status.ASSIGNED:
        return step  # already there: nothing new to tell the citizen
    if unit.id != r.unit_id:
        r.assignee_id = None  # whoever handled it belongs to the previous unit
    r.unit_id = unit.id
    step.notice = wording.assigned(r.code, unit.name, wording.local_date(r.due_at, ctx.tz))
    return step


def _accept(ctx: _Ctx) -> _Step:
    r = ctx.report
    step = _Step(changes={"assignee_id": [r.assignee_id, ctx.staff.id]})
    r.assignee_id = ctx.staff.id
    return step


def _save_draft(ctx: _Ctx) -> _Step:
    if ctx.data.answer is None:
        raise DomainError("Chưa có nội dung dự thảo.")
    ctx.report.answer_draft = clean_answer(ctx.data.answer, limit=MAX_ANSWER)
    return _Step(changes={"answer_draft_chars": len(ctx.report.answer_draft or "")})


def _submit(ctx: _Ctx) -> _Step:
    r = ctx.report
    given = ctx.data.answer
    draft = (
        clean_answer(given, limit=MAX_ANSWER)
        if given is not None and given.strip()
        else r.answer_draft
    )
    if not draft or not to_plain_text(draft):
        raise DomainError("Chưa có nội dung trả lời để trình phê duyệt.")
    r.answer_draft = draft
    return _Step(changes={"answer_draft_chars": len(draft)})


def _approve(ctx: _Ctx) -> _Step:
    r = ctx.report
    draft = r.answer_draft
    if not draft or not to_plain_text(draft):
        raise DomainError("Chưa có dự thảo trả lời để phê duyệt.")
    r.answer, r.answered_at, r.completed_at = draft, ctx.now, ctx.now
    r.published = r.public_consent
    _clear_extension(r)
    return _Step(
        changes={"published": r.published},
        notice=wording.answer(r.code, to_plain_text(draft)),
        buttons=wording.rating_buttons(r.code),
        # Merged reporters are told the result; rating it is the first reporter's to do.
        others_notice=wording.answer(r.code, to_plain_text(draft), ask_rating=False),
    )


def _reject(ctx: _Ctx) -> _Step:
    _clear_extension(ctx.report)
    return _Step(notice=wording.rejected(ctx.report.code, ctx.comment or ""))


def _merge(ctx: _Ctx) -> _Step:
    r = ctx.report
    code = (ctx.data.target_code or "").strip()
    if not code:
        raise DomainError("Hãy nhập mã phản ánh cần gộp vào.")
    target = get_by_code(ctx.session, code=code)
    if target is None or not workflow.can_see(ctx.staff.actor, target.unit_id):
        raise NotFound(f"Không tìm thấy phản ánh mã {code}.")
    if target.id == r.id:
        raise DomainError("Không thể gộp một phản ánh vào chính nó.")
    if target.status in (Status.MERGED, Status.REJECTED):
        raise Conflict(f"Phản ánh mã {code} đã bị từ chối hoặc đã gộp, không thể gộp vào.")
    r.merged_into_id = target.id
    _clear_extension(r)
    return _Step(changes={"merged_into": target.code}, notice=wording.merged(r.code, target.code))


def _request_extension(ctx: _Ctx) -> _Step:
    r, days = ctx.report, ctx.data.extension_days
    if days is None or isinstance(days, bool) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise DomainError(f"Số ngày gia hạn phải từ 1 đến {MAX_EXTENSION_DAYS} ngày làm việc.")
    if r.extension_days is not None:
        raise Conflict("Đã có một yêu cầu gia hạn đang chờ duyệt.")
    r.extension_days, r.extension_reason = days, ctx.comment
    return _Step(changes={"extension_days": days})


def _pending_extension(report: Report) -> int:
    if report.extension_days is None:
        raise Conflict("Không có yêu cầu gia hạn nào đang chờ duyệt.")
    return report.extension_days


def _approve_extension(ctx: _Ctx) -> _Step:
    r = ctx.report
    days = _pending_extension(r)
    local = r.due_at.astimezone(ctx.tz)
    day = deadlines.add_working_days(local.date(), days, set(ctx.settings.holidays))
    old_due, r.due_at = r.due_at, datetime.combine(day, local.time(), tzinfo=ctx.tz)
    _clear_extension(r)
    return _Step(
        changes={"extension_days": days, "due_at": [_iso(old_due), _iso(r.due_at)]},
        notice=wording.extended(r.code, wording.local_date(r.due_at, ctx.tz)),
    )


def _deny_extension(ctx: _Ctx) -> _Step:
    days = _pending_extension(ctx.report)
    _clear_extension(ctx.report)
    return _Step(changes={"extension_days": days})


def _reopen(ctx: _Ctx) -> _Step:
    r = ctx.report
    r.reopened_count = (r.reopened_count or 0) + 1
    old_due, r.due_at = r.due_at, _deadline(ctx, start=ctx.now)
    r.completed_at = None
    return _Step(
        changes={"reopened_count": r.reopened_count, "due_at": [_iso(old_due), _iso(r.due_at)]},
        notice=wording.reopened(r.code, wording.local_date(r.due_at, ctx.tz)),
    )


def _nothing_else(ctx: _Ctx) -> _Step:
    """The status change (return: the draft stays for the next round) or the comment is all."""
    return _Step()


_HANDLERS: dict[Action, Callable[[_Ctx], _Step]] = {
    Action.CLASSIFY: _classify,
    Action.RELOCATE: _relocate,
    Action.ASSIGN: _assign,
    Action.ACCEPT: _accept,
    Action.SAVE_DRAFT: _save_draft,
    Action.SUBMIT: _submit,
    Action.APPROVE: _approve,
    Action.RETURN: _nothing_else,
    Action.REJECT: _reject,
    Action.MERGE: _merge,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.DENY_EXTENSION: _deny_extension,
    Action.REOPEN: _reopen,
    Action.COMMENT: _nothing_else,
}
