"""The FastAPI application: composition root for settings, database, NLU and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.channels import routes as channel_routes
from backend.channels.inbox_writer import InboxWriter
from backend.channels.registry import Channels
from backend.console import clusters as cluster_routes
from backend.console import outbox_routes, stats_routes, zalo_routes
from backend.console import routes as console_routes
from backend.console.templating import STATIC_DIR as CONSOLE_STATIC_DIR
from backend.errors import DomainError, LoginRequired
from backend.metrics import install as install_metrics
from backend.open311 import routes as open311_routes
from backend.portal import routes as portal_routes
from backend.portal.templating import STATIC_DIR as PORTAL_STATIC_DIR
from backend.portal.templating import STATIC_URL as PORTAL_STATIC_URL
from backend.runtime import freeze_heap, open_runtime
from backend.settings import Settings, get_settings
from backend.staff import routes as staff_routes
from backend.voice import routes as voice_routes
from backend.web import routes as web_routes
from nlu import Nlu

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(
    settings: Settings | None = None, nlu: Nlu | None = None, channels: Channels | None = None
) -> FastAPI:
    """Build the app; tests pass their own settings, a loaded NLU and fake-backed channels."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await open_runtime(
            settings,
            nlu=nlu,
            channels=channels,
            media_store=getattr(app.state, "media_store", None),
        )
        app.state.settings = settings
        app.state.sessions = runtime.sessions
        app.state.inbox_writer = InboxWriter(runtime.engine)
        app.state.chat = runtime.chat
        app.state.webhook_adapters = runtime.channels.webhook
        app.state.background = set()
        app.state.channels_voice = runtime.channels.voice
        app.state.media_limits = runtime.media_policy.limits
        app.state.media_store = runtime.media_store
        app.state.pipeline = runtime.pipeline
        if settings.pipeline == "in_app":
            runtime.pipeline.start()
        freeze_heap()
        yield
        await runtime.aclose()

    app = FastAPI(title="PAHT Gateway", version="0.1.0", lifespan=lifespan)
    app.include_router(web_routes.router)
    app.include_router(channel_routes.router)
    app.include_router(voice_routes.router)
    app.include_router(staff_routes.router)
    app.include_router(console_routes.router)
    app.include_router(stats_routes.router)
    app.include_router(zalo_routes.router)
    app.include_router(portal_routes.router)
    app.include_router(cluster_routes.router)
    app.include_router(open311_routes.router)
    app.include_router(outbox_routes.router)
    install_metrics(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    app.mount(PORTAL_STATIC_URL, StaticFiles(directory=PORTAL_STATIC_DIR), name="portal-static")
    _error_handlers(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        """Browsers go to the login page (back to the page they asked for); APIs get 401."""
        if "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": "Vui lòng đăng nhập."}, status_code=401)
        if request.method != "GET":  # an expired session on a form post: start from the inbox
            return RedirectResponse("/console/login", 303)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?{urlencode({'next': target})}", 303)

    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
