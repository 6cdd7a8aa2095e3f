"""The hotline runner: one Twilio webhook → call state under lock → IVR core → TwiML.

A call is a conversation with channel "voice" and external_user_id = CallSid.
Its citizen is found by the caller's phone (a "voice" identity keyed by the
E.164 number, linked by `remember_contact` to whoever already has that number
on SMS, Zalo or Telegram); a withheld number gets an identity per CallSid.
The conversation's `state` holds a `StoredCall`: the core's `CallState`, the
last key handled on the call route with the TwiML answered to it, and every key
already seen. The conversation row is locked for the whole turn (`SELECT ...
FOR UPDATE`; the database write lock on SQLite), so one call's webhooks are
handled one at a time.

Idempotency (see `channels.voice`): a key already seen has no second effect
and gets the stored TwiML back; so does a step other than the state's current
`seq` (an answer to a prompt already superseded), which is not fed to the core.
Status callbacks (call ended, recording ready) are answered with an empty
`<Response/>`, but what they change is kept: a report salvaged after a hang-up,
a recording attached, and the TwiML that the call route answers from then on.

Commands run through `DbReports`, each in a savepoint: a failing one is rolled
back alone and the core's `on_failure` apologises or dials the operator.
`SendSms` actions go to the outbox (channel "sms", recipient the caller's E.164
number), sent by the pipeline once the request's transaction has committed.
Services flush, never commit: the route's unit of work commits once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.citizens.models import Citizen
from backend.citizens.service import citizen_for, remember_contact
from backend.conversations.models import Conversation, ConversationEvent
from backend.conversations.ports import DbReports
from backend.conversations.service import ChatContext
from backend.notifications.service import enqueue
from backend.reports.service import get_by_code
from bot import voice
from bot.commands import Command, Outcome
from bot.messages import Reply
from bot.ports import execute
from bot.voice import (
    Action,
    CallEnded,
    CallEvent,
    CallProgress,
    CallStarted,
    CallState,
    Dial,
    DialEnded,
    DigitsPressed,
    GatherDigits,
    GatherSpeech,
    Hangup,
    NoInput,
    Record,
    RecordingDone,
    Say,
    SendSms,
    SpeechHeard,
    VoiceConfig,
    VoiceTurn,
)
from channels.voice import TwilioVoiceAdapter, VoiceEvent
from nlu.entities import canonical_phone

log = logging.getLogger(__name__)

CHANNEL = "voice"
SMS_CHANNEL = "sms"
MAX_SEEN = 500  # keys remembered per call; a call has a few dozen webhooks at most


class StoredCall(BaseModel):
    """What a voice conversation keeps in `Conversation.state`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call: CallState = Field(default_factory=CallState)
    last_key: str | None = None
    last_twiml: str | None = None
    seen: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallAnswer:
    twiml: str
    queued: int = 0  # SMS added to the outbox: wake the pipeline


def voice_config(ctx: ChatContext) -> VoiceConfig:
    twilio = ctx.settings.twilio
    return VoiceConfig(
        bot=ctx.bot,
        operator_number=twilio.operator_number,
        confidence_threshold=twilio.speech_confidence,
        zalo_oa_name=twilio.zalo_oa_name,
        zalo_link=twilio.zalo_link,
        telegram_link=twilio.telegram_link,
    )


def handle_call(
    session: Session,
    *,
    event: VoiceEvent,
    adapter: TwilioVoiceAdapter,
    ctx: ChatContext,
    now: datetime,
    status_callback: bool = False,
) -> CallAnswer:
    """Run one webhook of a call inside the caller's transaction; returns the TwiML to answer.

    `status_callback`: the webhook came to the status route, which never starts
    a call and is always answered with an empty `<Response/>`.
    """
    empty = adapter.render((), adapter.action_url(0))
    conversation = lock_call(session, event=event, now=now, create=not status_callback)
    if conversation is None:  # a status callback of a call this gateway never answered
        return CallAnswer(empty)
    stored = StoredCall.model_validate(conversation.state or {})
    if _already_answered(stored, event, status_callback):
        return CallAnswer(empty if status_callback else stored.last_twiml or empty)
    state, actions = _run(session, conversation, stored.call, event.event, ctx, now)
    twiml = adapter.render(actions, adapter.action_url(state.seq))
    spoken = any(not isinstance(a, SendSms) for a in actions)
    update: dict[str, Any] = {"call": state, "seen": (*stored.seen, event.key)[-MAX_SEEN:]}
    if not status_callback:
        update |= {"last_key": event.key, "last_twiml": twiml}
    elif spoken:  # e.g. the recording callback came first: the call route answers this now
        update["last_twiml"] = twiml
    _save(conversation, stored.model_copy(update=update), now)
    if not isinstance(event.event, CallProgress):
        session.add_all(_transcript(conversation.id, event, actions, now))
    queued = _queue_sms(session, call_sid=event.call_sid, actions=actions, code=state.code, now=now)
    session.flush()
    return CallAnswer(empty if status_callback else twiml, queued)


def lock_call(
    session: Session, *, event: VoiceEvent, now: datetime, create: bool = True
) -> Conversation | None:
    """The call's conversation, locked for this transaction; opened on the first webhook."""
    query = (
        select(Conversation)
        .where(Conversation.channel == CHANNEL, Conversation.external_user_id == event.call_sid)
        .with_for_update()
    )
    conversation = session.scalar(query)
    if conversation is not None or not create:
        return conversation
    try:
        with session.begin_nested():
            return _open_call(session, event=event, now=now)
    except IntegrityError:  # a concurrent webhook of this call (or from this phone) came first
        conversation = session.scalar(query)
    if conversation is not None:
        return conversation
    with session.begin_nested():  # it was the caller's identity: it exists now
        return _open_call(session, event=event, now=now)


def _open_call(session: Session, *, event: VoiceEvent, now: datetime) -> Conversation:
    phone = canonical_phone(event.caller) if event.caller else None
    citizen = citizen_for(session, channel=CHANNEL, external_id=phone or event.call_sid, now=now)
    citizen = remember_contact(session, citizen=citizen, name=None, phone=phone, now=now)
    conversation = Conversation(
        channel=CHANNEL,
        external_user_id=event.call_sid,
        citizen_id=citizen.id,
        state=StoredCall().model_dump(mode="json"),
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation


def _already_answered(stored: StoredCall, event: VoiceEvent, status_callback: bool) -> bool:
    if event.key in stored.seen:
        return True
    superseded = event.step is not None and event.step != stored.call.seq
    return superseded and not status_callback


# --- one turn of the core --------------------------------------------------------


def _run(
    session: Session,
    conversation: Conversation,
    state: CallState,
    event: CallEvent,
    ctx: ChatContext,
    now: datetime,
) -> tuple[CallState, list[Action]]:
    cfg = voice_config(ctx)
    understood = ctx.nlu.understand(event.text) if isinstance(event, SpeechHeard) else None
    turn = voice.handle(state, event, understood, now, cfg)
    state, actions = turn.state, list(turn.actions)
    if turn.commands:
        citizen = session.get(Citizen, conversation.citizen_id)
        assert citizen is not None
        port = DbReports(session, ctx.settings, conversation, citizen, now)
        for command in turn.commands:
            after = _execute(session, port, state, command, cfg)
            state, actions = after.state, actions + list(after.actions)
    return state, actions


def _execute(
    session: Session, port: DbReports, state: CallState, command: Command, cfg: VoiceConfig
) -> VoiceTurn:
    """One command in a savepoint; a failure is rolled back alone and told to the core."""
    try:
        with session.begin_nested():
            outcome = execute(port, command)
        assert isinstance(outcome, Outcome), "the voice core only creates and looks up"
    except Exception as exc:
        log.error("voice %s failed: %s", type(command).__name__, type(exc).__name__)
        return voice.on_failure(state, cfg)
    return voice.on_outcome(state, outcome, cfg)


# --- storing -----------------------------------------------------------------------


def _save(conversation: Conversation, stored: StoredCall, now: datetime) -> None:
    conversation.state = stored.model_dump(mode="json")
    conversation.version += 1
    conversation.updated_at = now


def _queue_sms(
    session: Session, *, call_sid: str, actions: Sequence[Action], code: str | None, now: datetime
) -> int:
    """The texts to send after the call, through the outbox to the SMS channel."""
    texts = TwilioVoiceAdapter.sms(actions)
    report = get_by_code(session, code=code) if texts and code else None
    for index, sms in enumerate(texts):
        enqueue(
            session,
            key=f"voice:{call_sid}:sms" + (f":{index}" if index else ""),
            channel=SMS_CHANNEL,
            recipient=sms.to,
            kind="reply",
            payload=Reply(text=sms.text).model_dump(mode="json"),
            now=now,
            report_id=report.id if report is not None else None,
        )
    return len(texts)


def _transcript(
    conversation_id: int, event: VoiceEvent, actions: Sequence[Action], now: datetime
) -> list[ConversationEvent]:
    """What the caller did and what the call said, for staff reading the conversation."""
    kind, text, data = _heard(event.event)
    rows = [
        ConversationEvent(
            conversation_id=conversation_id,
            direction="in",
            kind=kind,
            text=text,
            data={"key": event.key, **data},
            created_at=now,
        )
    ]
    for action in actions:
        out_kind, out_text = _said(action)
        rows.append(
            ConversationEvent(
                conversation_id=conversation_id,
                direction="out",
                kind=out_kind,
                text=out_text,
                created_at=now,
            )
        )
    return rows


def _heard(event: CallEvent) -> tuple[str, str | None, dict[str, Any]]:
    if isinstance(event, SpeechHeard):
        return "speech", event.text, {"confidence": event.confidence}
    if isinstance(event, DigitsPressed):
        return "digits", event.digits, {}
    if isinstance(event, RecordingDone):
        return "recording", event.url, {"duration": event.duration}
    if isinstance(event, DialEnded | CallEnded | CallProgress):
        return type(event).__name__.lower()[:16], event.status, {}
    if isinstance(event, CallStarted):
        return "call", None, {}
    assert isinstance(event, NoInput)
    return "no_input", None, {}


def _said(action: Action) -> tuple[str, str | None]:
    if isinstance(action, Say):
        return "say", action.text
    if isinstance(action, GatherDigits | GatherSpeech | Record):
        return "say", action.prompt
    if isinstance(action, SendSms):
        return "sms", action.text
    if isinstance(action, Dial):
        return "dial", None
    assert isinstance(action, Hangup)
    return "hangup", None
