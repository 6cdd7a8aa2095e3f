"""`paht telegram-polling` and `paht telegram-set-webhook`.

Polling is for development without a public URL: each update from getUpdates
is posted, signed, to the app's own Telegram webhook route in-process, so it
takes exactly the production path (verify, parse, inbox, pipeline, outbox).
"""

from __future__ import annotations

import asyncio

import click
import httpx

from backend.app import create_app
from backend.channels.routes import WEBHOOK_PATHS
from backend.runtime import stop_on_signals
from backend.settings import Settings
from channels.base import RawRequest
from channels.telegram import TelegramAdapter


async def poll(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        adapter = app.state.webhook_adapters.get("telegram")
        if not isinstance(adapter, TelegramAdapter):
            raise click.ClickException(
                "Telegram is not configured: set PAHT_TELEGRAM__BOT_TOKEN and "
                "PAHT_TELEGRAM__SECRET_TOKEN"
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://paht.local") as client:

            async def handle(raw: RawRequest) -> None:
                response = await client.post(
                    WEBHOOK_PATHS["telegram"], content=raw.body, headers=dict(raw.headers)
                )
                response.raise_for_status()

            stop = asyncio.Event()
            stop_on_signals(stop)
            click.echo("Đang nhận tin nhắn Telegram (polling). Ctrl+C để dừng.")
            await adapter.poll(handle, stop=stop)


async def set_webhook(settings: Settings, url: str | None) -> str:
    target = url or settings.public_base_url.rstrip("/") + WEBHOOK_PATHS["telegram"]
    if not settings.telegram.enabled:
        raise click.ClickException("Telegram is not configured")
    assert settings.telegram.bot_token and settings.telegram.secret_token
    adapter = TelegramAdapter(
        settings.telegram.bot_token.get_secret_value(),
        settings.telegram.secret_token.get_secret_value(),
        base_url=f"{settings.telegram.api_base}/bot",
        base_file_url=f"{settings.telegram.api_base}/file/bot",
    )
    try:
        await adapter.set_webhook(target)
    finally:
        await adapter.aclose()
    return target
