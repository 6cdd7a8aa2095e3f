"""The administrator's Zalo OA connection page: its state, and re-authorising the app (OAuth v4).

`GET /console/zalo` says whether the OA is connected, when the access token expires and
when the pair was last rotated — never a token. "Kết nối lại Zalo OA" posts (CSRF) to
`/console/zalo/connect`, which keeps a fresh PKCE code verifier in the database bound
to a random `state` (stored hashed) and to the admin, for `STATE_TTL`, and redirects to
Zalo's permission page. Zalo sends the browser back to `/console/zalo/callback?code=…&state=…`:
the state is consumed (single use; unknown, expired or another admin's → 400 with the
reason in Vietnamese), the code is exchanged through the adapter's `ZaloTokens`, which
stores the new pair before anything else, and the connection is audited.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.channels.token_models import ZaloOAuthState
from backend.channels.zalo_token_store import token_status
from backend.console import pages
from backend.console.templating import templates
from backend.db import unit_of_work, utcnow
from backend.reports.workflow import Role
from backend.settings import Settings
from backend.staff import service as staff_service
from backend.staff.deps import CsrfStaff, CurrentStaff, Staff, client_ip
from channels.zalo_tokens import TokenError, ZaloTokens

router = APIRouter(prefix="/console/zalo", include_in_schema=False)

STATE_TTL = timedelta(minutes=10)  # Zalo's authorization code lives 10 minutes too
NO_STORE = {"Cache-Control": "no-store"}
ADMIN_ONLY = "Chỉ quản trị viên được quản lý kết nối Zalo OA."
NOT_CONFIGURED = "Zalo OA chưa được cấu hình (thiếu app_id hoặc khóa bí mật) nên chưa thể kết nối."
STATE_UNKNOWN = (
    "Liên kết kết nối không hợp lệ hoặc đã được dùng. "
    "Vui lòng bấm “Kết nối lại Zalo OA” để thử lại."
)
STATE_EXPIRED = (
    "Liên kết kết nối đã hết hạn (quá 10 phút). Vui lòng bấm “Kết nối lại Zalo OA” để thử lại."
)
STATE_OTHER_ADMIN = (
    "Yêu cầu kết nối này do một quản trị viên khác khởi tạo. "
    "Vui lòng bấm “Kết nối lại Zalo OA” từ tài khoản của bạn."
)
NO_CODE = "Zalo không gửi mã cấp quyền (có thể bạn đã từ chối cấp quyền). Vui lòng thử lại."
REFUSED = "Zalo từ chối mã cấp quyền, chưa kết nối được. Vui lòng thử lại sau ít phút."
CONNECTED = "Đã kết nối lại Zalo OA."


def _tokens(request: Request) -> ZaloTokens | None:
    adapter = request.app.state.webhook_adapters.get("zalo")
    tokens = getattr(adapter, "tokens", None)
    return tokens if isinstance(tokens, ZaloTokens) else None


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """code_challenge = Base64URL(SHA-256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def _page(
    request: Request,
    staff: Staff,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    status = await token_status(settings.zalo, request.app.state.sessions)
    context: dict[str, Any] = {
        "configured": _tokens(request) is not None,
        "status": status,
        "expired": status is not None and status.expires_at <= utcnow(),
        "error": error,
    }
    context = pages.base_context(request, staff, **context)
    if flash:
        context["flash"] = flash
    return templates.TemplateResponse(
        request, "zalo.html", context, status_code=status_code, headers=NO_STORE
    )


@router.get("")
async def zalo_page(request: Request, staff: CurrentStaff, connected: str = "") -> Response:
    if staff.role is not Role.ADMIN:
        return pages.error_page(request, status=403, staff=staff, message=ADMIN_ONLY)
    return await _page(request, staff, flash=CONNECTED if connected else None)


@router.post("/connect")
async def connect(request: Request, staff: CsrfStaff) -> Response:
    """Start a grant: remember a PKCE verifier under a random state, then off to Zalo."""
    if staff.role is not Role.ADMIN:
        return pages.error_page(request, status=403, staff=staff, message=ADMIN_ONLY)
    tokens = _tokens(request)
    if tokens is None:
        return await _page(request, staff, error=NOT_CONFIGURED, status_code=409)
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32)  # 43 characters
    now = utcnow()

    def remember(session: Session) -> None:
        session.execute(delete(ZaloOAuthState).where(ZaloOAuthState.expires_at < now))
        session.add(
            ZaloOAuthState(
                state_hash=_state_hash(state),
                code_verifier=verifier,
                staff_id=staff.id,
                expires_at=now + STATE_TTL,
            )
        )
        _audit(session, request, staff, "zalo_connect_start", now)

    await _in_unit_of_work(request, remember)
    settings: Settings = request.app.state.settings
    redirect_uri = settings.public_base_url.rstrip("/") + "/console/zalo/callback"
    target = tokens.permission_url(redirect_uri, pkce_challenge(verifier), state)
    return RedirectResponse(target, status_code=303, headers=NO_STORE)


@router.get("/callback")
async def callback(
    request: Request, staff: CurrentStaff, code: str = "", state: str = ""
) -> Response:
    """Zalo's redirect after the grant: check and consume the state, exchange the code."""
    if staff.role is not Role.ADMIN:
        return pages.error_page(request, status=403, staff=staff, message=ADMIN_ONLY)
    tokens = _tokens(request)
    if tokens is None:
        return await _page(request, staff, error=NOT_CONFIGURED, status_code=409)
    now = utcnow()
    verifier, refusal = await _in_unit_of_work(
        request, lambda session: _consume_state(session, state, staff, now)
    )
    if refusal is None and not code:
        refusal = NO_CODE
    if refusal is not None or verifier is None:
        return await _page(request, staff, error=refusal or STATE_UNKNOWN, status_code=400)
    try:
        pair = await tokens.exchange_code(code, verifier)
    except TokenError as exc:
        detail = {"error": str(exc)[:200]}
        await _in_unit_of_work(
            request, lambda s: _audit(s, request, staff, "zalo_connect_failed", now, detail)
        )
        return await _page(request, staff, error=REFUSED, status_code=502)
    detail = {"expires_at": pair.expires_at.isoformat()}
    await _in_unit_of_work(
        request, lambda s: _audit(s, request, staff, "zalo_connect", now, detail)
    )
    return RedirectResponse("/console/zalo?connected=1", status_code=303)


def _consume_state(
    session: Session, state: str, staff: Staff, now: datetime
) -> tuple[str | None, str | None]:
    """(code verifier, None) for a live state of this admin, else (None, the reason)."""
    row = session.get(ZaloOAuthState, _state_hash(state)) if state else None
    if row is None:
        return None, STATE_UNKNOWN
    session.delete(row)  # single use, whatever happens next
    if row.expires_at <= now:
        return None, STATE_EXPIRED
    if row.staff_id != staff.id:
        return None, STATE_OTHER_ADMIN
    return row.code_verifier, None


def _audit(
    session: Session,
    request: Request,
    staff: Staff,
    action: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    staff_service.audit(
        session,
        actor_id=staff.id,
        action=action,
        now=now,
        client_ip=client_ip(request),
        detail=detail,
    )


async def _in_unit_of_work(request: Request, work: Any) -> Any:
    """Run `work(session)` in one committed transaction, off the event loop."""

    def run() -> Any:
        with unit_of_work(request.app.state.sessions) as session:
            return work(session)

    return await run_in_threadpool(run)
