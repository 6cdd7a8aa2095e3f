"""A fake Vietnamese SMS aggregator: records the templated send requests, answers as configured.

Any path and method is accepted and recorded (method, path, raw query string,
headers, body bytes). By default it answers 200 `{"code": "00", "data":
{"message_id": "gw-<n>"}}`; `answer_next(status, body, headers)` queues a
different answer (an error code, a 429 with Retry-After, a body that is not JSON).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class GatewayCall:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str]


class FakeGateway:
    def __init__(self) -> None:
        self.calls: list[GatewayCall] = []
        self._answers: deque[_Answer] = deque()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[Route("/{path:path}", self._receive, methods=["GET", "POST", "PUT"])]
        )

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._answers.clear()

    def answer_next(
        self, status: int, body: bytes | dict[str, Any] = b"", headers: dict[str, str] | None = None
    ) -> None:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        with self._lock:
            self._answers.append(_Answer(status, raw, dict(headers or {})))

    async def _receive(self, request: Request) -> Response:
        call = GatewayCall(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        with self._lock:
            self.calls.append(call)
            answer = self._answers.popleft() if self._answers else None
            number = len(self.calls)
        if answer is None:
            body = {"code": "00", "data": {"message_id": f"gw-{number}"}}
            answer = _Answer(200, json.dumps(body).encode(), {})
        return Response(answer.body, answer.status, answer.headers, "application/json")
