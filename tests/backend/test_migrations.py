"""One Alembic tree for both databases: it upgrades to head and matches the models."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from backend.migrate import check
from backend.models import Base


def test_upgrade_head_creates_every_table_without_drift(engine: Engine, database_url: str) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    check(database_url)  # raises when autogenerate would produce a new revision
