"""PostgreSQL goes down (`pg_ctl stop -m immediate`, as a crash would) while a `paht worker`
is sending, and comes back: the worker survives and every message still reaches its citizen,
in order.

The server is a private one (tests/faults/pgserver.py), so the shared one is left alone.
What the dispatcher guarantees here: a message is lost never, and a live worker sends none
twice: outcomes it could not record while the database was down are kept in memory and
recorded first once it is back, before anything is claimed again.
"""

from __future__ import annotations

import itertools
import os
import pwd
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.migrate import upgrade
from tests.faults.pgserver import PrivateServer, find_bindir
from tests.faults.provider import FaultyProvider
from tests.faults.support import (
    WorkerConfig,
    all_sent,
    expected_by_chat,
    queue,
    start_workers,
    wait_until,
)

pytestmark = pytest.mark.postgres


def _unavailable() -> str | None:
    if find_bindir() is None:
        return "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the database restart test must run under CI: {reason}")
        pytest.skip(reason)
    bindir = find_bindir()
    assert bindir is not None
    server = PrivateServer(bindir)
    try:
        server.init()
        server.start()
        with psycopg.connect(server.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
            c.execute("CREATE DATABASE paht")
        upgrade(server.url("paht"))
        yield server
    finally:
        server.remove()


def test_the_worker_survives_a_database_restart_and_loses_nothing(
    private_pg: PrivateServer,
    provider: tuple[FaultyProvider, str],
    worker_model_dir: Path,
    tmp_path: Path,
) -> None:
    fake, api_base = provider
    fake.delay = 0.02
    url = private_pg.url("paht")
    engine = make_engine(url)
    factory: sessionmaker[Session] = make_session_factory(engine)
    config = WorkerConfig(url, api_base, worker_model_dir, tmp_path, lease_seconds=3)
    [worker] = start_workers(config, "w")
    try:
        texts = queue(factory, citizens=20, each=10)
        wait_until(lambda: len(fake.delivered()) >= 30, 30, "messages to flow")
        down = time.time()
        private_pg.stop("immediate")
        wait_until(lambda: "pipeline round failed" in worker.log(), 20, "the worker to notice")
        wait_until(lambda: time.time() - down > 2, 5, "the outage to last a while")
        private_pg.start()
        wait_until(lambda: all_sent(factory, len(texts)), 40, "the outbox to drain")
        assert worker.proc.poll() is None, "the worker died with the database"
    finally:
        worker.stop()
        engine.dispose()

    counts = fake.counts()
    assert set(counts) == set(texts)  # nothing lost
    assert {text: n for text, n in counts.items() if n > 1} == {}  # nothing twice
    expected = expected_by_chat(texts)
    for chat, got in fake.by_chat().items():
        assert [text for text, _ in itertools.groupby(got)] == expected[chat], chat
