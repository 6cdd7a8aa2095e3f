"""Web routes: the Rasa-compatible REST webhook, the web chat page, media upload, health."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from backend.conversations.service import already_handled, handle_inbound
from backend.db import unit_of_work, utcnow
from backend.deps import Chat, SessionFactory
from channels import web

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
log = logging.getLogger(__name__)

MEDIA_DIR = Path("var/media")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "audio/mpeg": ".mp3",
}


@router.post("/webhooks/rest/webhook", tags=["channels"])
def rest_webhook(
    body: web.RestMessage,
    factory: SessionFactory,
    ctx: Chat,
) -> list[dict[str, Any]]:
    """Rasa REST channel: one message in, the bot's replies out."""
    try:
        msg = web.parse(body)
    except web.BadMessage as exc:
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


@router.post("/chat/media", tags=["web chat"])
async def upload_media(file: UploadFile) -> dict[str, str]:
    """Store a photo/video from the web chat; the chat then sends its URL as message metadata."""
    suffix = UPLOAD_TYPES.get(file.content_type or "")
    if suffix is None:
        raise HTTPException(
            status_code=415, detail="Chỉ nhận ảnh JPEG/PNG/WebP, video MP4, âm thanh MP3."
        )
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(status_code=413, detail="Tệp quá lớn (tối đa 10 MB).")
    if not data:
        raise HTTPException(status_code=422, detail="Tệp rỗng.")
    MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}{suffix}"
    (MEDIA_DIR / name).write_bytes(data)
    kind = (file.content_type or "image").split("/")[0]
    return {"url": f"/media/{name}", "kind": "image" if kind == "image" else kind}


@router.get("/media/{name}", include_in_schema=False)
def media(name: str) -> FileResponse:
    path = MEDIA_DIR / name
    if "/" in name or ".." in name or not path.is_file():
        raise HTTPException(status_code=404, detail="Không tìm thấy tệp.")
    return FileResponse(path)


@router.get("/healthz", tags=["ops"])
def healthz(factory: SessionFactory) -> JSONResponse:
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database unreachable")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
