"""A fake Telegram Bot API (ASGI) for tests: python-telegram-bot's wire format, recorded.

Serve it with `tests.fakes.server.serve(fake.app)` and point PTB at
`{url}/bot` and `{url}/file/bot`. It answers `POST|GET /bot<token>/<method>` with
form-urlencoded, multipart or JSON parameters (`reply_markup` arrives as a JSON
string), records every call, serves `GET /file/bot<token>/<file_path>`, queues
updates for getUpdates (confirmed by `offset`, held like a long poll when empty)
and can be told to fail the next call with any status and body.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "PAHT", "username": "paht_test_bot"}


@dataclass(frozen=True)
class Call:
    """One Bot API request the fake received."""

    method: str
    params: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)

    def json(self, name: str) -> Any:
        """A parameter PTB sent JSON-encoded (reply_markup, allowed_updates)."""
        return json.loads(self.params[name])


class FakeTelegramApi:
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.hold_seconds = 0.5  # longest wait of an empty getUpdates
        self._failures: deque[tuple[int, bytes, float]] = deque()
        self._ids = itertools.count(1001)
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )

    # -- what a test tells the fake ---------------------------------------------------------

    def fail_next(self, status: int, body: bytes = b"", *, delay: float = 0.0) -> None:
        """Answer the next API call with this status and body (after `delay` seconds)."""
        self._failures.append((status, body, delay))

    def rate_limit_next(self, retry_after: int) -> None:
        self.fail_next(
            429, _error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        )

    def block_next(self) -> None:
        self.fail_next(403, _error(403, "Forbidden: bot was blocked by the user"))

    def chat_not_found_next(self) -> None:
        self.fail_next(400, _error(400, "Bad Request: chat not found"))

    def add_update(self, update: dict[str, Any]) -> None:
        self.updates.append(update)

    def add_file(self, file_id: str, file_path: str, content: bytes) -> None:
        self.files[file_id] = (file_path, content)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def reset(self) -> None:
        self.calls.clear()
        self.updates.clear()
        self.files.clear()
        self._failures.clear()
        self.hold_seconds = 0.5

    # -- the API ---------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(_error(401, "Unauthorized"), 401, media_type="application/json")
        method = request.path_params["method"]
        params, files = await _parameters(request)
        self.calls.append(Call(method, params, files))
        if self._failures:
            status, body, delay = self._failures.popleft()
            await asyncio.sleep(delay)
            return Response(body, status, media_type="application/json")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return Response(_error(404, "Not Found"), 404, media_type="application/json")
        result = await handler(params)
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        for file_path, content in self.files.values():
            if file_path == request.path_params["path"]:
                return Response(content, media_type="application/octet-stream")
        return Response(status_code=404)

    async def _m_getMe(self, params: dict[str, str]) -> Any:
        return BOT_USER

    async def _m_sendMessage(self, params: dict[str, str]) -> Any:
        return self._message(params, text=params.get("text", ""))

    async def _m_sendPhoto(self, params: dict[str, str]) -> Any:
        photo = {"file_id": "sent-photo", "file_unique_id": "sp", "width": 800, "height": 600}
        return self._message(params, photo=[photo], caption=params.get("caption"))

    async def _m_answerCallbackQuery(self, params: dict[str, str]) -> Any:
        return True

    async def _m_setWebhook(self, params: dict[str, str]) -> Any:
        return True

    async def _m_getFile(self, params: dict[str, str]) -> Any:
        file_id = params.get("file_id", "")
        if file_id not in self.files:
            return Response(
                _error(400, "Bad Request: invalid file_id"), 400, media_type="application/json"
            )
        path, content = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(content),
            "file_path": path,
        }

    async def _m_getUpdates(self, params: dict[str, str]) -> Any:
        offset = int(params.get("offset", 0))
        self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed
        started, timeout = time.monotonic(), float(params.get("timeout", 0))
        while not self.updates and time.monotonic() - started < min(timeout, self.hold_seconds):
            await asyncio.sleep(0.01)
        return self.updates[: int(params.get("limit", 100))]

    def _message(self, params: dict[str, str], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id", "0")
        chat = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else 0, "type": "private"}
        fields = {k: v for k, v in content.items() if v is not None}
        message_id = next(self._ids)
        return {"message_id": message_id, "from": BOT_USER, "chat": chat, "date": 0, **fields}


async def _parameters(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    params: dict[str, str] = dict(request.query_params)
    files: dict[str, bytes] = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.json()
        params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    elif request.method == "POST":
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = await value.read()
                else:
                    params[key] = value
    return params, files


def _error(code: int, description: str, retry_after: int | None = None) -> bytes:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return json.dumps(body).encode()
