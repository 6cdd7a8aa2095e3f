"""`pipeline = "worker"`: the web app only acknowledges; `paht worker` runs the bot and sends."""

from __future__ import annotations

import asyncio
import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.app import create_app
from backend.channels.registry import Channels
from backend.runtime import run_worker
from nlu import Nlu
from tests.backend.test_push_pipeline import FakeAdapter, _post, _wait_for
from tests.conftest import make_settings


def test_the_app_only_acknowledges_and_a_worker_answers(
    engine: Engine, database_url: str, nlu: Nlu
) -> None:
    adapter = FakeAdapter()
    channels = Channels(webhook={"sms_gateway": adapter}, senders={"fake": adapter})
    settings = make_settings(database_url=database_url, pipeline="worker")
    with TestClient(create_app(settings, nlu=nlu, channels=channels)) as client:
        assert _post(client, {"id": "m1", "from": "+84912345678", "text": "xin chào"}) == 200
        time.sleep(1.5)
        assert adapter.sent == []  # stored, not handled: no pipeline in the web process

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    worker = threading.Thread(
        target=loop.run_until_complete,
        args=(run_worker(settings, stop=stop, nlu=nlu, channels=channels),),
    )
    worker.start()
    try:
        _wait_for(lambda: adapter.sent)
        assert "Xin chào" in adapter.sent[0].payload["text"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        worker.join(timeout=10)
        loop.close()
    assert not worker.is_alive()
