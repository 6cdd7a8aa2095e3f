"""`paht open311 key add|list|revoke`: the API keys Open311 clients submit with.

`add` prints the key once; only its hash is stored, so a lost key is revoked and
replaced, never recovered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from backend.db import make_engine, make_session_factory, unit_of_work, utcnow
from backend.errors import DomainError
from backend.open311 import keys
from backend.settings import ConfigError, get_settings


@contextmanager
def _database() -> Iterator[Session]:
    try:
        settings = get_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        engine.dispose()


@click.group("open311")
def open311() -> None:
    """Open311 GeoReport v2 (/open311/v2/)."""


@open311.group("key")
def key() -> None:
    """API keys of Open311 clients."""


@key.command("add")
@click.argument("name")
def add(name: str) -> None:
    """Create a key for the client NAME (organisation or jurisdiction); printed once."""
    with _database() as session:
        new = keys.add_key(session, name=name, now=utcnow())
    click.echo(f"id {new.id}  client {new.name}")
    click.echo(new.key)


@key.command("list")
def list_() -> None:
    """Keys with their client, prefix, creation, last use and revocation."""
    with _database() as session:
        for row in keys.list_keys(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            click.echo(
                f"{row.id}\t{row.name}\t{row.prefix}…\tcreated {row.created_at:%Y-%m-%d}"
                f"\tlast used {used}\t{state}"
            )


@key.command("revoke")
@click.argument("key_id", type=int)
def revoke(key_id: int) -> None:
    """Revoke key KEY_ID (see `list`): requests with it are refused from now on."""
    with _database() as session:
        row = keys.revoke_key(session, key_id=key_id, now=utcnow())
    click.echo(f"revoked key {row.id} ({row.name})")
