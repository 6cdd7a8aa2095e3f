"""/metrics: outbox and report gauges follow the database; webhook answers are counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, update

from backend.app import create_app
from backend.channels.registry import Channels
from backend.db import make_session_factory, unit_of_work
from backend.metrics import webhook_channel
from backend.notifications.models import OutboxMessage
from nlu import Nlu
from tests.backend.test_push_pipeline import FakeAdapter
from tests.conftest import make_settings
from tests.console.test_deliveries import add_message
from tests.console.test_inbox import add_report

TOKEN = "metrics-token-0123456789abcdef"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _client(database_url: str, nlu: Nlu, **overrides: object) -> TestClient:
    channels = Channels(webhook={"sms_gateway": FakeAdapter()}, senders={})
    settings = make_settings(database_url=database_url, **overrides)
    return TestClient(create_app(settings, nlu=nlu, channels=channels))


@pytest.fixture
def client(engine: Engine, database_url: str, nlu: Nlu) -> Iterator[TestClient]:
    with _client(database_url, nlu) as client:
        yield client


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_outbox_gauges_follow_queued_and_dead_messages(client: TestClient, engine: Engine) -> None:
    empty = scrape(client)
    assert value(empty, "paht_metrics_database_up") == 1
    assert value(empty, "paht_outbox_pending_messages", channel="zalo") == 0  # not absent
    assert value(empty, "paht_outbox_oldest_pending_age_seconds", channel="zalo") == 0
    assert value(empty, "paht_outbox_dead_messages", channel="sms") == 0

    now = datetime.now(UTC)
    old = add_message(engine, text="cũ", at=now - timedelta(minutes=30))
    add_message(engine, text="mới", at=now - timedelta(minutes=1))
    add_message(engine, text="sms", channel="sms", recipient="+84900000001", at=now)
    add_message(engine, text="đã gửi", at=now - timedelta(hours=5), status="sent")
    queued = scrape(client)
    assert value(queued, "paht_outbox_pending_messages", channel="zalo") == 2
    assert value(queued, "paht_outbox_pending_messages", channel="sms") == 1
    age = value(queued, "paht_outbox_oldest_pending_age_seconds", channel="zalo")
    assert age is not None and 30 * 60 <= age < 40 * 60  # the sent 5-hour-old one is not counted
    assert value(queued, "paht_outbox_dead_messages", channel="zalo") == 0

    with unit_of_work(make_session_factory(engine)) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == old).values(status="dead"))
    after = scrape(client)
    assert value(after, "paht_outbox_pending_messages", channel="zalo") == 1
    assert value(after, "paht_outbox_dead_messages", channel="zalo") == 1
    age = value(after, "paht_outbox_oldest_pending_age_seconds", channel="zalo")
    assert age is not None and age < 10 * 60


def test_open_reports_are_counted_by_status(client: TestClient, engine: Engine) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    add_report(engine, settings)
    add_report(engine, settings)
    add_report(engine, settings, status="completed")
    samples = scrape(client)
    counted = {
        dict(labels)["status"]: v
        for (name, labels), v in samples.items()
        if name == "paht_reports_open"
    }
    assert sum(counted.values()) == 2 and "completed" not in counted


def test_webhook_answers_are_counted_by_channel_and_status(client: TestClient) -> None:
    def post(signature: str, body: object) -> int:
        headers = {"content-type": "application/json", "x-signature": signature}
        return client.post(
            "/channels/sms/gateway", content=json.dumps(body), headers=headers
        ).status_code

    before = scrape(client)
    assert post("forged", {"id": "1", "from": "x"}) == 403
    assert post("forged", {"id": "2", "from": "x"}) == 403
    assert post("good", {"garbage": True}) == 400
    assert client.post("/webhooks/rest/webhook", json={"nope": 1}).status_code == 422
    client.get("/healthz")  # not a webhook: not counted
    after = scrape(client)

    def added(**labels: str) -> float:
        name = "paht_webhook_requests_total"
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert added(channel="sms", status="403") == 2
    assert added(channel="sms", status="400") == 1
    assert added(channel="web", status="422") == 1
    total = sum(v for (name, _), v in after.items() if name == "paht_webhook_requests_total")
    assert total == 4


def test_webhook_paths_have_a_bounded_set_of_channel_labels() -> None:
    assert webhook_channel("/channels/zalo/webhook") == "zalo"
    assert webhook_channel("/channels/sms/twilio") == "sms"
    assert webhook_channel("/channels/made-up-name/x") == "other"
    assert webhook_channel("/chat/updates") == "web"
    assert webhook_channel("/console/reports") is None
    assert webhook_channel("/metrics") is None


def test_a_token_restricts_the_endpoint(engine: Engine, database_url: str, nlu: Nlu) -> None:
    with _client(database_url, nlu, metrics={"token": TOKEN}) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"authorization": "Bearer wrong"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        samples = scrape(client, authorization=f"Bearer {TOKEN}")
        assert value(samples, "paht_metrics_database_up") == 1


COUNT_IN_PROCESS = """
from backend.metrics import Metrics
Metrics().count_webhook("zalo", 500)
"""
SCRAPE_IN_PROCESS = """
from types import SimpleNamespace
from prometheus_client import generate_latest
from backend.db import make_engine, make_session_factory
from backend.metrics import Metrics, scrape_registry
sessions = make_session_factory(make_engine("sqlite://"))
state = SimpleNamespace(sessions=sessions, metrics=Metrics())
print(generate_latest(scrape_registry(SimpleNamespace(app=SimpleNamespace(state=state)))).decode())
"""


def test_multiprocess_mode_sums_the_workers_counts(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (`paht serve --workers N`) any worker shows every count."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(script: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(COUNT_IN_PROCESS)
    run(COUNT_IN_PROCESS)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(run(SCRAPE_IN_PROCESS))
        for s in family.samples
    }
    assert value(samples, "paht_webhook_requests_total", channel="zalo", status="500") == 2
    assert value(samples, "paht_metrics_database_up") == 0  # no tables in that database
