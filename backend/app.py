"""The FastAPI application: composition root for settings, database, NLU and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from backend.channels import routes as channel_routes
from backend.channels.pipeline import Pipeline
from backend.channels.registry import Channels, build_channels
from backend.conversations.service import ChatContext, bot_config
from backend.db import make_engine, make_session_factory
from backend.errors import DomainError
from backend.media import LocalMediaStore, MediaLimits
from backend.media.download import DownloadLimits
from backend.media.service import MediaIntake, MediaPolicy
from backend.settings import Settings, get_settings
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
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    return app


def load_nlu_for(settings: Settings) -> Nlu:
    """The NLU engine for this deployment (trains on first start if no model is built)."""
    return load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=settings.nlu.model_dir,
        extra_data_dirs=tuple(settings.nlu.extra_data_dirs),
        nationwide=settings.nationwide,
        category_threshold=settings.nlu.confidence_threshold,
    )


def media_policy(settings: Settings) -> MediaPolicy:
    """The media intake's limits from the deployment settings."""
    limits = MediaLimits(download=DownloadLimits(max_bytes=settings.media.max_bytes))
    return MediaPolicy(limits=limits, max_attempts=settings.media.max_attempts)
