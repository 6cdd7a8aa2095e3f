"""`paht`: the one console script (serve, database, demo data, terminal chat, NLU tools)."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from backend.open311 import cli as open311_cli
from backend.settings import ConfigError, Settings, get_settings
from backend.staff import cli as staff_cli


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """PAHT Gateway – tiếp nhận phản ánh hiện trường."""
    ctx.obj = _nlu_defaults()


def _nlu_defaults() -> dict[str, object]:
    """Defaults for `paht nlu ...` from the deployment configuration, when there is one."""
    try:
        settings = get_settings()
    except ConfigError:
        return {}
    return {
        "categories": [c.id for c in settings.categories],
        "province_code": settings.province.code,
        "model_dir": settings.nlu.model_dir,
        "extra_data_dirs": [*settings.nlu.extra_data_dirs, *_corrections_files(settings)],
    }


def _corrections_files(settings: Settings) -> tuple[Path, ...]:
    """The exported staff corrections training reads (`paht nlu export-corrections`)."""
    from backend.reports.corrections import training_files

    return training_files(settings)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web chat, channel webhooks and APIs."""
    import uvicorn

    from backend.logs import configure_logging

    _settings()
    configure_logging()
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
    )


@main.command()
def worker() -> None:
    """Run the bot, the outbox and media downloads (with `pipeline = "worker"` in production).

    Start as many as the load needs, on one or several machines, against one PostgreSQL.
    """
    import asyncio

    from backend.logs import configure_logging
    from backend.runtime import run_worker

    settings = _settings()
    configure_logging()
    if settings.pipeline == "in_app":
        click.echo(
            "note: pipeline = in_app, so `paht serve` runs the pipeline too; "
            "set PAHT_PIPELINE=worker to leave it to workers",
            err=True,
        )
    asyncio.run(run_worker(settings))


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (SQLite by default, PostgreSQL via PAHT_DATABASE_URL)."""
    from backend.migrate import upgrade

    upgrade(_settings().database_url, revision)
    click.echo("database up to date")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from backend.migrate import check

    check(_settings().database_url)
    click.echo("no drift")


@main.command()
def seed() -> None:
    """Load demo reports and, outside production, demo staff accounts (idempotent)."""
    from backend.demo import seed_demo
    from backend.staff.demo import DEMO_PASSWORD

    settings = _settings()
    created, accounts = seed_demo(settings)
    click.echo(f"demo data: {created} report(s) added")
    for account in accounts:
        click.echo(f"demo account: {account.username} ({account.role}) / {DEMO_PASSWORD}")


@main.command()
@click.option("--sender", default=None, help="chat user id (default: a new one)")
@click.option("--url", default=None, help="talk to a running server instead of the local database")
def chat(sender: str | None, url: str | None) -> None:
    """Chat with the bot in the terminal (same path as the web chat)."""
    from backend.terminal import run_chat

    run_chat(_settings(), sender or f"cli-{uuid.uuid4().hex[:8]}", url, sys.stdin, sys.stdout)


@main.command("telegram-polling")
def telegram_polling() -> None:
    """Receive Telegram messages by long polling (local development, no public URL)."""
    import asyncio

    from backend.telegram_cli import poll

    asyncio.run(poll(_settings()))


@main.command("telegram-set-webhook")
@click.option(
    "--url", default=None, help="default: PAHT_PUBLIC_BASE_URL + /channels/telegram/webhook"
)
def telegram_set_webhook(url: str | None) -> None:
    """Register this server's Telegram webhook (with the secret token)."""
    import asyncio

    from backend.telegram_cli import set_webhook

    click.echo(f"webhook: {asyncio.run(set_webhook(_settings(), url))}")


@click.command("export-corrections")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (default: nlu.corrections_dir, which training reads).",
)
@click.option(
    "--since",
    default=None,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only corrections made on or after this local date (YYYY-MM-DD).",
)
def export_corrections_command(out_dir: Path | None, since: datetime | None) -> None:
    """Write staff corrections as Rasa NLU training data; then `paht nlu train`."""
    from backend.db import make_engine, make_session_factory
    from backend.reports.corrections import ExportRefused, export_corrections

    settings = _settings()
    start = since.replace(tzinfo=ZoneInfo(settings.timezone)) if since else None
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            result = export_corrections(
                session,
                out_dir=out_dir or settings.nlu.corrections_dir,
                settings=settings,
                since=start,
            )
    except ExportRefused as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"corrections read: {result.read}" + (f" (since {since:%Y-%m-%d})" if since else ""))
    click.echo(f"category examples: {result.category_examples} -> {result.categories_file}")
    click.echo(
        f"location examples: {result.location_examples} -> {result.locations_file}"
        " (for review; the locator does not train on it)"
    )
    click.echo(
        f"skipped: {result.superseded} superseded, {result.duplicates} duplicate texts, "
        f"{result.unknown_category} unknown categories, {result.heldout} held-out texts, "
        f"{result.empty} empty"
    )


def _mount_nlu() -> None:
    try:
        from nlu.cli import nlu_group
    except ImportError:
        return
    nlu_group.add_command(export_corrections_command)
    main.add_command(nlu_group, name="nlu")


_mount_nlu()
main.add_command(staff_cli.user)
main.add_command(open311_cli.open311)

if __name__ == "__main__":
    main()
