"""Shared fixtures: deployment settings, the NLU engine, and both databases.

Backend tests run on SQLite and PostgreSQL. The PostgreSQL server is expected
at PAHT_TEST_POSTGRES_URL (default: local trust auth, database `test`); each
session creates and drops its own database. Locally, an absent server skips
the PostgreSQL half; under CI (CI=true) it is an error.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from backend.db import make_engine
from backend.migrate import upgrade
from backend.models import Base
from backend.settings import Settings, load_settings
from nlu import Nlu, load_nlu

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "PAHT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True, scope="session")
def _offline() -> Iterator[None]:
    """No test may reach beyond 127.0.0.1."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            raise OSError(f"network access blocked in tests: {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]


def make_settings(**overrides: object) -> Settings:
    os.environ.setdefault("PAHT_CONFIG", str(ROOT / "paht.toml"))
    overrides.setdefault("env", "test")
    return load_settings(**overrides)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def nlu(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Nlu:
    return load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=tmp_path_factory.mktemp("nlu-model"),
    )


def _postgres_database() -> Iterator[str]:
    import psycopg

    admin = make_url(PG_ADMIN_URL)
    name = f"paht_test_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL required under CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'paht.db'}"
        upgrade(url)
        yield url
        return
    generator = _postgres_database()
    url = next(generator)
    upgrade(url)
    yield url
    next(generator, None)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The database engine; every table is emptied after the test."""
    engine = make_engine(database_url)
    yield engine
    with engine.begin() as conn:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
