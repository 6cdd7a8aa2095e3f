"""The Zalo OA adapter's tokens: refresh on expiry or refusal, rotation that survives
concurrent sends, other processes and crashes, and the authorisation code grant.

Tokens live in a `FileTokenStore` under tmp_path; the fake Zalo's refresh tokens work once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from channels.base import Transient
from channels.zalo import ZaloAdapter
from channels.zalo_tokens import FileTokenStore, TokenError, TokenPair
from tests.channels.zalo.conftest import NOW, make_adapter, text_out
from tests.fakes.zalo_api import APP_ID, FakeZalo


class RecordingStore(FileTokenStore):
    """The file store, logging each completed (durable) save into the fake's event log."""

    def __init__(self, path: Path, events: list[tuple[str, ...]]) -> None:
        super().__init__(path)
        self.events = events

    async def save(self, pair: TokenPair) -> None:
        await super().save(pair)
        self.events.append(("saved", pair.access_token, pair.refresh_token))


async def test_invalid_token_refreshes_persists_then_retries_once(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> None:
    fake.revoke_access_tokens()
    adapter = make_adapter(fake_url, RecordingStore(token_file, fake.events))
    assert await adapter.send(text_out(adapter)) == "msg-2"
    assert fake.events == [
        ("send", "at-0", "-216"),
        ("refresh", "rt-0"),
        ("issued", "at-1", "rt-1"),
        ("saved", "at-1", "rt-1"),  # durable before the retried send
        ("send", "at-1", "ok"),
    ]
    stored = TokenPair.from_json(token_file.read_bytes())
    assert (stored.access_token, stored.refresh_token) == ("at-1", "rt-1")
    assert stored.expires_at == NOW + timedelta(seconds=90000)
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    await adapter.tokens.refresh()
    assert fake.refreshes == ["rt-0", "rt-1"], "a used refresh token is never presented again"
    await adapter.aclose()


@pytest.mark.parametrize("code", [-216, -220, -124])
async def test_a_token_refused_again_after_refresh_is_transient(
    fake: FakeZalo, adapter: ZaloAdapter, code: int
) -> None:
    fake.fail_next_with_error(code)
    fake.fail_next_with_error(code)
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    assert fake.refreshes == ["rt-0"]


async def test_http_401_refreshes_and_retries(fake: FakeZalo, adapter: ZaloAdapter) -> None:
    fake.fail_next(401)
    assert await adapter.send(text_out(adapter)) == "msg-2"
    assert [c.headers["access_token"] for c in fake.message_calls()] == ["at-0", "at-1"]


async def test_concurrent_sends_share_one_refresh(fake: FakeZalo, adapter: ZaloAdapter) -> None:
    fake.revoke_access_tokens()
    ids = await asyncio.gather(*(adapter.send(text_out(adapter)) for _ in range(6)))
    assert len(set(ids)) == 6
    assert fake.refreshes == ["rt-0"]


async def test_a_token_near_expiry_is_refreshed_before_sending(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> None:
    token_file.write_text(TokenPair("at-0", "rt-0", NOW + timedelta(minutes=30)).to_json())
    adapter = make_adapter(fake_url, FileTokenStore(token_file))
    await adapter.send(text_out(adapter))
    assert [e[0] for e in fake.events] == ["refresh", "issued", "send"]
    assert fake.events[-1] == ("send", "at-1", "ok")
    await adapter.aclose()


async def test_a_failed_early_refresh_still_sends_with_the_valid_token(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> None:
    token_file.write_text(TokenPair("at-0", "rt-burnt", NOW + timedelta(minutes=30)).to_json())
    adapter = make_adapter(fake_url, FileTokenStore(token_file))
    assert await adapter.send(text_out(adapter)) == "msg-1"
    assert fake.refreshes == ["rt-burnt"] and fake.events[-1] == ("send", "at-0", "ok")
    await adapter.aclose()


async def test_a_refused_refresh_token_needs_reauthorisation(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> None:
    token_file.write_text(TokenPair("at-0", "rt-stolen", NOW + timedelta(hours=2)).to_json())
    fake.revoke_access_tokens()
    adapter = make_adapter(fake_url, FileTokenStore(token_file))
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    with pytest.raises(TokenError) as raised:
        await adapter.tokens.refresh()
    assert raised.value.reauthorise
    await adapter.aclose()


async def test_a_pair_rotated_by_another_process_is_followed(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> None:
    first, second = (make_adapter(fake_url, FileTokenStore(token_file)) for _ in range(2))
    await second.send(text_out(second))  # caches at-0
    fake.revoke_access_tokens()
    await first.send(text_out(first))  # rotates to at-1 / rt-1 in the shared file
    await second.send(text_out(second))  # at-0 refused → the store already has at-1
    assert fake.refreshes == ["rt-0"]
    assert fake.events[-1] == ("send", "at-1", "ok")
    for adapter in (first, second):
        await adapter.aclose()


async def test_a_lost_refresh_race_follows_the_winner(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> None:
    class RacingStore(FileTokenStore):
        """Another process refreshes right after our read: our refresh token is burnt."""

        raced = False

        async def load(self) -> TokenPair:
            pair = await super().load()
            if not self.raced:
                self.raced = True
                fake.refresh_tokens, fake.access_tokens = {"rt-9"}, {"at-9"}
                await super().save(TokenPair("at-9", "rt-9", NOW + timedelta(hours=25)))
            return pair

    adapter = make_adapter(fake_url, RacingStore(token_file))
    assert await adapter.tokens.refresh() == "at-9"
    assert fake.refreshes == ["rt-0"]
    await adapter.aclose()


class Crash(BaseException):
    """The process dies here."""


async def test_a_crash_between_refresh_and_save_keeps_the_new_pair(
    fake: FakeZalo, fake_url: str, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal is fsynced before the rename; a crash in between is recovered on load."""

    def crash(self: FileTokenStore) -> None:
        raise Crash

    fake.revoke_access_tokens()
    adapter = make_adapter(fake_url, FileTokenStore(token_file))
    monkeypatch.setattr(FileTokenStore, "_commit", crash)
    with pytest.raises(Crash):
        await adapter.send(text_out(adapter))
    monkeypatch.undo()
    assert TokenPair.from_json(token_file.read_bytes()).refresh_token == "rt-0"
    assert (token_file.parent / "zalo-tokens.json.new").exists()

    restarted = make_adapter(fake_url, FileTokenStore(token_file))
    assert await restarted.send(text_out(restarted)) == "msg-2"
    assert fake.events[-1] == ("send", "at-1", "ok")
    assert fake.refreshes == ["rt-0"], "the burnt refresh token is never needed again"
    assert TokenPair.from_json(token_file.read_bytes()).refresh_token == "rt-1"
    assert not (token_file.parent / "zalo-tokens.json.new").exists()
    for a in (adapter, restarted):
        await a.aclose()


async def test_a_torn_journal_is_discarded_and_the_old_pair_kept(token_file: Path) -> None:
    journal = token_file.parent / "zalo-tokens.json.new"
    journal.write_text('{"access_token": "at-1", "refresh_tok')
    pair = await FileTokenStore(token_file).load()
    assert pair.refresh_token == "rt-0" and not journal.exists()


async def test_a_failed_save_keeps_the_pair_unused_until_saved(
    fake: FakeZalo, fake_url: str, token_file: Path
) -> None:
    class FullDisk(FileTokenStore):
        failures = 1

        async def save(self, pair: TokenPair) -> None:
            if self.failures:
                self.failures -= 1
                raise OSError("No space left on device")
            await super().save(pair)

    fake.revoke_access_tokens()
    adapter = make_adapter(fake_url, FullDisk(token_file))
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    assert [e for e in fake.events if e[0] == "send"] == [("send", "at-0", "-216")]
    assert await adapter.send(text_out(adapter)) == "msg-2"
    assert fake.events[-1] == ("send", "at-1", "ok")
    assert fake.refreshes == ["rt-0"]
    assert TokenPair.from_json(token_file.read_bytes()).access_token == "at-1"
    await adapter.aclose()


async def test_missing_tokens_need_authorisation_and_the_code_grant_stores_them(
    fake: FakeZalo, fake_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "none.json"
    adapter = make_adapter(fake_url, FileTokenStore(path))
    with pytest.raises(Transient):
        await adapter.send(text_out(adapter))
    link = adapter.tokens.permission_url("https://paht.example/zalo/callback", "chal", "st-1")
    assert link.startswith(f"{fake_url}/v4/oa/permission?app_id={APP_ID}&redirect_uri=https%3A")
    pair = await adapter.tokens.exchange_code("code-1", "verifier-43-chars")
    assert pair.access_token == "at-1" and "at-1" not in repr(pair)
    assert (await FileTokenStore(path).load()).refresh_token == "rt-1"
    assert await adapter.send(text_out(adapter)) == "msg-1"
    await adapter.aclose()
