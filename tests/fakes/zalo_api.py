"""A fake Zalo: the OA message API (v3) and the OAuth v4 token endpoint, for offline tests.

Behaves like Zalo where the adapter depends on it: answers HTTP 200 with an
`error` envelope, refuses unknown access tokens with -216, issues rotating
refresh tokens that work ONCE, and can be told to fail the next message call
with an HTTP status/body or a Zalo error code. `refuse(kind, code)` makes every
call of one kind ("cs", "transaction", "zns") answer that error (-230: the
citizen has not interacted for 7 days) until `reset`. ZNS template messages are
accepted at `POST /message/template` (the business.openapi base). Every call is
recorded in `calls`, and in `events` (a log tests may append to as well, to
check order).
Serve it with `tests.fakes.server.serve(fake.app)`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

APP_ID = "360846524940903967"
APP_SECRET = "fake-app-secret"
MESSAGE_PATHS = ("cs", "transaction", "promotion")


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    status: int
    body: bytes
    headers: dict[str, str]


class FakeZalo:
    def __init__(self, app_id: str = APP_ID, app_secret: str = APP_SECRET) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v3.0/oa/message/{kind}", self._message, methods=["POST"]),
                Route("/message/template", self._zns, methods=["POST"]),
                Route("/v4/oa/access_token", self._oauth, methods=["POST"]),
            ]
        )
        self.reset()

    def reset(self) -> None:
        """Forget everything; the first pair is ("at-0", "rt-0")."""
        with self._lock:
            self.calls: list[Call] = []
            self.delivered: list[str] = []  # paths of the message calls that succeeded
            self.events: list[tuple[str, ...]] = []
            self.access_tokens: set[str] = {"at-0"}
            self.refresh_tokens: set[str] = {"rt-0"}
            self.codes: set[str] = {"code-1"}
            self.refreshes: list[str] = []  # refresh tokens presented, valid or not
            self._issued = 0
            self._failures: deque[Failure] = deque()
            self._refusals: dict[str, int] = {}

    def fail_next(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        """The next message call answers this, whatever its token."""
        with self._lock:
            self._failures.append(Failure(status, body, headers or {}))

    def fail_next_with_error(
        self, code: int, message: str = "", headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps({"error": code, "message": message or f"error {code}"}).encode()
        self.fail_next(200, body, {"content-type": "application/json", **(headers or {})})

    def refuse(self, kind: str, code: int) -> None:
        """Every `kind` call ("cs", "transaction", "zns") answers Zalo error `code` from now."""
        with self._lock:
            self._refusals[kind] = code

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far becomes invalid (-216)."""
        with self._lock:
            self.access_tokens.clear()

    def message_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path.startswith("/v3.0/")]

    def zns_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path == "/message/template"]

    async def _zns(self, request: Request) -> Response:
        token = request.headers.get("access_token", "")
        body = await request.json()
        with self._lock:
            self.calls.append(Call(request.url.path, dict(request.headers), json=body))
            if token not in self.access_tokens:
                return JSONResponse({"error": -124, "message": "Access token is invalid"})
            if "zns" in self._refusals:
                code = self._refusals["zns"]
                return JSONResponse({"error": code, "message": f"error {code}"})
            self.events.append(("zns", token, "ok"))
            self.delivered.append(request.url.path)
            data = {"msg_id": f"zns-{len(self.zns_calls())}", "sent_time": "0"}
            return JSONResponse({"data": data, "error": 0, "message": "Success"})

    async def _message(self, request: Request) -> Response:
        token = request.headers.get("access_token", "")
        body = await request.json()
        with self._lock:
            self.calls.append(Call(request.url.path, dict(request.headers), json=body))
            if request.path_params["kind"] not in MESSAGE_PATHS:
                return JSONResponse({"error": -201, "message": "unknown path"})
            if self._failures:
                failure = self._failures.popleft()
                self.events.append(("send", token, f"fail:{failure.status}"))
                return Response(failure.body, failure.status, headers=failure.headers)
            if token not in self.access_tokens:
                self.events.append(("send", token, "-216"))
                return JSONResponse({"error": -216, "message": "Access token is invalid"})
            refusal = self._refusals.get(request.path_params["kind"])
            if refusal is not None:
                self.events.append(("send", token, str(refusal)))
                return JSONResponse({"error": refusal, "message": f"error {refusal}"})
            self.events.append(("send", token, "ok"))
            self.delivered.append(request.url.path)
            user = body.get("recipient", {}).get("user_id", "")
            number = len(self.message_calls())
            data = {
                "message_id": f"msg-{number}",
                "user_id": user,
                "quota": {"quota_type": "reply"},
            }
            return JSONResponse({"data": data, "error": 0, "message": "Success"})

    async def _oauth(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        with self._lock:
            self.calls.append(Call(request.url.path, dict(request.headers), form=form))
            if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != (
                self.app_id
            ):
                return _oauth_error(-14002, "Invalid app_id or secret_key")
            if form.get("grant_type") == "refresh_token":
                token = form.get("refresh_token", "")
                self.refreshes.append(token)
                self.events.append(("refresh", token))
                if token not in self.refresh_tokens:
                    return _oauth_error(-14014, "Invalid refresh token")
                self.refresh_tokens.discard(token)  # single use
            elif form.get("grant_type") == "authorization_code":
                if form.get("code") not in self.codes or not form.get("code_verifier"):
                    return _oauth_error(-14003, "Invalid authorization code")
                self.codes.discard(form["code"])
            else:
                return _oauth_error(-14001, "Invalid grant_type")
            return JSONResponse(self._issue())

    def _issue(self) -> dict[str, str]:
        self._issued += 1
        access, refresh = f"at-{self._issued}", f"rt-{self._issued}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        self.events.append(("issued", access, refresh))
        return {"access_token": access, "refresh_token": refresh, "expires_in": "90000"}


def _oauth_error(code: int, name: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_name": name, "error_description": name})
