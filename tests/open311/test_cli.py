"""`paht open311 key add|list|revoke`: a key works once added and stops once revoked."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend import cli
from backend.open311 import cli as open311_cli
from backend.open311.models import Open311Key
from tests.conftest import make_settings
from tests.open311.conftest import submit


def test_key_lifecycle(
    open311: TestClient,
    sessions: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        open311_cli, "get_settings", lambda: make_settings(database_url=database_url)
    )
    runner = CliRunner()
    added = runner.invoke(cli.main, ["open311", "key", "add", "Cổng Dịch vụ công tỉnh"])
    assert added.exit_code == 0, added.output
    key = added.output.strip().splitlines()[-1]
    assert key.startswith("paht311_")
    with sessions() as session:
        [row] = session.scalars(select(Open311Key)).all()
        assert row.key_hash != key and key not in row.key_hash  # only the hash is stored
    assert submit(open311, key).status_code == 200

    listed = runner.invoke(cli.main, ["open311", "key", "list"])
    assert listed.exit_code == 0
    assert "Cổng Dịch vụ công tỉnh" in listed.output and "active" in listed.output
    assert key not in listed.output  # a prefix only

    revoked = runner.invoke(cli.main, ["open311", "key", "revoke", str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(cli.main, ["open311", "key", "list"]).output
    assert submit(open311, key).status_code == 403
    missing = runner.invoke(cli.main, ["open311", "key", "revoke", "999"])
    assert missing.exit_code != 0 and "999" in missing.output
