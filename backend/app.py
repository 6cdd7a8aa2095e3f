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
from backend.channels.pipeline import Pipeline
from backend.channels.registry import Channels, build_channels
from backend.console import routes as console_routes
from backend.console import stats_routes
from backend.console.templating import STATIC_DIR as CONSOLE_STATIC_DIR
from backend.conversations.service import ChatContext, bot_config
from backend.db import make_engine, make_session_factory
from backend.errors import DomainError, LoginRequired
from backend.media import LocalMediaStore, MediaLimits
from backend.media.download import DownloadLimits
from backend.media.service import MediaIntake, MediaPolicy
from backend.reports import workflow
from backend.reports.corrections import training_files
from backend.settings import Settings, get_settings
from backend.staff import routes as staff_routes
from backend.voice import routes as voice_routes
from backend.web import routes as web_routes
from nlu import Nlu, load_nlu

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(
    settings: Settings | None = None, nlu: Nlu | None = None, channels: Channels | None = None
) -> FastAPI:
    """Build the app; tests pass their own settings, a loaded NLU and fake-backed channels."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.sessions = make_session_factory(engine)
        app.state.inbox_writer = InboxWriter(engine)
        app.state.chat = ChatContext(
            settings=settings,
            nlu=nlu or load_nlu_for(settings),
            bot=bot_config(settings),
        )
        wired = channels or await build_channels(settings)
        app.state.webhook_adapters = wired.webhook
        app.state.background = set()
        app.state.channels_voice = wired.voice
        policy = media_policy(settings)
        app.state.media_limits = policy.limits
        app.state.media_store = getattr(app.state, "media_store", None) or LocalMediaStore(
            settings.media.root, base_url="/media"
        )
        media = MediaIntake(
            app.state.sessions,
            adapters=wired.senders,
            store=app.state.media_store,
            policy=policy,
            twilio_auth=wired.twilio_auth,
        )
        app.state.pipeline = Pipeline(
            app.state.sessions, app.state.chat, wired.senders, media=media
        )
        app.state.pipeline.start()
        yield
        await app.state.pipeline.stop()
        await wired.aclose()
        engine.dispose()

    app = FastAPI(title="PAHT Gateway", version="0.1.0", lifespan=lifespan)
    app.include_router(web_routes.router)
    app.include_router(channel_routes.router)
    app.include_router(voice_routes.router)
    app.include_router(staff_routes.router)
    app.include_router(console_routes.router)
    app.include_router(stats_routes.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
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

    @app.exception_handler(workflow.Forbidden)
    async def _forbidden(_: Request, exc: workflow.Forbidden) -> JSONResponse:
        return JSONResponse({"detail": "Bạn không có quyền thực hiện thao tác này."}, 403)

    @app.exception_handler(workflow.NotAllowedNow)
    async def _not_now(_: Request, exc: workflow.NotAllowedNow) -> JSONResponse:
        return JSONResponse(
            {"detail": "Thao tác không phù hợp với trạng thái hiện tại của phản ánh."}, 409
        )


def load_nlu_for(settings: Settings) -> Nlu:
    """The NLU engine for this deployment (trains on first start if no model is built)."""
    return load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=settings.nlu.model_dir,
        extra_data_dirs=(*settings.nlu.extra_data_dirs, *training_files(settings)),
        nationwide=settings.nationwide,
        category_threshold=settings.nlu.confidence_threshold,
    )


def media_policy(settings: Settings) -> MediaPolicy:
    """The media intake's limits from the deployment settings."""
    limits = MediaLimits(download=DownloadLimits(max_bytes=settings.media.max_bytes))
    return MediaPolicy(limits=limits, max_attempts=settings.media.max_attempts)
