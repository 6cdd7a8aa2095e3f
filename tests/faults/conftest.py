"""Fault tests: the outbox under provider outages, killed workers, several workers and a
restarted database. They need PostgreSQL (skipped locally when it is absent, an error under
CI) and run real `paht worker` processes against a fake Telegram Bot API on 127.0.0.1.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.migrate import upgrade
from backend.models import Base
from backend.runtime import load_nlu_for
from tests.conftest import _postgres_database, make_settings
from tests.fakes.server import serve
from tests.faults.provider import FaultyProvider
from tests.faults.support import WorkerConfig


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated database of its own on the shared PostgreSQL server."""
    databases = _postgres_database()
    url = next(databases)
    upgrade(url)
    yield url
    next(databases, None)


@pytest.fixture
def pg_factory(pg_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on that database; every table is emptied after the test."""
    engine = make_engine(pg_url)
    yield make_session_factory(engine)
    tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def worker_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NLU model the workers load, trained once (a worker would otherwise train its own)."""
    model_dir = tmp_path_factory.mktemp("faults-nlu")
    empty = tmp_path_factory.mktemp("faults-corrections")
    load_nlu_for(make_settings(nlu={"model_dir": model_dir, "corrections_dir": empty}))
    return model_dir


@pytest.fixture
def provider() -> Iterator[tuple[FaultyProvider, str]]:
    fake = FaultyProvider()
    with serve(fake.app) as url:
        try:
            yield fake, url
        finally:
            fake.release.set()  # a held request must not keep the server from stopping


@pytest.fixture
def worker_config(
    pg_url: str, worker_model_dir: Path, provider: tuple[FaultyProvider, str]
) -> Iterator[WorkerConfig]:
    with tempfile.TemporaryDirectory(prefix="paht-faults-") as home:
        yield WorkerConfig(pg_url, provider[1], worker_model_dir, Path(home))
