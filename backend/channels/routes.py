"""Webhook routes of the push channels: verify, parse, store, acknowledge; the bot runs after.

A forged or missing signature is refused with 403 and nothing is stored; a
body that is not the provider's format gets 400 (providers that would retry a
4xx forever are acknowledged with 200 and the body is only logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from channels.base import ChannelAdapter, Outgoing, PayloadError, RawRequest, SignatureError

router = APIRouter(tags=["channels"])
log = logging.getLogger(__name__)

# adapter key → webhook path (the URL to register with each provider).
WEBHOOK_PATHS = {
    "zalo": "/channels/zalo/webhook",
    "telegram": "/channels/telegram/webhook",
    "sms_twilio": "/channels/sms/twilio",
    "sms_gateway": "/channels/sms/gateway",
}
ACK_MALFORMED = {"telegram", "zalo"}  # they retry non-2xx answers


async def raw_request(request: Request) -> RawRequest:
    """The request as adapters see it (adapters that sign URLs know their public origin)."""
    return RawRequest(
        method=request.method,
        url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
        query=dict(request.query_params),
    )


async def receive(request: Request, key: str) -> JSONResponse:
    adapters: dict[str, ChannelAdapter] = request.app.state.webhook_adapters
    adapter = adapters.get(key)
    if adapter is None:
        raise HTTPException(status_code=404, detail=f"channel '{key}' is not configured")
    raw = await raw_request(request)
    try:
        adapter.verify(raw)
        messages = adapter.parse(raw)
    except SignatureError as exc:
        log.warning("%s webhook refused: %s", key, exc)
        raise HTTPException(status_code=403, detail="invalid signature") from exc
    except (PayloadError, ValidationError) as exc:
        log.warning("%s webhook malformed: %s", key, type(exc).__name__)
        if key in ACK_MALFORMED:
            return JSONResponse({"status": "ignored"})
        reason = str(exc) if isinstance(exc, PayloadError) else "invalid field values"
        raise HTTPException(status_code=400, detail=f"malformed payload: {reason}") from exc
    _acknowledge(request, adapter, raw)
    if messages:
        try:
            await request.app.state.inbox_writer.store(messages)
        except OperationalError as exc:  # the provider retries; nothing was acknowledged
            raise HTTPException(status_code=503, detail="database unavailable") from exc
        request.app.state.pipeline.wake()
    return JSONResponse({"status": "ok"})


def _acknowledge(request: Request, adapter: ChannelAdapter, raw: RawRequest) -> None:
    """Provider acknowledgements that must go at once (Telegram button presses), not queued."""
    acknowledgements = getattr(adapter, "acknowledgements", None)
    if acknowledgements is None:
        return
    tasks: set[asyncio.Task[None]] = request.app.state.background
    for outgoing in acknowledgements(raw):
        task = asyncio.create_task(_send_quietly(adapter, outgoing))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _send_quietly(adapter: ChannelAdapter, outgoing: Outgoing) -> None:
    try:
        await adapter.send(outgoing)
    except Exception as exc:  # an unanswered button press only spins a little longer
        log.warning("acknowledgement not sent: %s", type(exc).__name__)


def _route(key: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def webhook(request: Request) -> JSONResponse:
        return await receive(request, key)

    webhook.__name__ = f"{key}_webhook"
    return webhook


for _key, _path in WEBHOOK_PATHS.items():
    router.add_api_route(_path, _route(_key), methods=["POST"], name=f"{_key}_webhook")
