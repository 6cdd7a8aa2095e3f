"""FastAPI dependencies: settings, a unit-of-work session per request, the chat context."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from backend.conversations.service import ChatContext


def session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def chat_context(request: Request) -> ChatContext:
    context: ChatContext = request.app.state.chat
    return context


def db_session(request: Request) -> Iterator[Session]:
    with session_factory(request)() as session:
        yield session


SessionFactory = Annotated[sessionmaker[Session], Depends(session_factory)]
Chat = Annotated[ChatContext, Depends(chat_context)]
