"""Zalo OA access tokens: the stored pair, its store port, and the one refresher per process.

Zalo OAuth v4 issues an access token valid ~25 h and a refresh token valid
3 months that can be used only ONCE: every refresh returns a new pair and
burns the old refresh token. Losing the new pair locks the OA out until an
admin re-authorises the app in a browser. Hence:

- `ZaloTokens.refresh` is serialised by an `asyncio.Lock` and, when the store
  offers one (`RefreshLocking`), by the store's refresh lock shared by every
  process: inside both it re-reads the store, so a coroutine or process that
  already rotated the pair is followed, not raced, and only one OAuth call is made.
- The new pair is saved to the `TokenStore` right after the OAuth answer and
  before it is used or cached; a pair whose save failed is kept in memory and
  saved again before anything else, never used unsaved.
- `FileTokenStore` saves through a fixed journal file (write, fsync) that is
  then renamed over the store (`os.replace`, directory fsync). A crash after
  the journal's fsync is recovered by the next `load`, which adopts a complete
  journal; a torn journal is discarded and the previous pair is intact. The
  only unrecoverable window is between Zalo's answer and that fsync.

`FileTokenStore`'s refresh lock is an `flock` on `<file>.lock`. The backend
provides a database-backed `TokenStore` whose refresh lock is a row lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import httpx

from channels.base import ChannelError

log = logging.getLogger(__name__)

ClientFactory = Callable[[], httpx.AsyncClient]
Clock = Callable[[], datetime]
OAUTH_PATH = "/v4/oa/access_token"
PERMISSION_PATH = "/v4/oa/permission"


@dataclass(frozen=True)
class TokenPair:
    """An OA access token, the refresh token issued with it, and when the access token expires."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> TokenPair:
        data = json.loads(raw)
        expires_at = datetime.fromisoformat(data["expires_at"])
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must carry a time zone")
        pair = cls(str(data["access_token"]), str(data["refresh_token"]), expires_at)
        if not (pair.access_token and pair.refresh_token):
            raise ValueError("empty token")
        return pair


class TokenError(ChannelError):
    """No usable token. `reauthorise`: the refresh token was refused, an admin must grant again."""

    def __init__(self, message: str, *, reauthorise: bool = False) -> None:
        super().__init__(message)
        self.reauthorise = reauthorise


class TokenStore(Protocol):
    """Where the current pair lives. `save` must be atomic and durable when it returns."""

    async def load(self) -> TokenPair: ...

    async def save(self, pair: TokenPair) -> None: ...


@runtime_checkable
class RefreshLocking(Protocol):
    """Optional for a `TokenStore`: one refresh at a time across every process sharing it.

    `ZaloTokens` holds `refresh_lock()` around "re-read → refresh if still stale → save";
    `load` and `save` are called inside it. It raises `TokenError` when the lock is not
    obtained in time. Stores without it are serialised per `ZaloTokens` instance only.
    """

    def refresh_lock(self) -> AbstractAsyncContextManager[None]: ...


class FileTokenStore:
    """A JSON file (mode 0600) for development and tests; see the module docstring for safety."""

    def __init__(self, path: Path, *, lock_timeout: float = 30.0) -> None:
        self.path = path
        self.journal = path.with_name(path.name + ".new")
        self.lock_file = path.with_name(path.name + ".lock")
        self._lock = threading.Lock()
        self._lock_timeout = lock_timeout

    @asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        """An exclusive `flock` on `<file>.lock`, shared with every process using the file."""
        fd = await asyncio.to_thread(self._flock)
        try:
            yield
        finally:
            os.close(fd)  # releases the lock

    def _flock(self) -> int:
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError as exc:
            raise TokenError(f"no Zalo tokens at {self.path}", reauthorise=True) from exc
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise TokenError(
                        f"Zalo token refresh lock {self.lock_file} still held after "
                        f"{self._lock_timeout:g} s"
                    ) from None
                time.sleep(0.05)

    async def load(self) -> TokenPair:
        return await asyncio.to_thread(self._load)

    async def save(self, pair: TokenPair) -> None:
        await asyncio.to_thread(self._save, pair)

    def _load(self) -> TokenPair:
        with self._lock:
            self._recover()
            try:
                return TokenPair.from_json(self.path.read_bytes())
            except FileNotFoundError as exc:
                raise TokenError(f"no Zalo tokens at {self.path}", reauthorise=True) from exc
            except (ValueError, KeyError, TypeError) as exc:
                raise TokenError(f"unreadable Zalo tokens at {self.path}: {exc}") from exc

    def _save(self, pair: TokenPair) -> None:
        with self._lock:
            fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(pair.to_json())
                out.flush()
                os.fsync(out.fileno())
            self._commit()

    def _recover(self) -> None:
        """Adopt a journal a crash left behind if it is complete; drop it if torn."""
        try:
            TokenPair.from_json(self.journal.read_bytes())
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError):
            log.warning("discarding a torn Zalo token journal %s", self.journal)
            self.journal.unlink()
            return
        log.warning("recovering Zalo tokens from journal %s", self.journal)
        self._commit()

    def _commit(self) -> None:
        os.replace(self.journal, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class ZaloTokens:
    """Hands out a valid access token; refreshes (once at a time) and persists before use."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret_key: str,
        store: TokenStore,
        client: ClientFactory,
        oauth_base: str = "https://oauth.zaloapp.com",
        timeout: httpx.Timeout | float = 10.0,
        clock: Clock = lambda: datetime.now(UTC),
        refresh_margin: timedelta = timedelta(hours=1),
    ) -> None:
        self._app_id = app_id
        self._secret = app_secret_key
        self._store = store
        self._client = client
        self._oauth_base = oauth_base.rstrip("/")
        self._timeout = timeout
        self._clock = clock
        self._margin = refresh_margin
        self._lock = asyncio.Lock()
        self._pair: TokenPair | None = None
        self._unsaved: TokenPair | None = None

    async def access_token(self) -> str:
        """A token valid for at least `refresh_margin`, refreshing first when it is not."""
        async with self._lock:
            pair = await self._current()
        if pair.expires_at - self._clock() > self._margin:
            return pair.access_token
        try:
            return await self.refresh(stale=pair.access_token)
        except TokenError:
            if pair.expires_at <= self._clock():
                raise
            log.warning("early Zalo token refresh failed; the current token is still valid")
            return pair.access_token

    async def refresh(self, stale: str | None = None) -> str:
        """Rotate the pair; if `stale` is no longer the stored token, someone already did."""
        async with self._lock:
            await self._flush_unsaved()
            async with self._refresh_lock():
                return await self._refresh_locked(stale)

    async def _refresh_locked(self, stale: str | None) -> str:
        """Inside both locks: re-read, refresh if still stale, save (the last store call)."""
        current = await self._load()
        if stale is not None and current.access_token != stale:
            self._pair = current
            return current.access_token
        try:
            pair = await self._request(
                {"refresh_token": current.refresh_token, "grant_type": "refresh_token"}
            )
        except TokenError as exc:
            return await self._rotated_elsewhere(current, exc)
        await self._persist(pair)
        return pair.access_token

    async def exchange_code(self, code: str, code_verifier: str) -> TokenPair:
        """First grant: the authorization code from the OAuth callback → a stored pair."""
        async with self._lock, self._refresh_lock():
            pair = await self._request(
                {"code": code, "code_verifier": code_verifier, "grant_type": "authorization_code"}
            )
            await self._persist(pair)
            return pair

    def permission_url(self, redirect_uri: str, code_challenge: str, state: str) -> str:
        """Where an OA admin grants the app (PKCE: challenge = b64url(sha256(verifier)))."""
        query = urlencode(
            {
                "app_id": self._app_id,
                "redirect_uri": redirect_uri,
                "code_challenge": code_challenge,
                "state": state,
            }
        )
        return f"{self._oauth_base}{PERMISSION_PATH}?{query}"

    async def _rotated_elsewhere(self, tried: TokenPair, error: TokenError) -> str:
        """After a refused refresh: follow a pair another process saved meanwhile, or fail."""
        stored = await self._load()
        if stored.refresh_token == tried.refresh_token:
            raise error
        log.warning("Zalo tokens were rotated by another process; following them")
        self._pair = stored
        return stored.access_token

    def _refresh_lock(self) -> AbstractAsyncContextManager[None]:
        if isinstance(self._store, RefreshLocking):
            return self._store.refresh_lock()
        return nullcontext()

    async def _current(self) -> TokenPair:
        await self._flush_unsaved()
        if self._pair is None:
            self._pair = await self._load()
        return self._pair

    async def _load(self) -> TokenPair:
        try:
            return await self._store.load()
        except TokenError:
            raise
        except Exception as exc:
            raise TokenError(f"token store failed to load: {exc!r}") from exc

    async def _persist(self, pair: TokenPair) -> None:
        self._unsaved = pair
        await self._flush_unsaved()

    async def _flush_unsaved(self) -> None:
        pair = self._unsaved
        if pair is None:
            return
        try:
            await self._store.save(pair)
        except Exception as exc:
            log.critical("Zalo token pair NOT saved, kept in memory to retry: %r", exc)
            raise TokenError(f"token store failed to save: {exc!r}") from exc
        self._unsaved = None
        self._pair = pair

    async def _request(self, form: dict[str, str]) -> TokenPair:
        now = self._clock()
        try:
            response = await self._client().post(
                f"{self._oauth_base}{OAUTH_PATH}",
                data={**form, "app_id": self._app_id},
                headers={"secret_key": self._secret},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise TokenError(f"Zalo OAuth unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise TokenError(f"Zalo OAuth answered HTTP {response.status_code}")
        try:
            data: Any = response.json()
        except ValueError as exc:
            raise TokenError("Zalo OAuth answer is not JSON") from exc
        if not isinstance(data, dict):
            raise TokenError("Zalo OAuth answer is not an object")
        return _pair_from(data, now)


def _pair_from(data: dict[str, Any], now: datetime) -> TokenPair:
    access, refresh = data.get("access_token"), data.get("refresh_token")
    if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
        error = data.get("error", "?")
        name = data.get("error_name") or data.get("error_description") or data.get("message")
        log.error("Zalo OAuth refused: error %s %s", error, name)
        raise TokenError(f"Zalo OAuth refused: error {error} {name}", reauthorise=True)
    try:
        lifetime = int(data.get("expires_in", 90000))
    except (TypeError, ValueError):
        lifetime = 90000
    return TokenPair(access, refresh, now + timedelta(seconds=lifetime))
