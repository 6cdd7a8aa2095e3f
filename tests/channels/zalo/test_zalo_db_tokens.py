"""Zalo tokens in the database (`DbTokenStore`), on SQLite and PostgreSQL: durable versioned
saves, rotation shared by every `ZaloTokens` of the deployment, and the one-time import of
the old token file. The fake Zalo's refresh tokens work once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from backend.channels.zalo_token_store import DbTokenStore, token_store_for
from backend.db import make_engine, make_session_factory
from backend.settings import ZaloSettings
from channels.zalo_tokens import FileTokenStore, TokenError, TokenPair, ZaloTokens
from tests.channels.zalo.conftest import NOW
from tests.fakes.zalo_api import APP_ID, APP_SECRET, FakeZalo

PAIR_0 = TokenPair("at-0", "rt-0", NOW + timedelta(hours=20))


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_tokens(
    fake: FakeZalo, fake_url: str, http: httpx.AsyncClient
) -> Callable[[DbTokenStore], ZaloTokens]:
    def make(store: DbTokenStore) -> ZaloTokens:
        return ZaloTokens(
            app_id=APP_ID,
            app_secret_key=APP_SECRET,
            store=store,
            client=lambda: http,
            oauth_base=fake_url,
            clock=lambda: NOW,
        )

    return make


def stored_row(database_url: str) -> tuple[str, str, int]:
    """The row as a separate connection (another process) sees it: committed data only."""
    other = make_engine(database_url)
    try:
        with other.connect() as conn:
            row = conn.execute(
                text("SELECT access_token, refresh_token, version FROM zalo_tokens")
            ).one()
            return row[0], row[1], row[2]
    finally:
        other.dispose()


async def test_a_save_is_committed_and_versioned_when_it_returns(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    store = DbTokenStore(sessions, clock=lambda: NOW)
    with pytest.raises(TokenError) as empty:
        await store.load()
    assert empty.value.reauthorise
    assert await store.status() is None

    await store.save(PAIR_0)
    assert stored_row(database_url) == ("at-0", "rt-0", 1)
    later = TokenPair("at-1", "rt-1", NOW + timedelta(hours=25))
    await DbTokenStore(sessions, clock=lambda: NOW + timedelta(minutes=5)).save(later)
    assert stored_row(database_url) == ("at-1", "rt-1", 2)

    loaded = await store.load()
    assert (loaded.access_token, loaded.refresh_token) == ("at-1", "rt-1")
    assert loaded.expires_at == NOW + timedelta(hours=25)
    status = await store.status()
    assert status is not None and status.version == 2
    assert status.rotated_at == NOW + timedelta(minutes=5)
    assert "at-1" not in repr(status) and "rt-1" not in repr(status)


async def test_a_refresh_is_saved_before_the_new_token_is_handed_out(
    fake: FakeZalo,
    sessions: sessionmaker[Session],
    database_url: str,
    make_tokens: Callable[[DbTokenStore], ZaloTokens],
) -> None:
    await DbTokenStore(sessions).save(PAIR_0)

    class Recording(DbTokenStore):
        async def save(self, pair: TokenPair) -> None:
            await super().save(pair)
            fake.events.append(("saved", *stored_row(database_url)[:2]))

    tokens = make_tokens(Recording(sessions))
    assert await tokens.refresh() == "at-1"
    assert fake.events[-2:] == [("issued", "at-1", "rt-1"), ("saved", "at-1", "rt-1")]
    assert stored_row(database_url) == ("at-1", "rt-1", 2)


async def test_a_pair_rotated_by_one_instance_is_followed_by_the_other(
    fake: FakeZalo,
    sessions: sessionmaker[Session],
    make_tokens: Callable[[DbTokenStore], ZaloTokens],
) -> None:
    """Two processes (app and worker) share the table: the second never refreshes again."""
    await DbTokenStore(sessions).save(PAIR_0)
    first, second = make_tokens(DbTokenStore(sessions)), make_tokens(DbTokenStore(sessions))
    assert await first.access_token() == await second.access_token() == "at-0"
    fake.revoke_access_tokens()
    assert await first.refresh(stale="at-0") == "at-1"  # a send was refused with -216
    assert await second.refresh(stale="at-0") == "at-1"  # followed from the database
    assert fake.refreshes == ["rt-0"]


async def test_concurrent_refreshes_through_one_store_burn_one_refresh_token(
    fake: FakeZalo,
    sessions: sessionmaker[Session],
    database_url: str,
    make_tokens: Callable[[DbTokenStore], ZaloTokens],
) -> None:
    """Both refresh at once: Zalo rotates once, the pair it issued is the one stored, and
    the instance that lost the race ends up on it without another refresh."""
    store = DbTokenStore(sessions)
    await store.save(PAIR_0)
    first, second = make_tokens(store), make_tokens(store)
    for tokens in (first, second):
        await tokens.access_token()
    results = await asyncio.gather(
        first.refresh(stale="at-0"), second.refresh(stale="at-0"), return_exceptions=True
    )
    assert [e for e in fake.events if e[0] == "issued"] == [("issued", "at-1", "rt-1")]
    assert stored_row(database_url) == ("at-1", "rt-1", 2), "the loser saved nothing"
    assert "at-1" in results
    for tokens, result in zip((first, second), results, strict=True):
        if result != "at-1":  # refused before the winner's save landed: follows on retry
            assert isinstance(result, TokenError)
            assert await tokens.refresh(stale="at-0") == "at-1"
    assert set(fake.refreshes) == {"rt-0"}, "rt-1 was never presented"


async def test_the_token_file_is_imported_once_into_an_empty_table(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "zalo-tokens.json"
    await FileTokenStore(path).save(PAIR_0)
    zalo = ZaloSettings(token_file=path, refresh_token="rt-env")  # type: ignore[arg-type]
    store = await token_store_for(zalo, sessions)
    assert isinstance(store, DbTokenStore)
    assert stored_row(database_url) == ("at-0", "rt-0", 1), "the file wins over the seed"

    await store.save(TokenPair("at-1", "rt-1", NOW + timedelta(hours=25)))
    await token_store_for(zalo, sessions)  # the next start: the table is not empty
    assert stored_row(database_url) == ("at-1", "rt-1", 2)


async def test_without_a_file_the_settings_seed_the_table(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    zalo = ZaloSettings(
        token_file=tmp_path / "none.json",
        access_token="at-env",  # type: ignore[arg-type]
        refresh_token="rt-env",  # type: ignore[arg-type]
    )
    await token_store_for(zalo, sessions)
    assert stored_row(database_url) == ("at-env", "rt-env", 1)
    assert not (tmp_path / "none.json").exists()


async def test_the_file_store_stays_available_by_setting(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "zalo-tokens.json"
    zalo = ZaloSettings(token_store="file", token_file=path, refresh_token="rt-env")  # type: ignore[arg-type]
    store = await token_store_for(zalo, sessions)
    assert isinstance(store, FileTokenStore)
    assert (await store.load()).refresh_token == "rt-env"
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM zalo_tokens")).scalar_one() == 0
    no_db = await token_store_for(ZaloSettings(token_file=path), None)
    assert isinstance(no_db, FileTokenStore)
