"""`paht user ...`: create and list staff accounts from the command line.

The password is asked twice on the terminal, or read from the first line of
standard input with --password-stdin (for scripts), never from an option.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from backend.db import make_engine, make_session_factory, unit_of_work, utcnow
from backend.errors import DomainError
from backend.reports.workflow import Role
from backend.settings import ConfigError, Settings, get_settings
from backend.staff import service


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _database(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@click.group("user")
def user() -> None:
    """Staff accounts of the console."""


@user.command("add")
@click.option("--username", required=True, help="3-64 characters: a-z 0-9 . _ -")
@click.option("--full-name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--unit", "unit_id", default=None, help="unit id from the configuration")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def add(
    username: str, full_name: str, role: str, unit_id: str | None, password_stdin: bool
) -> None:
    """Create an account."""
    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with _database(settings) as session:
            created = service.create_user(
                session,
                username=username,
                full_name=full_name,
                password=password,
                role=role,
                unit_id=unit_id,
                settings=settings,
                now=utcnow(),
            )
            service.audit(
                session,
                actor_id=None,
                action="user_add",
                now=utcnow(),
                detail={"user_id": created.id, "username": created.username, "via": "cli"},
            )
            name = created.username
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"account created: {name}")


@user.command("list")
def list_accounts() -> None:
    """List every account."""
    settings = _settings()
    units = settings.unit_names()
    with _database(settings) as session:
        rows = [
            (
                u.username,
                u.full_name,
                u.role,
                units.get(u.unit_id or "", u.unit_id or "-"),
                "active" if u.active else "inactive",
            )
            for u in service.list_users(session)
        ]
    for row in rows:
        click.echo("\t".join(row))
