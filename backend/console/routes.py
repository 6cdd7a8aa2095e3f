"""Console pages staff work in: the inbox, the report page, and the report's form posts.

GET pages take `CurrentStaff`; every POST takes `CsrfStaff`. A report outside
the viewer's scope answers 404 like an unknown code. Actions go through
`backend.reports.actions.perform` in one unit of work, then redirect back with
a flash key from a fixed list; refusals render a Vietnamese error page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend.console import pages, report_view
from backend.console.templating import templates
from backend.db import unit_of_work, utcnow
from backend.errors import DomainError
from backend.media import StoredMedia
from backend.media import routes as media_routes
from backend.reports import actions, workflow
from backend.reports.models import Attachment, ReportEvent
from backend.reports.workflow import Action
from backend.settings import Settings
from backend.staff import service as staff_service
from backend.staff.deps import CsrfStaff, CurrentStaff, Staff, client_ip

router = APIRouter(prefix="/console", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
T = TypeVar("T")


@router.get("")
def console_home() -> RedirectResponse:
    return RedirectResponse("/console/reports", status_code=303)


@router.get("/reports")
def inbox(request: Request, staff: CurrentStaff) -> Response:
    """The inbox: filters, search, sorting and paging inside the viewer's scope."""
    settings: Settings = request.app.state.settings
    with request.app.state.sessions() as session:
        context = pages.inbox_context(
            session,
            viewer=staff.actor,
            params=request.query_params,
            settings=settings,
            now=utcnow(),
        )
        return templates.TemplateResponse(
            request, "inbox.html", pages.base_context(request, staff, **context), headers=NO_STORE
        )


@router.get("/reports/{code}")
def report_page(request: Request, code: str, staff: CurrentStaff) -> Response:
    """One report, personal data masked."""
    return _guarded(request, staff, lambda: _render_report(request, staff, code, reveal=False))


@router.post("/reports/{code}/reveal")
def reveal(request: Request, code: str, staff: CsrfStaff) -> Response:
    """The report page with personal data unmasked, for this response only; audited."""
    if not report_view.may_reveal(staff.role):
        return pages.error_page(request, status=403, staff=staff)
    return _guarded(request, staff, lambda: _render_report(request, staff, code, reveal=True))


def _render_report(request: Request, staff: Staff, code: str, *, reveal: bool) -> Response:
    settings: Settings = request.app.state.settings
    now = utcnow()
    with unit_of_work(request.app.state.sessions) as session:
        report = report_view.visible_report(session, code=code, viewer=staff.actor)
        if reveal:
            staff_service.audit(
                session,
                actor_id=staff.id,
                action="view_pii",
                now=now,
                report_id=report.id,
                client_ip=client_ip(request),
            )
        context = report_view.report_context(
            session, report=report, actor=staff.actor, settings=settings, now=now, revealed=reveal
        )
        return templates.TemplateResponse(
            request, "report.html", pages.base_context(request, staff, **context), headers=NO_STORE
        )


class ActionForm(BaseModel):
    """An action form as posted; every field a string, converted by `to_input`."""

    model_config = ConfigDict(extra="ignore")

    comment: str = Field(default="", max_length=4000)
    category: str = Field(default="", max_length=64)
    commune_name: str = Field(default="", max_length=120)
    location_detail: str = Field(default="", max_length=1000)
    lat: str = Field(default="", max_length=32)
    lon: str = Field(default="", max_length=32)
    unit_id: str = Field(default="", max_length=64)
    answer: str = Field(default="", max_length=20000)
    target_code: str = Field(default="", max_length=16)
    extension_days: str = Field(default="", max_length=8)


def _number(value: str, *, low: float, high: float) -> float | None:
    if not value.strip():
        return None
    number = float(value.strip().replace(",", "."))
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(value)
    return number


def to_input(form: ActionForm) -> actions.ActionInput:
    """The workflow service's input; ValueError on a malformed number."""
    days = form.extension_days.strip()
    return actions.ActionInput(
        comment=form.comment.strip() or None,
        category=form.category or None,
        commune_name=form.commune_name.strip() or None,
        location_detail=form.location_detail.strip() or None,
        lat=_number(form.lat, low=-90, high=90),
        lon=_number(form.lon, low=-180, high=180),
        unit_id=form.unit_id or None,
        answer=form.answer.strip() or None,
        target_code=form.target_code.strip() or None,
        extension_days=int(days) if days else None,
    )


@router.post("/reports/{code}/actions/{action}")
def post_action(
    request: Request, code: str, action: str, staff: CsrfStaff, form: Annotated[ActionForm, Form()]
) -> Response:
    """Take one workflow action on the report, then back to its page with a flash message."""
    try:
        chosen = Action(action)
    except ValueError:
        return pages.error_page(request, status=404, staff=staff, message="Không có thao tác này.")
    try:
        data = to_input(form)
    except ValueError:
        return pages.error_page(
            request, status=422, staff=staff, message="Số liệu nhập vào không hợp lệ."
        )

    def run() -> Response:
        settings: Settings = request.app.state.settings
        with unit_of_work(request.app.state.sessions) as session:
            report = report_view.report_for_action(session, code=code)
            actions.perform(
                session,
                report=report,
                action=chosen,
                actor=staff,
                data=data,
                settings=settings,
                now=utcnow(),
            )
            target = f"/console/reports/{report.code}?flash={chosen.value}"
        return RedirectResponse(target, status_code=303)

    return _guarded(request, staff, run)


@router.post("/reports/{code}/answer-attachments")
async def attach_answer_file(
    request: Request,
    code: str,
    file: UploadFile,
    staff: CsrfStaff,
    store: media_routes.MediaStoreDep,
) -> Response:
    """Store a file for the answer (specialist or leader of the unit, while it is drafted)."""
    refused = await run_in_threadpool(
        _guarded, request, staff, lambda: _check_attach(request, staff, code)
    )
    if refused is not None:
        return refused
    limits = getattr(request.app.state, "media_limits", None)
    try:
        stored = await media_routes.store_upload(file, store=store, limits=limits)
    except HTTPException as exc:
        return pages.error_page(
            request, status=exc.status_code, staff=staff, message=str(exc.detail)
        )
    name = PurePosixPath((file.filename or "").replace("\\", "/")).name[:255] or None
    return await run_in_threadpool(
        _guarded, request, staff, lambda: _add_answer_file(request, staff, code, stored, name)
    )


def _check_attach(request: Request, staff: Staff, code: str) -> None:
    with request.app.state.sessions() as session:
        report = report_view.visible_report(session, code=code, viewer=staff.actor)
        _may_attach(report, staff)


def _may_attach(report: Any, staff: Staff) -> None:
    if staff.role not in report_view.ANSWER_FILE_ROLES:
        raise workflow.Forbidden("only the unit's specialists and leaders attach answer files")
    if not report_view.may_attach_answer_file(report, staff.actor):
        raise workflow.NotAllowedNow("answer files only while the answer is being prepared")


def _add_answer_file(
    request: Request, staff: Staff, code: str, stored: StoredMedia, filename: str | None
) -> Response:
    now = utcnow()
    with unit_of_work(request.app.state.sessions) as session:
        report = report_view.visible_report(session, code=code, viewer=staff.actor, lock=True)
        _may_attach(report, staff)
        report.attachments.append(
            Attachment(
                purpose="answer",
                status="stored",
                kind=stored.kind,
                storage_key=stored.key,
                thumbnail_key=stored.thumbnail_key,
                sha256=stored.sha256,
                filename=filename,
                mime_type=stored.mime,
                size_bytes=stored.size,
                created_at=now,
            )
        )
        report.events.append(
            ReportEvent(
                kind="answer_attachment",
                actor=f"staff:{staff.username}",
                actor_id=staff.id,
                data={"filename": filename, "storage_key": stored.key},
                created_at=now,
            )
        )
        report.updated_at = now
        target = f"/console/reports/{report.code}?flash=attached"
    return RedirectResponse(target, status_code=303)


def _guarded(request: Request, staff: Staff, run: Callable[[], T]) -> T | Response:
    """Run a page or action; domain and workflow refusals become the Vietnamese error page."""
    try:
        return run()
    except DomainError as exc:
        return pages.error_page(request, status=exc.status_code, staff=staff, message=exc.message)
