"""Console routes for staff accounts: login, logout and the administrator's account pages.

Login is protected against CSRF by a double-submit cookie (the form's token must
match the `paht_login_csrf` cookie set with the form); after login every POST
carries the session's own CSRF token (`CsrfStaff`).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.console.templating import templates
from backend.db import unit_of_work, utcnow
from backend.errors import DomainError, Forbidden
from backend.reports.workflow import ROLE_LABELS, Role
from backend.settings import Settings
from backend.staff import service
from backend.staff.deps import CsrfStaff, CurrentStaff, Staff, client_ip
from backend.staff.service import SESSION_COOKIE

router = APIRouter(tags=["console"])

LOGIN_CSRF_COOKIE = "paht_login_csrf"
DEFAULT_TARGET = "/console/reports"
LOGIN_FORM_EXPIRED = "Biểu mẫu đăng nhập đã hết hạn, vui lòng đăng nhập lại."
ADMIN_ONLY = "Chỉ quản trị viên được quản lý tài khoản."

FormStr = Annotated[str, Form()]


def safe_target(target: str | None) -> str:
    """`target` if it is a console path on this site, else the inbox (no open redirect)."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return DEFAULT_TARGET
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return DEFAULT_TARGET
    if parts.path != "/console" and not parts.path.startswith("/console/"):
        return DEFAULT_TARGET
    return target


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _login_page(
    request: Request, *, next_url: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    context = {
        "staff": None,
        "province": _settings(request).province.name,
        "next": next_url,
        "login_csrf": token,
        "error": error,
    }
    response = templates.TemplateResponse(request, "login.html", context, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/console/login",
        httponly=True,
        samesite="lax",
        secure=_settings(request).console.secure_cookies,
    )
    return response


@router.get("/console/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = DEFAULT_TARGET) -> HTMLResponse:
    return _login_page(request, next_url=safe_target(next))


@router.post("/console/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: FormStr = "",
    password: FormStr = "",
    next: FormStr = DEFAULT_TARGET,
    csrf_token: FormStr = "",
) -> Response:
    next_url = safe_target(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return _login_page(request, next_url=next_url, error=LOGIN_FORM_EXPIRED, status_code=403)
    settings, now, ip = _settings(request), utcnow(), client_ip(request)
    refused: DomainError | None = None
    with unit_of_work(request.app.state.sessions) as session:  # commits recorded failures too
        try:
            user = service.authenticate(
                session,
                username=username,
                password=password,
                client_ip=ip,
                settings=settings,
                now=now,
            )
        except (service.LoginRefused, service.TooManyAttempts) as exc:
            refused = exc
        else:
            token, _ = service.start_session(session, user=user, settings=settings, now=now)
            service.audit(session, actor_id=user.id, action="login", now=now, client_ip=ip)
    if refused is not None:
        return _login_page(
            request, next_url=next_url, error=refused.message, status_code=refused.status_code
        )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.console.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.console.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/console/logout")
def logout(request: Request, staff: CsrfStaff) -> RedirectResponse:
    with unit_of_work(request.app.state.sessions) as session:
        service.end_session(session, token=request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _require_admin(staff: Staff) -> None:
    if staff.role is not Role.ADMIN:
        raise Forbidden(ADMIN_ONLY)


def _users_page(
    request: Request,
    staff: Staff,
    *,
    flash: str | None = None,
    flash_kind: str = "ok",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = _settings(request)
    with request.app.state.sessions() as session:
        users = service.list_users(session)
    context: dict[str, Any] = {
        "staff": staff,
        "province": settings.province.name,
        "users": users,
        "roles": ROLE_LABELS,
        "units": settings.units,
        "unit_names": settings.unit_names(),
        "form": form or {},
        "flash": flash,
        "flash_kind": flash_kind,
    }
    return templates.TemplateResponse(request, "users.html", context, status_code=status_code)


@router.get("/console/users", response_class=HTMLResponse)
def users_page(
    request: Request, staff: CurrentStaff, added: str = "", deactivated: str = ""
) -> HTMLResponse:
    _require_admin(staff)
    flash = None
    if added:
        flash = f"Đã tạo tài khoản “{added}”."
    elif deactivated:
        flash = f"Đã khóa tài khoản “{deactivated}”."
    return _users_page(request, staff, flash=flash)


@router.post("/console/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    staff: CsrfStaff,
    username: FormStr = "",
    full_name: FormStr = "",
    role: FormStr = "",
    unit_id: FormStr = "",
    password: FormStr = "",
) -> Response:
    _require_admin(staff)
    now = utcnow()
    try:
        with unit_of_work(request.app.state.sessions) as session:
            user = service.create_user(
                session,
                username=username,
                full_name=full_name,
                password=password,
                role=role,
                unit_id=unit_id,
                settings=_settings(request),
                now=now,
            )
            service.audit(
                session,
                actor_id=staff.id,
                action="user_add",
                now=now,
                client_ip=client_ip(request),
                detail={
                    "user_id": user.id,
                    "username": user.username,
                    "role": user.role,
                    "unit_id": user.unit_id,
                },
            )
    except DomainError as exc:
        form = {"username": username, "full_name": full_name, "role": role, "unit_id": unit_id}
        return _users_page(
            request,
            staff,
            flash=exc.message,
            flash_kind="error",
            form=form,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/console/users?added={user.username}", status_code=303)


@router.post("/console/users/{user_id}/deactivate")
def deactivate_user(request: Request, staff: CsrfStaff, user_id: int) -> RedirectResponse:
    _require_admin(staff)
    now = utcnow()
    with unit_of_work(request.app.state.sessions) as session:
        user = service.deactivate_user(session, user_id=user_id, actor_id=staff.id)
        service.audit(
            session,
            actor_id=staff.id,
            action="user_deactivate",
            now=now,
            client_ip=client_ip(request),
            detail={"user_id": user.id, "username": user.username},
        )
    return RedirectResponse(f"/console/users?deactivated={user.username}", status_code=303)
