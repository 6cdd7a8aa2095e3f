"""The console's outbox page: messages to citizens by delivery state, and sending dead ones again.

GET /console/outbox lists the messages of one state (dead letters by default),
optionally of one channel, a page at a time. "Gửi lại" (POST, CSRF) puts one dead
message back in the queue; "Gửi lại tất cả" does so for every dead message of the
filtered channel (`backend.notifications.resend`, audited). Intake staff and
administrators only; everyone else gets 403.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from backend.console import deliveries, pages
from backend.console.templating import templates
from backend.db import unit_of_work, utcnow
from backend.errors import DomainError
from backend.notifications import resend
from backend.notifications.models import OUTBOX_DEAD
from backend.settings import Settings
from backend.staff.deps import CsrfStaff, CurrentStaff, Staff, client_ip

router = APIRouter(prefix="/console", include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}
STATE_OPTIONS = {
    "dead": "Gửi thất bại",
    "pending": "Đang chờ gửi",
    "sent": "Đã gửi",
    "rerouted": "Đã chuyển kênh khác",
    "delivered_inline": "Đã trả lời ngay (web)",
}
FLASH = {
    "resent": "Đã đưa tin nhắn vào hàng chờ gửi lại.",
    "resent_all": "Đã đưa {n} tin nhắn vào hàng chờ gửi lại.",
    "none": "Không có tin nhắn gửi thất bại nào để gửi lại.",
}
CHANNEL_MAX = 32


def _refused(request: Request, staff: Staff) -> Response | None:
    if resend.may_resend(staff.role):
        return None
    return pages.error_page(request, status=403, staff=staff)


def _state(value: str | None) -> str:
    return value if value in STATE_OPTIONS else OUTBOX_DEAD


def _channel(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value and len(value) <= CHANNEL_MAX and value.isascii() else None


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 7 else 1


def _flash(request: Request) -> str | None:
    text = FLASH.get(request.query_params.get("flash", ""))
    count = request.query_params.get("n", "")
    return text.format(n=int(count) if count.isdigit() and len(count) < 7 else 0) if text else None


def _query(status: str, channel: str | None, **extra: object) -> str:
    pairs = [("status", status)] + ([("channel", channel)] if channel else [])
    return urlencode(pairs + [(k, str(v)) for k, v in extra.items()])


@router.get("/outbox")
def outbox_page(request: Request, staff: CurrentStaff) -> Response:
    """Messages to citizens in one delivery state; dead letters first of all."""
    refused = _refused(request, staff)
    if refused is not None:
        return refused
    params = request.query_params
    status, channel = _state(params.get("status")), _channel(params.get("channel"))
    settings: Settings = request.app.state.settings
    with request.app.state.sessions() as session:
        listing = deliveries.outbox_listing(
            session,
            status=status,
            channel=channel,
            page=_page_number(params.get("page")),
            page_size=settings.console.page_size,
        )
        context = {
            "listing": listing,
            "status": status,
            "channel": channel,
            "states": STATE_OPTIONS,
            "channels": {
                c: deliveries.channel_label(c) for c in deliveries.outbox_channels(session)
            },
            "query": _query(status, channel),
            "flash": _flash(request),
        }
    return templates.TemplateResponse(
        request, "outbox.html", pages.base_context(request, staff, **context), headers=NO_STORE
    )


def _back(status: str, channel: str | None, **flash: object) -> RedirectResponse:
    return RedirectResponse(f"/console/outbox?{_query(status, channel, **flash)}", status_code=303)


@router.post("/outbox/resend-all")
def resend_all(
    request: Request,
    staff: CsrfStaff,
    channel: Annotated[str, Form(max_length=CHANNEL_MAX)] = "",
) -> Response:
    """Every dead message (of the filtered channel) back in the queue, audited one by one."""
    refused = _refused(request, staff)
    if refused is not None:
        return refused
    chosen = _channel(channel)
    with unit_of_work(request.app.state.sessions) as session:
        count = resend.resend_dead(
            session,
            actor_id=staff.id,
            role=staff.role,
            now=utcnow(),
            channel=chosen,
            client_ip=client_ip(request),
        )
    if not count:
        return _back(OUTBOX_DEAD, chosen, flash="none")
    return _back(OUTBOX_DEAD, chosen, flash="resent_all", n=count)


@router.post("/outbox/{message_id}/resend")
def resend_one(
    request: Request,
    message_id: int,
    staff: CsrfStaff,
    channel: Annotated[str, Form(max_length=CHANNEL_MAX)] = "",
) -> Response:
    """One dead message back in the queue; the dispatcher sends it like a new one."""
    refused = _refused(request, staff)
    if refused is not None:
        return refused
    try:
        with unit_of_work(request.app.state.sessions) as session:
            resend.resend(
                session,
                message_id=message_id,
                actor_id=staff.id,
                role=staff.role,
                now=utcnow(),
                client_ip=client_ip(request),
            )
    except DomainError as exc:
        return pages.error_page(request, status=exc.status_code, staff=staff, message=exc.message)
    return _back(OUTBOX_DEAD, _channel(channel), flash="resent")
