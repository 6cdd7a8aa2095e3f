"""`paht chat`: the bot in a terminal, through the same runner as the web chat.

Without `--url` it talks to the configured database in-process; with `--url`
it posts to a running server's REST webhook (httpx).
"""

from __future__ import annotations

import uuid
from typing import Any, TextIO

import httpx

from backend.settings import Settings


def run_chat(settings: Settings, sender: str, url: str | None, stdin: TextIO, out: TextIO) -> None:
    send = _remote(url, sender) if url else _local(settings, sender)
    out.write("Trò chuyện với bot phản ánh hiện trường. Gõ «thoát» để kết thúc.\n")
    options: list[dict[str, str]] = []
    for line in stdin:
        text = line.rstrip("\n")
        if text.strip().lower() in {"thoát", "thoat", "exit", "quit"}:
            break
        if text.strip().isdigit() and 0 < int(text) <= len(options):
            text = options[int(text) - 1]["payload"]
        options = []
        for reply in send(text):
            out.write(f"bot> {reply.get('text', '')}\n")
            for i, button in enumerate(reply.get("buttons", []), 1):
                out.write(f"     {i}. {button['title']}\n")
                options.append(button)
        out.flush()


def _remote(url: str, sender: str) -> Any:
    client = httpx.Client(base_url=url, timeout=30)

    def send(text: str) -> list[dict[str, Any]]:
        body = {"sender": sender, "message": text, "message_id": uuid.uuid4().hex}
        response = client.post("/webhooks/rest/webhook", json=body)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    return send


def _local(settings: Settings, sender: str) -> Any:
    from backend.conversations.service import ChatContext, bot_config, handle_inbound
    from backend.db import make_engine, make_session_factory, unit_of_work, utcnow
    from backend.runtime import load_nlu_for
    from channels import web

    factory = make_session_factory(make_engine(settings.database_url))
    ctx = ChatContext(
        settings=settings,
        nlu=load_nlu_for(settings),
        bot=bot_config(settings),
    )

    def send(text: str) -> list[dict[str, Any]]:
        body = web.RestMessage(sender=sender, message=text, message_id=uuid.uuid4().hex)
        with unit_of_work(factory) as session:
            replies = handle_inbound(session, msg=web.parse(body), ctx=ctx, now=utcnow())
        return web.render(replies, sender)

    return send
