"""The Zalo OA token pair kept in the database: `DbTokenStore`, and which store a deployment uses.

`DbTokenStore` is the `channels.zalo_tokens.TokenStore` of a deployment with a
database (the default, `[zalo] token_store = "database"`): every process (web app,
`paht worker`s) reads and rotates the same pair, so the one that refreshed is
followed by the others instead of burning the single-use refresh token again.

A save is one transaction that writes the pair, bumps `version` and sets
`rotated_at`, and it is committed before `save` returns: the pair Zalo just issued
is durable before it is used. This is the one place in the backend that commits on
its own, because the `TokenStore` contract (durable on return) demands it and no
unit of work of a request may hold it back or roll it back.

One refresh at a time across processes: `refresh_lock` (the `RefreshLocking` of
`channels.zalo_tokens`) opens a transaction that locks the row (`SELECT ... FOR
UPDATE` with `lock_timeout` on PostgreSQL; `BEGIN IMMEDIATE` with `busy_timeout` on
SQLite, which holds the database's write lock for the OAuth call, once a day) and
keeps it while `ZaloTokens` re-reads, refreshes and saves. `load` and `save` of the
task holding the lock go through that transaction (a context variable says so); the
save inside it, the last step, commits it: the pair is durable and the lock released.

Secrets at rest: with `[zalo] token_key` (a Fernet key; earlier keys in
`token_old_keys`) both tokens are stored encrypted and the row is marked `encrypted`.
A row written before the key was set, or under an older key, is re-encrypted when the
store is opened (`token_store_for`) and by every save. Without a key the tokens are
stored as they are (refused in production). An undecryptable row is a `TokenError`
naming the setting; no token is ever logged. The console never shows the tokens.

`token_store_for` picks the store from the settings; on first use an empty table
adopts the pair of the old token file (or the first pair of the settings) once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.channels.token_models import TOKEN_ROW_ID, ZaloTokenRow
from backend.settings import ConfigError, ZaloSettings
from channels.zalo_tokens import Clock, FileTokenStore, TokenError, TokenPair, TokenStore

log = logging.getLogger(__name__)
KEY_SETTING = "zalo.token_key"
ROW = select(ZaloTokenRow).where(ZaloTokenRow.id == TOKEN_ROW_ID)


@dataclass(frozen=True)
class TokenStatus:
    """What the console may show about the stored pair: never the tokens themselves."""

    expires_at: datetime
    rotated_at: datetime | None
    version: int | None


class TokenCipher:
    """Fernet under `token_key`; decrypts what the keys of `token_old_keys` encrypted too."""

    def __init__(self, key: str, *old_keys: str) -> None:
        self._primary = Fernet(key)
        self._any = MultiFernet([self._primary, *(Fernet(k) for k in old_keys)])

    @classmethod
    def from_settings(cls, zalo: ZaloSettings) -> TokenCipher | None:
        if zalo.token_key is None:
            return None
        old = (k.get_secret_value() for k in zalo.token_old_keys)
        return cls(zalo.token_key.get_secret_value(), *old)

    def seal(self, token: str) -> str:
        return self._primary.encrypt(token.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        return self._any.decrypt(sealed).decode()

    def is_current(self, sealed: str) -> bool:
        """Whether `sealed` is encrypted under `token_key` itself (not an old key)."""
        try:
            self._primary.decrypt(sealed)
        except InvalidToken:
            return False
        return True


@dataclass
class _Held:
    """The refresh lock of a store: its own connection, in a transaction that locks the row.

    The save made inside it commits that transaction, which ends the lock (`spent`):
    the pair is durable and the critical section is over.
    """

    store: DbTokenStore
    session: Session
    connection: Connection
    busy_timeout: int | None  # SQLite's, restored when the lock is released
    spent: bool = False


_HELD: ContextVar[_Held | None] = ContextVar("zalo_token_refresh_lock", default=None)


class DbTokenStore:
    """The pair in the one-row `zalo_tokens` table; saves commit before returning."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Clock = lambda: datetime.now(UTC),
        cipher: TokenCipher | None = None,
        lock_timeout: float = 30.0,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cipher = cipher
        self._lock_timeout = lock_timeout
        self._local = asyncio.Lock()  # the tasks of this process queue here, not in the database

    async def load(self) -> TokenPair:
        return await asyncio.to_thread(self._load, self._held())

    async def save(self, pair: TokenPair) -> None:
        await asyncio.to_thread(self._save, pair, self._held())

    async def save_if_empty(self, pair: TokenPair) -> bool:
        """Store `pair` only when the table has none yet; True if it was stored."""
        return await asyncio.to_thread(self._insert, pair)

    async def status(self) -> TokenStatus | None:
        row = await asyncio.to_thread(self._row)
        if row is None:
            return None
        return TokenStatus(row.expires_at, row.rotated_at, row.version)

    async def reseal(self) -> bool:
        """Encrypt a pair stored plain or under an old key with `token_key`; True if rewritten."""
        return await asyncio.to_thread(self._reseal)

    @asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        """Hold the row lock (see the module docstring); `TokenError` if not had in time."""
        if self._held() is not None:  # re-entered by the task holding it
            yield
            return
        async with self._local:
            held = await self._acquire_async()
            reset = _HELD.set(held)
            try:
                yield
            finally:
                _HELD.reset(reset)
                await asyncio.to_thread(self._release, held)

    async def _acquire_async(self) -> _Held:
        acquiring = asyncio.ensure_future(asyncio.to_thread(self._acquire))
        try:
            return await asyncio.shield(acquiring)
        except asyncio.CancelledError:  # the thread goes on: release what it obtains
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._release, await acquiring)
            raise

    def _held(self) -> _Held | None:
        held = _HELD.get()
        return held if held is not None and held.store is self and not held.spent else None

    def _acquire(self) -> _Held:
        with self._sessions() as probe:
            connection = probe.get_bind().engine.connect()
        busy = None
        if connection.dialect.name == "sqlite":
            busy = _sqlite_busy_timeout(connection, int(self._lock_timeout * 1000))
        held = _Held(self, self._sessions(bind=connection), connection, busy)
        try:
            self._lock_row(held.session)
        except DBAPIError as exc:
            self._release(held)
            raise TokenError(
                f"Zalo token refresh lock not obtained within {self._lock_timeout:g} s "
                f"({type(exc.orig).__name__})"
            ) from exc
        except BaseException:
            self._release(held)
            raise
        return held

    def _lock_row(self, session: Session) -> None:
        """Begin (SQLite: BEGIN IMMEDIATE) and lock the row (PostgreSQL: FOR UPDATE)."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL lock_timeout = {int(self._lock_timeout * 1000)}"))
        session.execute(ROW.with_for_update().execution_options(populate_existing=True)).all()

    def _release(self, held: _Held) -> None:
        try:
            held.session.close()  # rolls back: what was saved inside the lock is committed
            if held.busy_timeout is not None:
                _sqlite_busy_timeout(held.connection, held.busy_timeout)
        finally:
            held.connection.close()

    def _row(self) -> ZaloTokenRow | None:
        with self._sessions() as session:
            return session.get(ZaloTokenRow, TOKEN_ROW_ID)

    def _load(self, held: _Held | None) -> TokenPair:
        if held is not None:
            row = held.session.get(ZaloTokenRow, TOKEN_ROW_ID, populate_existing=True)
        else:
            row = self._row()
        if row is None:
            raise TokenError("no Zalo tokens in the database", reauthorise=True)
        return self._unseal(row)

    def _save(self, pair: TokenPair, held: _Held | None) -> None:
        if held is not None:
            held.spent = True  # committed or failed, the lock's transaction is over
            self._write(held.session, pair)
            held.session.commit()
            return
        for attempt in (1, 2):
            try:
                with self._sessions.begin() as session:  # commits on leaving the block
                    self._write(session, pair)
                return
            except IntegrityError:  # another process inserted the first row meanwhile
                if attempt == 2:
                    raise

    def _write(self, session: Session, pair: TokenPair) -> None:
        query = ROW.with_for_update().execution_options(populate_existing=True)
        row = session.scalars(query).one_or_none()
        if row is None:
            session.add(self._new_row(pair))
            return
        self._seal_into(row, pair)
        row.expires_at, row.version = pair.expires_at, row.version + 1
        row.rotated_at = self._clock()

    def _insert(self, pair: TokenPair) -> bool:
        try:
            with self._sessions.begin() as session:
                if session.get(ZaloTokenRow, TOKEN_ROW_ID) is not None:
                    return False
                session.add(self._new_row(pair))
        except IntegrityError:
            return False
        return True

    def _reseal(self) -> bool:
        cipher = self._cipher
        if cipher is None:
            return False
        with self._sessions.begin() as session:
            row = session.scalars(ROW.with_for_update()).one_or_none()
            if row is None or (
                row.encrypted
                and cipher.is_current(row.access_token)
                and cipher.is_current(row.refresh_token)
            ):
                return False
            self._seal_into(row, self._unseal(row))
        return True

    def _new_row(self, pair: TokenPair) -> ZaloTokenRow:
        row = ZaloTokenRow(
            id=TOKEN_ROW_ID, expires_at=pair.expires_at, version=1, rotated_at=self._clock()
        )
        self._seal_into(row, pair)
        return row

    def _seal_into(self, row: ZaloTokenRow, pair: TokenPair) -> None:
        cipher = self._cipher
        row.access_token = cipher.seal(pair.access_token) if cipher else pair.access_token
        row.refresh_token = cipher.seal(pair.refresh_token) if cipher else pair.refresh_token
        row.encrypted = cipher is not None

    def _unseal(self, row: ZaloTokenRow) -> TokenPair:
        if not row.encrypted:
            return TokenPair(row.access_token, row.refresh_token, row.expires_at)
        if self._cipher is None:
            raise TokenError(
                f"{KEY_SETTING}: the Zalo tokens in the database are encrypted, "
                "set PAHT_ZALO__TOKEN_KEY"
            )
        try:
            access, refresh = (
                self._cipher.open(row.access_token),
                self._cipher.open(row.refresh_token),
            )
        except InvalidToken:
            raise TokenError(
                f"{KEY_SETTING}: the Zalo tokens in the database do not decrypt with it "
                "(after a key change the previous key belongs in zalo.token_old_keys)"
            ) from None
        return TokenPair(access, refresh, row.expires_at)


def _sqlite_busy_timeout(connection: Connection, milliseconds: int) -> int:
    """Set SQLite's busy timeout on `connection` before it begins; returns the previous one."""
    raw = connection.connection.driver_connection
    assert raw is not None
    previous = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute(f"PRAGMA busy_timeout = {milliseconds}")
    return previous


async def token_store_for(zalo: ZaloSettings, sessions: sessionmaker[Session] | None) -> TokenStore:
    """The store `[zalo] token_store` names, holding a pair when one is known.

    Without a database at hand (`sessions` None) the file store is used. An empty
    table adopts the pair of `token_file` once (then the file is no longer read), or
    else the first pair of the settings; an absent file gets that first pair too.
    """
    seed = _seed_pair(zalo)
    if zalo.token_store == "file" or sessions is None:
        if zalo.token_store == "database":
            log.warning("no database for the Zalo tokens: using %s", zalo.token_file)
        store = FileTokenStore(zalo.token_file)
        if seed is not None and not zalo.token_file.exists():
            zalo.token_file.parent.mkdir(parents=True, exist_ok=True)
            await store.save(seed)
        return store
    db_store = DbTokenStore(sessions, cipher=TokenCipher.from_settings(zalo))
    first = await _file_pair(zalo.token_file) or seed
    if first is not None and await db_store.save_if_empty(first):
        log.warning("Zalo tokens moved into the database; %s may be deleted", zalo.token_file)
    try:
        if await db_store.reseal():
            log.warning("Zalo tokens in the database encrypted with %s", KEY_SETTING)
    except TokenError as exc:
        raise ConfigError(str(exc)) from None
    return db_store


def _seed_pair(zalo: ZaloSettings) -> TokenPair | None:
    if not zalo.refresh_token:
        return None
    # Expiry unknown: "now", so the first use refreshes and the access token is never sent
    # (a placeholder when none is configured: the file store refuses an empty one).
    access = zalo.access_token.get_secret_value() if zalo.access_token else "unset"
    return TokenPair(access, zalo.refresh_token.get_secret_value(), datetime.now(UTC))


async def _file_pair(path: Path) -> TokenPair | None:
    if not path.exists() and not path.with_name(path.name + ".new").exists():
        return None
    try:
        return await FileTokenStore(path).load()  # adopts a complete journal, like the store
    except TokenError as exc:
        log.error("Zalo token file %s not imported: %s", path, exc)
        return None


async def token_status(zalo: ZaloSettings, sessions: sessionmaker[Session]) -> TokenStatus | None:
    """The stored pair's expiry and last rotation, from the store the settings name."""
    if zalo.token_store == "database":
        return await DbTokenStore(sessions).status()
    try:
        pair = await FileTokenStore(zalo.token_file).load()
    except TokenError:
        return None
    changed = datetime.fromtimestamp(zalo.token_file.stat().st_mtime, UTC)
    return TokenStatus(pair.expires_at, changed, None)
