"""Web routes: the Rasa-compatible REST webhook, the web chat page, its updates, media upload,
health.

The web chat cannot be pushed to: what staff send its citizen (status updates, the answer)
waits in the outbox on channel "web", and the page fetches it from GET /chat/updates.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import or_, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from backend.conversations.service import already_handled, handle_inbound
from backend.db import unit_of_work, utcnow
from backend.deps import Chat, SessionFactory
from backend.media import routes as media_routes
from backend.notifications.models import OUTBOX_PENDING, OUTBOX_SENT, OutboxMessage
from bot.messages import Reply
from channels import web

router = APIRouter()
router.include_router(media_routes.router)  # GET /media/{key}: files from the media store
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
log = logging.getLogger(__name__)
UPDATES_LIMIT = 50


@router.post("/webhooks/rest/webhook", tags=["channels"])
def rest_webhook(
    body: web.RestMessage,
    factory: SessionFactory,
    ctx: Chat,
) -> list[dict[str, Any]]:
    """Rasa REST channel: one message in, the bot's replies out."""
    try:
        msg = web.parse(body)
    except (web.BadMessage, ValidationError) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    try:
        with unit_of_work(factory) as session:
            replies = handle_inbound(session, msg=msg, ctx=ctx, now=utcnow())
    except IntegrityError:
        with factory() as session:  # a concurrent delivery of the same message id won
            earlier = already_handled(session, msg)
        if earlier is None:
            raise
        replies = earlier
    except OperationalError as exc:
        log.exception("database unavailable")
        raise HTTPException(status_code=503, detail="Hệ thống đang bận, vui lòng thử lại.") from exc
    return web.render(replies, body.sender)


@router.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    return RedirectResponse("/chat")


@router.get("/chat", response_class=HTMLResponse, tags=["web chat"])
def chat_page(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    return templates.TemplateResponse(request, "chat.html", {"province": settings.province.name})


@router.get("/chat/updates", tags=["web chat"])
def chat_updates(
    factory: SessionFactory,
    sender: Annotated[str, Query(pattern=web.SENDER_PATTERN)],
    after: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Messages staff sent this chat user after outbox id `after`, oldest first, each with its
    `id`; they count as delivered once fetched. The same `after` returns them again, so a lost
    response loses nothing: the page moves `after` to the last id it showed."""
    with unit_of_work(factory) as session:
        rows = _web_updates(session, sender=sender, after=after)
        now = utcnow()
        for row in rows:
            if row.status == OUTBOX_PENDING:
                row.status, row.sent_at = OUTBOX_SENT, now
        return [
            {"id": row.id, **web.render([Reply.model_validate(row.payload)], sender)[0]}
            for row in rows
        ]


def _web_updates(session: Session, *, sender: str, after: int) -> list[OutboxMessage]:
    """Rows after `after`, and any still pending before it: on PostgreSQL a transaction that
    took a smaller id may commit after a larger one was already fetched."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == web.NAME,
            OutboxMessage.recipient == sender,
            OutboxMessage.status.in_((OUTBOX_PENDING, OUTBOX_SENT)),
            or_(OutboxMessage.id > after, OutboxMessage.status == OUTBOX_PENDING),
        )
        .order_by(OutboxMessage.id)
        .limit(UPDATES_LIMIT)
    )
    return list(session.scalars(query))


@router.post("/chat/media", tags=["web chat"])
async def upload_media(
    request: Request, file: UploadFile, store: media_routes.MediaStoreDep
) -> dict[str, str]:
    """Check and store a photo/video/recording from the web chat; the chat then sends the
    returned store URL as message metadata, and the media step attaches it to the report."""
    limits = getattr(request.app.state, "media_limits", None)
    stored = await media_routes.store_upload(file, store=store, limits=limits)
    return {"url": store.url_for(stored.key), "kind": stored.kind}


@router.get("/healthz", tags=["ops"])
def healthz(factory: SessionFactory) -> JSONResponse:
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database unreachable")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
