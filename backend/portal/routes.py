"""Public portal routes: the list of published reports, a report's page, the map and its
markers, report photos, and the private lookup by code and phone.

Anonymous and read-only. Pages are rendered on the server (Jinja2, Vietnamese). The
lookup form is protected by a double-submit CSRF cookie and `lookup.AttemptLimiter`
(per client address); its answer never says whether a code exists.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from backend.clusters.service import cluster_size
from backend.deps import SessionFactory
from backend.media import InvalidKey, MissingMedia, StoreUnavailable, serving_headers
from backend.media.routes import MediaStoreDep
from backend.portal import lookup, queries, views
from backend.portal.privacy import is_code, public_text
from backend.portal.templating import templates
from backend.reports.workflow import LABELS
from backend.settings import Settings

router = APIRouter(tags=["public portal"])

CSRF_COOKIE = "paht_portal_csrf"
COMMUNES_TTL = 300.0  # seconds the commune choices are cached
NOT_FOUND = "Không tìm thấy phản ánh."
LOOKUP_NOT_FOUND = "Không tìm thấy phản ánh với mã số và số điện thoại này."
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
PUBLIC = {"Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(_settings(request).timezone)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    settings = _settings(request)
    base = {"province": settings.province.name, "nav": name.removesuffix(".html")}
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    response.headers.update(PRIVATE if name == "lookup.html" else PUBLIC)
    return response


def _communes(request: Request, factory: SessionFactory) -> list[str]:
    cached = getattr(request.app.state, "portal_communes", None)
    now = time.monotonic()
    if cached is None or cached[0] < now:
        with factory() as session:
            cached = (now + COMMUNES_TTL, queries.communes(session))
        request.app.state.portal_communes = cached
    names: list[str] = cached[1]
    return names


@router.get("/cong-dong", response_class=HTMLResponse)
def report_list(request: Request, factory: SessionFactory) -> Response:
    """Published reports, newest first, with filters, search and "next page"."""
    filters = queries.parse_filters(dict(request.query_params))
    settings = _settings(request)
    with factory() as session:
        page = queries.list_reports(session, filters=filters, tz=_tz(request))
    items = [views.list_item(row, settings) for row in page.rows]
    if filters.q and not queries.CODE_RE.match(filters.q):
        # a title matched on words that are masked for the public (the reporter's name):
        # not shown, or the search would confirm who reported what
        items = [item for item in items if filters.q.casefold() in item.title.casefold()]
    if filters.q and public_text(filters.q) != filters.q:  # never echo a phone or ID number
        filters = filters.model_copy(update={"q": public_text(filters.q)})
    query = filters.model_dump(mode="json", exclude_none=True)
    next_query = {**query, "after": page.next_cursor} if page.next_cursor else None
    first_query = {k: v for k, v in query.items() if k != "after"}
    context = {
        "items": items,
        "filters": filters,
        "next_query": next_query,
        "first_query": first_query if filters.after else None,
        "categories": settings.categories,
        "statuses": [(s.value, LABELS[s]) for s in queries.PUBLIC_STATUSES],
        "communes": _communes(request, factory),
    }
    return _page(request, "list.html", context)


@router.get("/cong-dong/ban-do", response_class=HTMLResponse)
def map_page(request: Request) -> Response:
    settings = _settings(request)
    context = {
        "tile_url": settings.console.tile_url,
        "attribution": settings.console.tile_attribution,
        "categories": settings.categories,
        "filters": queries.parse_filters(dict(request.query_params)),
        "query": str(request.url.query),
    }
    return _page(request, "map.html", context)


@router.get("/cong-dong/ban-do.json")
def map_markers(request: Request, factory: SessionFactory) -> JSONResponse:
    """Markers of published reports with a position (same filters as the list)."""
    filters = queries.parse_filters(dict(request.query_params))
    settings = _settings(request)
    with factory() as session:
        found = queries.map_markers(session, filters=filters, tz=_tz(request))
    markers = [views.marker(m, settings) for m in found]
    body = {"markers": markers, "truncated": len(markers) >= queries.MAP_LIMIT}
    return JSONResponse(body, headers={**PUBLIC, "Cache-Control": "public, max-age=60"})


@router.get("/cong-dong/{code:int}", response_class=HTMLResponse)
def report_page(request: Request, code: int, factory: SessionFactory) -> Response:
    settings = _settings(request)
    with factory() as session:
        report = queries.get_public(session, code=str(code))
        if report is None:
            return _page(request, "not_found.html", {"message": NOT_FOUND}, status=404)
        size = cluster_size(session, report.id)
        view = views.report_view(report, settings, reporters=size)
    return _page(request, "report.html", {"report": view})


@router.get("/cong-dong/{code:int}/anh/{photo_id:int}", include_in_schema=False)
async def report_photo(
    code: int, photo_id: int, factory: SessionFactory, store: MediaStoreDep
) -> Response:
    """A published report's photo, as its metadata-free thumbnail; 404 for anything else."""
    with factory() as session:
        report = queries.get_public(session, code=str(code))
        photos = views.public_photos(report) if report is not None else []
        key = next((p.thumbnail_key for p in photos if p.id == photo_id), None)
    if key is None:
        return Response(NOT_FOUND, status_code=404, media_type="text/plain; charset=utf-8")
    try:
        headers = serving_headers(key)
        data = await store.read(key)
    except (InvalidKey, MissingMedia):
        return Response(NOT_FOUND, status_code=404, media_type="text/plain; charset=utf-8")
    except StoreUnavailable:
        return Response("Tạm thời không tải được ảnh.", status_code=503)
    headers["Cache-Control"] = "public, max-age=3600"  # unpublishing takes effect within the hour
    return Response(content=data, headers=headers)


def _lookup_form(
    request: Request, *, status: int = 200, message: str | None = None, **context: Any
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    code = str(context.get("code") or "").strip()
    context["code"] = code if is_code(code) else None  # echo a code, nothing else
    response = _page(
        request, "lookup.html", {"csrf_token": token, "message": message, **context}, status
    )
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_settings(request).console.secure_cookies,
        path="/tra-cuu",
    )
    return response


@router.get("/tra-cuu", response_class=HTMLResponse)
def lookup_page(request: Request) -> Response:
    return _lookup_form(request)


@router.post("/tra-cuu", response_class=HTMLResponse)
def lookup_submit(
    request: Request,
    factory: SessionFactory,
    code: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    csrf_token: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The citizen's own report, or the same "not found" for a wrong code or phone."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        message = "Phiên làm việc đã hết hạn, vui lòng gửi lại."
        return _lookup_form(request, status=403, message=message, code=code)
    limiter = _limiter(request)
    wait = limiter.retry_after(request.client.host if request.client else "unknown")
    if wait:
        message = f"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau {-(-wait // 60)} phút."
        response = _lookup_form(request, status=429, message=message, code=code)
        response.headers["Retry-After"] = str(wait)
        return response
    settings = _settings(request)
    with factory() as session:
        found = lookup.find_own_report(session, code=code, phone=phone)
        if found is None:
            return _lookup_form(request, message=LOOKUP_NOT_FOUND, code=code)
        size = cluster_size(session, found.report.id)
        result = views.lookup_view(found, settings, reporters=size)
    return _lookup_form(request, result=result, code=code)


def _limiter(request: Request) -> lookup.AttemptLimiter:
    limiter: lookup.AttemptLimiter | None = getattr(request.app.state, "portal_limiter", None)
    if limiter is None:
        limiter = lookup.AttemptLimiter()
        request.app.state.portal_limiter = limiter
    return limiter
