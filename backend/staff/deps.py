"""FastAPI dependencies of the staff console: who is logged in, the CSRF check, the client address.

Every console page takes `CurrentStaff`; every console POST takes `CsrfStaff`, which
also checks the session's CSRF token (form field `csrf_token` or header X-CSRF-Token).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from backend.db import utcnow
from backend.errors import LoginRequired
from backend.reports.workflow import Actor, Role
from backend.settings import Settings
from backend.staff import service
from backend.staff.models import StaffUser
from backend.staff.service import SESSION_COOKIE

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CSRF_REFUSED = "Phiên làm việc không hợp lệ, vui lòng tải lại trang."


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member, as routes and templates see them."""

    id: int
    username: str
    full_name: str
    role: Role
    unit_id: str | None
    unit_name: str | None
    csrf_token: str

    @property
    def actor(self) -> Actor:
        return Actor(role=self.role, unit_id=self.unit_id)

    @classmethod
    def of(cls, user: StaffUser, *, settings: Settings, csrf_token: str) -> Staff:
        unit = settings.unit(user.unit_id)
        return cls(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=Role(user.role),
            unit_id=user.unit_id,
            unit_name=unit.name if unit else None,
            csrf_token=csrf_token,
        )


def current_staff(request: Request) -> Staff:
    """The staff member behind the session cookie; raises LoginRequired without a live one."""
    token = request.cookies.get(SESSION_COOKIE, "")
    found = None
    if token:
        with request.app.state.sessions() as session:
            found = service.resolve_session(session, token=token, now=utcnow())
    if found is None:
        raise LoginRequired("Vui lòng đăng nhập.")
    user, staff_session = found
    settings: Settings = request.app.state.settings
    return Staff.of(user, settings=settings, csrf_token=staff_session.csrf_token)


CurrentStaff = Annotated[Staff, Depends(current_staff)]


async def csrf_staff(request: Request, staff: CurrentStaff) -> Staff:
    """The current staff member, if the request carries their session's CSRF token (else 403)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)  # Starlette caches the parsed form
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), staff.csrf_token.encode()):
        raise HTTPException(status_code=403, detail=CSRF_REFUSED)
    return staff


CsrfStaff = Annotated[Staff, Depends(csrf_staff)]


def client_ip(request: Request) -> str:
    """The client's address as the server sees it (run uvicorn with --proxy-headers behind a
    reverse proxy, so this is the browser's and not the proxy's)."""
    return (request.client.host if request.client else "unknown")[:64]
