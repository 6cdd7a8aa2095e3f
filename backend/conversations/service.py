"""The bot runner: one inbound message → state loaded under lock → dialogue → commands → replies.

Each conversation is serialised: `SELECT ... FOR UPDATE` on PostgreSQL, the
database write lock on SQLite (BEGIN IMMEDIATE). A redelivered message (same
channel and provider message id) has no second effect: the replies stored
with the first delivery are returned instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.citizens.models import Citizen
from backend.citizens.service import citizen_for, remember_contact
from backend.conversations.models import Conversation, ConversationEvent, InboundMessage
from backend.conversations.ports import DbReports
from backend.settings import Settings
from bot import dialogue
from bot.config import BotConfig
from bot.messages import Inbound, Reply
from bot.ports import execute
from bot.state import State
from bot.templates import flood_reply
from channels.phones import normalise_phone
from nlu import Nlu, NluResult

MEDIA_CHANNELS = frozenset({"web", "zalo", "telegram"})
# Channels whose sender id is the citizen's phone number (E.164, normalised by the adapter):
# the contact step offers that number instead of asking for one.
PHONE_CHANNELS = frozenset({"sms"})


@dataclass(frozen=True)
class ChatContext:
    settings: Settings
    nlu: Nlu
    bot: BotConfig


def bot_config(settings: Settings, hotline: str | None = None) -> BotConfig:
    return BotConfig(
        province_name=settings.province.name,
        category_names=settings.category_names(),
        max_chars=settings.max_message_chars,
        hotline=hotline,
    )


def already_handled(session: Session, msg: Inbound) -> list[Reply] | None:
    """The replies of an earlier delivery of this message, if it was handled."""
    if not msg.message_id:
        return None
    record = session.scalar(
        select(InboundMessage).where(
            InboundMessage.channel == msg.channel,
            InboundMessage.provider_message_id == msg.message_id,
        )
    )
    return None if record is None else [Reply.model_validate(r) for r in record.replies]


def handle_inbound(
    session: Session, *, msg: Inbound, ctx: ChatContext, now: datetime
) -> list[Reply]:
    """Run one message through the bot inside the caller's transaction."""
    previous = already_handled(session, msg)
    if previous is not None:
        return previous
    record = _claim(session, msg, now)
    conversation = _lock_conversation(session, msg, now)
    state = _load_state(conversation, msg)
    understood = _understand(ctx, msg)
    if msg.contact_phone:  # shared by the channel: may link this person's other channels
        remember_contact(
            session,
            citizen=conversation_citizen(session, conversation),
            name=msg.sender_name,
            phone=msg.contact_phone,
            now=now,
        )
    recent = _recent_inbound(session, conversation, now)
    if recent >= ctx.settings.rate_limit_per_minute:
        replies = [flood_reply()] if recent == ctx.settings.rate_limit_per_minute else []
    else:
        state, replies = _run_bot(session, conversation, state, msg, understood, ctx, now)
    _save(session, conversation, state, msg, understood, replies, now)
    if record is not None:
        record.conversation_id = conversation.id
        record.replies = [r.model_dump(mode="json") for r in replies]
    session.flush()
    return replies


def _run_bot(
    session: Session,
    conversation: Conversation,
    state: State,
    msg: Inbound,
    understood: NluResult,
    ctx: ChatContext,
    now: datetime,
) -> tuple[State, list[Reply]]:
    turn = dialogue.handle(state, msg, understood, now, ctx.bot)
    state, replies = turn.state, list(turn.replies)
    port = DbReports(
        session, ctx.settings, conversation, conversation_citizen(session, conversation), now
    )
    for command in turn.commands:
        after = dialogue.on_outcome(state, execute(port, command), ctx.bot)
        state, replies = after.state, replies + list(after.replies)
    return state, replies


def _recent_inbound(session: Session, conversation: Conversation, now: datetime) -> int:
    """Messages from this citizen in the last minute (flood and spam protection)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(ConversationEvent)
            .where(
                ConversationEvent.conversation_id == conversation.id,
                ConversationEvent.direction == "in",
                ConversationEvent.created_at > now - timedelta(minutes=1),
            )
        )
        or 0
    )


def _claim(session: Session, msg: Inbound, now: datetime) -> InboundMessage | None:
    """Record the provider message id; a concurrent duplicate fails with IntegrityError."""
    if not msg.message_id:
        return None
    record = InboundMessage(
        channel=msg.channel, provider_message_id=msg.message_id, replies=[], received_at=now
    )
    session.add(record)
    session.flush()
    return record


def _lock_conversation(session: Session, msg: Inbound, now: datetime) -> Conversation:
    query = (
        select(Conversation)
        .where(Conversation.channel == msg.channel, Conversation.external_user_id == msg.sender_id)
        .with_for_update()
    )
    conversation = session.scalar(query)
    if conversation is not None:
        return conversation
    try:
        with session.begin_nested():
            citizen = citizen_for(
                session,
                channel=msg.channel,
                external_id=msg.sender_id,
                now=now,
                name=msg.sender_name,
            )
            initial = State(accepts_media=msg.channel in MEDIA_CHANNELS)
            conversation = Conversation(
                channel=msg.channel,
                external_user_id=msg.sender_id,
                citizen_id=citizen.id,
                state=initial.model_dump(mode="json"),
                version=0,
                created_at=now,
                updated_at=now,
            )
            session.add(conversation)
    except IntegrityError:  # another request created it first: wait for its lock
        conversation = session.scalar(query)
    assert conversation is not None
    return conversation


def conversation_citizen(session: Session, conversation: Conversation) -> Citizen:
    citizen = session.get(Citizen, conversation.citizen_id)
    assert citizen is not None
    return citizen


def _load_state(conversation: Conversation, msg: Inbound) -> State:
    state = State.model_validate(conversation.state) if conversation.state else State()
    known = normalise_phone(msg.sender_id) if msg.channel in PHONE_CHANNELS else None
    return state.model_copy(update={"channel_phone": known}) if known else state


def _understand(ctx: ChatContext, msg: Inbound) -> NluResult:
    understood = ctx.nlu.understand(msg.text)
    if msg.lat is not None and msg.lon is not None:
        point = ctx.nlu.locate_point(msg.lat, msg.lon)
        understood = dataclasses.replace(understood, location=point)
    return understood


def _save(
    session: Session,
    conversation: Conversation,
    state: State,
    msg: Inbound,
    understood: NluResult,
    replies: Sequence[Reply],
    now: datetime,
) -> None:
    conversation.state = state.model_dump(mode="json")
    conversation.version += 1
    conversation.updated_at = now
    inbound_data = {
        "payload": msg.payload,
        "media": [m.model_dump(mode="json") for m in msg.media],
        "lat": msg.lat,
        "lon": msg.lon,
        "intent": understood.intent,
        "message_id": msg.message_id,
    }
    events = [
        ConversationEvent(
            conversation_id=conversation.id,
            direction="in",
            kind=_inbound_kind(msg),
            text=msg.text,
            data=inbound_data,
            created_at=now,
        )
    ]
    events += [
        ConversationEvent(
            conversation_id=conversation.id,
            direction="out",
            kind="reply",
            text=r.text,
            data={"buttons": [b.model_dump() for b in r.buttons]} if r.buttons else None,
            created_at=now,
        )
        for r in replies
    ]
    session.add_all(events)


def _inbound_kind(msg: Inbound) -> str:
    if msg.payload:
        return "payload"
    if msg.media:
        return "media"
    if msg.lat is not None:
        return "location"
    return "text"
