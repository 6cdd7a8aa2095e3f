"""A fake of Twilio's Messages API for the real twilio SDK: records calls, can fail the next one.

Serves `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form-encoded,
HTTP Basic auth with the account SID and auth token) and answers 201 with a
message resource as Twilio does. `fail_next(status, body, headers)` makes the
next call answer with that status and body (e.g. a Twilio error JSON such as
`{"code": 21610, "message": "...", "status": 400}`); `delay` slows the next
answer down, to show a send does not block the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class TwilioCall:
    path: str
    account_sid: str
    auth: tuple[str, str] | None
    form: dict[str, list[str]]

    def field(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class _Failure:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.calls: list[TwilioCall] = []
        self._failures: deque[_Failure] = deque()
        self._delay = 0.0
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create, methods=["POST"])
            ]
        )

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._failures.clear()
            self._delay = 0.0

    def fail_next(
        self, status: int, body: bytes | dict[str, Any] = b"", headers: dict[str, str] | None = None
    ) -> None:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        with self._lock:
            self._failures.append(_Failure(status, raw, dict(headers or {})))

    def delay_next(self, seconds: float) -> None:
        self._delay = seconds

    async def _create(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        form: dict[str, list[str]] = {}
        for name, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
            form.setdefault(name, []).append(value)
        auth = _basic_auth(request.headers.get("authorization"))
        with self._lock:
            self.calls.append(TwilioCall(request.url.path, sid, auth, form))
            failure = self._failures.popleft() if self._failures else None
            delay, self._delay = self._delay, 0.0
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            return Response(failure.body, failure.status, failure.headers, "application/json")
        if auth != (self.account_sid, self.auth_token) or sid != self.account_sid:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        return JSONResponse(self._resource(sid, form, len(self.calls)), 201)

    @staticmethod
    def _resource(sid: str, form: dict[str, list[str]], number: int) -> dict[str, Any]:
        message_sid = f"SM{number:032x}"
        one = {k: v[0] for k, v in form.items()}
        return {
            "sid": message_sid,
            "account_sid": sid,
            "to": one.get("To"),
            "from": one.get("From"),
            "messaging_service_sid": one.get("MessagingServiceSid"),
            "body": one.get("Body"),
            "status": "queued",
            "num_segments": "1",
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "error_code": None,
            "error_message": None,
            "date_created": "Mon, 23 Nov 2026 08:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
        }


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password
