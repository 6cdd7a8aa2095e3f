"""A fake Telegram Bot API for the fault tests: it can fail, hang or be slow, and it keeps
a record of every attempt and of every message it actually delivered.

Only what the outbox uses: `POST /bot<token>/sendMessage` (form or JSON parameters, as
python-telegram-bot sends them) and `getMe`. Any token is accepted; the token of each
attempt is kept, so tests that give each worker its own token can tell who sent what.

What counts as delivered is decided when a request arrives: in mode "ok" the message is
delivered (recorded once the answer is ready, after `delay` seconds or, for a held request,
once it is released — even if the client has gone by then, as a real provider would);
"error" answers 500 and "hang" holds the request past the client's timeout, then answers
503; neither delivers. Messages are identified by their text, so the record counts how
many times each one reached the citizen.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Mode = Literal["ok", "error", "hang"]
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "PAHT", "username": "paht_test_bot"}


@dataclass(frozen=True)
class Attempt:
    token: str
    chat_id: str
    text: str
    mode: Mode
    received_at: float  # time.time()


@dataclass(frozen=True)
class Delivery:
    token: str
    chat_id: str
    text: str
    received_at: float
    answered_at: float


class FaultyProvider:
    def __init__(self, *, delay: float = 0.0, hang_seconds: float = 2.0) -> None:
        self.mode: Mode = "ok"
        self.delay, self.hang_seconds = delay, hang_seconds
        self.attempts: list[Attempt] = []
        self.deliveries: list[Delivery] = []
        self.hold_at: int | None = None  # the n-th delivering request (1-based) waits for release
        self.held = threading.Event()  # set once that request has arrived and is waiting
        self.release = threading.Event()
        self._delivering = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._api, methods=["POST"])])

    # -- what the test reads ---------------------------------------------------------------

    def delivered(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def counts(self) -> Counter[str]:
        """How many times each message text was delivered."""
        return Counter(d.text for d in self.delivered())

    def failed_attempts(self) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.mode != "ok"]

    def by_chat(self) -> dict[str, list[str]]:
        """Each citizen's delivered texts, in the order the provider received them."""
        ordered: dict[str, list[str]] = {}
        for d in sorted(self.delivered(), key=lambda d: d.received_at):
            ordered.setdefault(d.chat_id, []).append(d.text)
        return ordered

    # -- the API ---------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        if method == "getMe":
            return JSONResponse({"ok": True, "result": BOT_USER})
        if method != "sendMessage":
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        params = await _parameters(request)
        token, chat_id, text = request.path_params["token"], params["chat_id"], params["text"]
        hold = False
        with self._lock:
            mode, now = self.mode, time.time()
            self.attempts.append(Attempt(token, chat_id, text, mode, now))
            if mode == "ok":
                self._delivering += 1
                hold = self._delivering == self.hold_at
        if mode == "error":
            return _error(500, "Internal Server Error")
        if mode == "hang":
            await asyncio.sleep(self.hang_seconds)
            return _error(503, "Service Unavailable")
        if hold:
            self.held.set()
            await asyncio.to_thread(self.release.wait, 60)
        elif self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.deliveries.append(Delivery(token, chat_id, text, now, time.time()))
        message = {
            "message_id": next(self._ids),
            "from": BOT_USER,
            "chat": {"id": int(chat_id), "type": "private"},
            "date": int(now),
            "text": text,
        }
        return JSONResponse({"ok": True, "result": message})


async def _parameters(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith("application/json"):
        body: dict[str, Any] = await request.json()
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    async with request.form() as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


def _error(code: int, description: str) -> Response:
    body = {"ok": False, "error_code": code, "description": description}
    return JSONResponse(body, code)
