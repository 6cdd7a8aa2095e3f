"""The stored Zalo pair guarded: encrypted at rest under `[zalo] token_key` (key rotation,
plain rows adopted, a wrong key named without leaking a token), and one refresh at a time
across processes through the store's refresh lock, on SQLite and PostgreSQL (and the file
store's flock). Two `ZaloTokens` with their own store objects stand for two processes; the
fake Zalo's OAuth answers slowly so that, unlocked, both would present the refresh token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from backend.channels.zalo_token_store import DbTokenStore, TokenCipher, token_store_for
from backend.db import make_engine, make_session_factory
from backend.settings import ConfigError, ZaloSettings
from channels.zalo_tokens import FileTokenStore, TokenError, TokenPair, TokenStore, ZaloTokens
from tests.channels.zalo.conftest import NOW
from tests.conftest import make_settings
from tests.fakes.zalo_api import APP_ID, APP_SECRET, FakeZalo

PAIR_0 = TokenPair("at-0", "rt-0", NOW + timedelta(hours=20))
KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
ZALO_APP = {"app_id": "1234", "oa_secret_key": "oa-s3cr3t-k3y", "app_secret_key": "app-s3cr3t"}


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
async def slow_http() -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests take a moment to leave: the window two processes race in."""

    async def pause(_request: httpx.Request) -> None:
        await asyncio.sleep(0.3)

    async with httpx.AsyncClient(event_hooks={"request": [pause]}) as client:
        yield client


def tokens_for(store: TokenStore, url: str, http: httpx.AsyncClient) -> ZaloTokens:
    return ZaloTokens(
        app_id=APP_ID,
        app_secret_key=APP_SECRET,
        store=store,
        client=lambda: http,
        oauth_base=url,
        clock=lambda: NOW,
    )


def raw_row(database_url: str) -> tuple[str, str, bool, int]:
    """The row as another process reads it: committed data, ciphertext as stored."""
    other = make_engine(database_url)
    try:
        with other.connect() as conn:
            query = "SELECT access_token, refresh_token, encrypted, version FROM zalo_tokens"
            row = conn.execute(text(query)).one()
            return row[0], row[1], bool(row[2]), row[3]
    finally:
        other.dispose()


def zalo_settings(tmp_path: Path, key: str | None = KEY, *old: str) -> ZaloSettings:
    return ZaloSettings(
        token_file=tmp_path / "none.json",
        token_key=key,  # type: ignore[arg-type]
        token_old_keys=list(old),  # type: ignore[arg-type]
    )


async def test_with_a_key_the_tokens_are_stored_encrypted(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    store = DbTokenStore(sessions, cipher=TokenCipher(KEY))
    await store.save(PAIR_0)
    access, refresh, encrypted, _ = raw_row(database_url)
    assert encrypted and "at-0" not in access and "rt-0" not in refresh
    assert Fernet(KEY).decrypt(refresh).decode() == "rt-0"
    loaded = await DbTokenStore(sessions, cipher=TokenCipher(KEY)).load()
    assert (loaded.access_token, loaded.refresh_token) == ("at-0", "rt-0")


async def test_a_plain_row_is_encrypted_once_a_key_is_set(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    await DbTokenStore(sessions).save(PAIR_0)  # written before encryption was turned on
    assert raw_row(database_url) == ("at-0", "rt-0", False, 1)
    keyed = DbTokenStore(sessions, cipher=TokenCipher(KEY))
    assert (await keyed.load()).refresh_token == "rt-0", "a plain row is still read"
    await keyed.save(TokenPair("at-1", "rt-1", NOW + timedelta(hours=25)))  # the next save
    access, refresh, encrypted, version = raw_row(database_url)
    assert encrypted and version == 2 and "at-1" not in access and "rt-1" not in refresh

    await DbTokenStore(sessions).save(PAIR_0)  # plain again, then a start with the key
    store = await token_store_for(zalo_settings(tmp_path), sessions)
    _, refresh, encrypted, version = raw_row(database_url)
    assert encrypted and version == 3, "sealed at start, not counted as a rotation"
    assert (await store.load()).access_token == "at-0"


async def test_a_rotated_key_reads_the_old_one_and_re_encrypts(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    await DbTokenStore(sessions, cipher=TokenCipher(OLD_KEY)).save(PAIR_0)
    store = await token_store_for(zalo_settings(tmp_path, KEY, OLD_KEY), sessions)
    assert Fernet(KEY).decrypt(raw_row(database_url)[1]).decode() == "rt-0"
    assert (await store.load()).refresh_token == "rt-0"
    assert (await DbTokenStore(sessions, cipher=TokenCipher(KEY)).load()).access_token == "at-0"


async def test_a_wrong_or_missing_key_is_named_and_no_token_is_logged(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    slow_http: httpx.AsyncClient,
) -> None:
    caplog.set_level(logging.DEBUG)
    await DbTokenStore(sessions, cipher=TokenCipher(OLD_KEY)).save(PAIR_0)
    with pytest.raises(ConfigError, match=r"zalo\.token_key: .*do not decrypt.*token_old_keys"):
        await token_store_for(zalo_settings(tmp_path, KEY), sessions)
    wrong_key = DbTokenStore(sessions, cipher=TokenCipher(KEY))
    tokens = tokens_for(wrong_key, "http://127.0.0.1:9", slow_http)
    with pytest.raises(TokenError, match=r"zalo\.token_key") as raised:
        await tokens.access_token()
    assert not raised.value.reauthorise, "the pair is fine, the configuration is not"
    with pytest.raises(TokenError, match=r"zalo\.token_key: .*encrypted, set PAHT_ZALO__TOKEN_KEY"):
        await DbTokenStore(sessions).load()
    assert "at-0" not in caplog.text and "rt-0" not in caplog.text


def test_the_key_is_checked_when_the_settings_load() -> None:
    with pytest.raises(
        ConfigError, match=r"zalo\.token_key: .*not a Fernet key.*generate_key"
    ) as bad:
        make_settings(zalo={"token_key": "my-passphrase-123"})
    assert "my-passphrase-123" not in str(bad.value)
    with pytest.raises(ConfigError, match=r"zalo\.token_old_keys: .*entry 0 is not a Fernet key"):
        make_settings(zalo={"token_key": KEY, "token_old_keys": ["short"]})
    assert make_settings(zalo={"token_key": KEY}).zalo.token_key is not None


def test_production_with_tokens_in_the_database_refuses_to_start_without_a_key() -> None:
    production = {"env": "production", "session_secret": "s" * 40}
    with pytest.raises(ConfigError, match=r"zalo\.token_key: set PAHT_ZALO__TOKEN_KEY"):
        make_settings(**production, zalo=ZALO_APP)
    make_settings(**production, zalo={**ZALO_APP, "token_key": KEY})
    make_settings(**production, zalo={**ZALO_APP, "token_store": "file"})
    make_settings(**production)  # Zalo not configured: nothing to encrypt
    make_settings(zalo=ZALO_APP)  # development: plain tokens allowed


@pytest.mark.parametrize("cipher", [None, TokenCipher(KEY)], ids=["plain", "encrypted"])
async def test_two_processes_refreshing_at_once_make_one_oauth_call(
    fake: FakeZalo,
    fake_url: str,
    slow_http: httpx.AsyncClient,
    sessions: sessionmaker[Session],
    database_url: str,
    cipher: TokenCipher | None,
) -> None:
    await DbTokenStore(sessions, cipher=cipher).save(PAIR_0)
    app, worker = (
        tokens_for(DbTokenStore(sessions, cipher=cipher), fake_url, slow_http) for _ in range(2)
    )
    results = await asyncio.gather(app.refresh(stale="at-0"), worker.refresh(stale="at-0"))
    assert results == ["at-1", "at-1"]
    assert fake.refreshes == ["rt-0"], "exactly one refresh reached Zalo"
    assert raw_row(database_url)[3] == 2
    assert await app.access_token() == await worker.access_token() == "at-1"
    assert fake.refreshes == ["rt-0"]


async def test_a_held_refresh_lock_times_out_with_a_token_error(
    fake: FakeZalo,
    fake_url: str,
    slow_http: httpx.AsyncClient,
    sessions: sessionmaker[Session],
) -> None:
    holder = DbTokenStore(sessions)
    await holder.save(PAIR_0)
    waiting = tokens_for(DbTokenStore(sessions, lock_timeout=0.2), fake_url, slow_http)
    async with holder.refresh_lock():
        with pytest.raises(TokenError, match=r"refresh lock not obtained within 0\.2 s"):
            await waiting.refresh(stale="at-0")
        assert fake.refreshes == []
    assert await waiting.refresh(stale="at-0") == "at-1", "released: the next refresh works"
    with sessions() as session:  # the lock's connection went back to the pool intact
        assert session.execute(text("SELECT count(*) FROM zalo_tokens")).scalar_one() == 1


async def test_file_stores_of_two_processes_refresh_once(
    fake: FakeZalo, fake_url: str, slow_http: httpx.AsyncClient, token_file: Path
) -> None:
    app, worker = (tokens_for(FileTokenStore(token_file), fake_url, slow_http) for _ in range(2))
    results = await asyncio.gather(app.refresh(stale="at-0"), worker.refresh(stale="at-0"))
    assert results == ["at-1", "at-1"]
    assert fake.refreshes == ["rt-0"]
    assert (await FileTokenStore(token_file).load()).refresh_token == "rt-1"
