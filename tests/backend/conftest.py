from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.db import make_session_factory
from nlu import Nlu
from tests.conftest import make_settings


@pytest.fixture
def client(engine: Engine, database_url: str, nlu: Nlu) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url=database_url), nlu=nlu)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


Say = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def say(client: TestClient) -> Say:
    """Send one chat message as `sender`; return the bot's replies."""

    def send(text: str, sender: str = "citizen-1", **extra: Any) -> list[dict[str, Any]]:
        response = client.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": text, **extra}
        )
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()
        return replies

    return send
