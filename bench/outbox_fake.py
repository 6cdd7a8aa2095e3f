"""The outbox benchmark's fake Telegram Bot API: as little as a provider can do, in its own
process (`python bench/outbox_fake.py --port PORT`, started by bench/outbox.py).

A bare ASGI app under uvicorn: sendMessage is answered at once and recorded (chat, text,
arrival time); getMe answers; /_bench/count, /_bench/dump and /_bench/reset are for the
benchmark.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from urllib.parse import parse_qsl


class FakeBotApi:
    """sendMessage answered at once and recorded; /_bench/count, /_bench/dump, /_bench/reset."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, float]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await _answer(send, self._handle(scope["path"], scope, body))

    def _handle(self, path: str, scope: dict[str, Any], body: bytes) -> dict[str, Any]:
        if path.endswith("/sendMessage"):
            now = time.time()
            params = _params(scope, body)
            chat, text = params["chat_id"], params["text"]
            self.received.append((chat, text, now))
            chat_obj = {"id": int(chat), "type": "private"}
            message = {"message_id": len(self.received), "date": int(now), "chat": chat_obj}
            return {"ok": True, "result": {**message, "text": text}}
        if path.endswith("/getMe"):
            return {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "PAHT"}}
        if path == "/_bench/count":
            return {"count": len(self.received)}
        if path == "/_bench/dump":
            return {"received": self.received}
        if path == "/_bench/reset":
            self.received = []
            return {"ok": True}
        return {"ok": False, "error_code": 404, "description": "Not Found"}


def _params(scope: dict[str, Any], body: bytes) -> dict[str, str]:
    headers = dict(scope["headers"])
    if headers.get(b"content-type", b"").startswith(b"application/json"):
        return {k: str(v) for k, v in json.loads(body).items()}
    return dict(parse_qsl(body.decode()))


async def _answer(send: Any, payload: dict[str, Any]) -> None:
    status = 404 if payload.get("error_code") == 404 else 200
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


def run_fake(port: int) -> None:
    import uvicorn

    uvicorn.run(FakeBotApi(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    run_fake(parser.parse_args().port)
