"""Twilio Voice webhook routes: verify, parse, run the call turn, answer TwiML.

Register `POST {public_url}/channels/voice/twilio` as the number's voice URL
and `.../channels/voice/twilio/status` as its status callback. A forged or
missing signature gets 403 and nothing is stored; a form that is not a Twilio
call webhook gets 400. Unlike the chat channels the answer *is* the next step
of the call, so the turn runs before the response (in a worker thread: the
database code is synchronous); only the SMS after the call is left to the
pipeline.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from backend.channels.routes import raw_request
from backend.db import unit_of_work, utcnow
from backend.voice.service import CallAnswer, handle_call
from channels.base import PayloadError, SignatureError
from channels.voice import STATUS_PATH, VOICE_PATH, TwilioVoiceAdapter, VoiceEvent

router = APIRouter(tags=["voice"])
log = logging.getLogger(__name__)

XML = "application/xml"


def voice_adapter(request: Request) -> TwilioVoiceAdapter:
    """The Twilio Voice adapter of this deployment; 404 when Twilio is not configured."""
    adapter: TwilioVoiceAdapter | None = getattr(request.app.state, "channels_voice", None)
    if adapter is None:
        raise HTTPException(status_code=404, detail="voice not configured")
    return adapter


Adapter = Annotated[TwilioVoiceAdapter, Depends(voice_adapter)]


@router.post(VOICE_PATH, name="voice_call")
async def voice_call(request: Request, adapter: Adapter) -> Response:
    """Every answer of the call: its start, keys, speech, recording, dial result, timeout."""
    return await _answer(request, adapter, status_callback=False)


@router.post(STATUS_PATH, name="voice_status")
async def voice_status(request: Request, adapter: Adapter) -> Response:
    """Call status and recording callbacks; always answered with an empty `<Response/>`."""
    return await _answer(request, adapter, status_callback=True)


async def _answer(
    request: Request, adapter: TwilioVoiceAdapter, *, status_callback: bool
) -> Response:
    raw = await raw_request(request)
    try:
        adapter.verify(raw)
    except SignatureError as exc:
        log.warning("voice webhook refused: %s", exc)
        raise HTTPException(status_code=403, detail="invalid signature") from exc
    try:
        event = adapter.parse_status(raw) if status_callback else adapter.parse(raw)
    except PayloadError as exc:
        log.warning("voice webhook malformed: %s", exc)
        raise HTTPException(status_code=400, detail=f"malformed payload: {exc}") from exc
    answer = await asyncio.to_thread(_turn, request, adapter, event, status_callback)
    pipeline = getattr(request.app.state, "pipeline", None)
    if answer.queued and pipeline is not None:
        pipeline.wake()
    return Response(content=answer.twiml, media_type=XML)


def _turn(
    request: Request, adapter: TwilioVoiceAdapter, event: VoiceEvent, status_callback: bool
) -> CallAnswer:
    with unit_of_work(request.app.state.sessions) as session:
        return handle_call(
            session,
            event=event,
            adapter=adapter,
            ctx=request.app.state.chat,
            now=utcnow(),
            status_callback=status_callback,
        )
