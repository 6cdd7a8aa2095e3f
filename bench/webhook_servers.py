"""Webhook benchmark, the server side: the two apps, their uvicorn processes, the database.

Owns the app factories uvicorn imports in each worker (`bench.webhook_servers:bare_app`, a
trivial FastAPI POST; `product_app`, the real `backend.app.create_app` with the real
`TelegramAdapter`, NLU and pipeline), starting and stopping them as subprocesses, and the
throw-away PostgreSQL database: created and migrated, truncated between phases, counted,
filled with a backlog through the product's own parse + store_inbound, dropped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request  # resolved by FastAPI at module level

from bench.webhook_load import BARE, HEADERS, SECRET, TOKEN, WEBHOOK, update_body

ROOT = Path(__file__).resolve().parents[1]
TABLES = (
    "report_events, attachments, reports, daily_counters, outbox, inbox, inbound_messages, "
    "conversation_events, conversations, channel_identities, citizens"
)

# ---------------------------------------------------------------------------------------------
# The apps (run inside uvicorn workers).


def _pid_route(app: Any) -> None:
    from fastapi.responses import JSONResponse

    async def pid() -> JSONResponse:
        return JSONResponse({"pid": os.getpid()})

    app.add_api_route("/_bench/pid", pid, methods=["GET"])


def bare_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from backend.logs import configure_logging

    configure_logging()  # what `paht serve` does: JSON logs, the access log at INFO
    app = FastAPI()

    @app.post(BARE)
    async def bare(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "ok"})

    _pid_route(app)
    return app


def _wiring() -> tuple[Any, Any, Any]:
    """Settings, NLU and channels of the product under benchmark (app and worker alike)."""
    from backend.channels.registry import Channels
    from backend.logs import configure_logging
    from backend.settings import load_settings
    from channels.telegram import TelegramAdapter
    from nlu import load_nlu

    configure_logging()
    settings = load_settings(env="test", database_url=os.environ["PAHT_BENCH_DB"])
    nlu = load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=ROOT / "var" / "nlu-model",
    )
    # no senders: replies stay in the outbox; Bot API calls would go to a closed loopback port
    api = "http://127.0.0.1:9"
    adapter = TelegramAdapter(TOKEN, SECRET, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")
    return settings, nlu, Channels(webhook={"telegram": adapter}, senders={})


def product_app() -> Any:
    from backend.app import create_app

    settings, nlu, channels = _wiring()
    app = create_app(settings, nlu=nlu, channels=channels)
    _pid_route(app)
    return app


def product_worker() -> None:
    """`paht worker` with the benchmark's wiring (run as a subprocess)."""
    import asyncio

    from backend.runtime import run_worker

    settings, nlu, channels = _wiring()
    asyncio.run(run_worker(settings, nlu=nlu, channels=channels))


@contextlib.contextmanager
def worker_processes(count: int, db: str, logdir: Path, name: str) -> Iterator[list[int]]:
    """`count` pipeline workers (`pipeline = "worker"`), logs to `logdir/name-i.log`."""
    procs = []
    code = "from bench.webhook_servers import product_worker; product_worker()"
    for i in range(count):
        with open(logdir / f"{name}-{i}.log", "wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", code],
                    cwd=ROOT,
                    env={**os.environ, "PAHT_BENCH_DB": db, "PAHT_PIPELINE": "worker"},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            stop(proc)


# ---------------------------------------------------------------------------------------------
# uvicorn subprocesses.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    pids: list[int] = field(default_factory=list)


@contextlib.contextmanager
def uvicorn_server(
    factory: str, workers: int, db: str, logdir: Path, name: str, pipeline: str = "in_app"
) -> Iterator[Server]:
    """`paht serve`-like: uvicorn with `workers` processes, logs to `logdir/name.log`."""
    port = free_port()
    log_config = logdir / "nolog.json"  # leave logging to the app
    log_config.write_text(json.dumps({"version": 1, "disable_existing_loggers": False}))
    cmd = [sys.executable, "-m", "uvicorn", f"bench.webhook_servers:{factory}", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += ["--log-level", "info", "--log-config", str(log_config)]
    cmd += ["--timeout-graceful-shutdown", "3"]
    log = logdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, "PAHT_BENCH_DB": db, "PAHT_PIPELINE": pipeline},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        server.pids = _wait_ready(server, workers)
        yield server
    finally:
        stop(proc)


def _wait_ready(server: Server, workers: int, timeout: float = 60) -> list[int]:
    """Until every worker has answered (a new connection each time reaches any worker)."""
    import httpx

    pids: set[int] = set()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while len(pids) < workers:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                tail = server.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"server did not start:\n{tail}")
            try:
                answer = client.get(f"{server.url}/_bench/pid", headers={"connection": "close"})
                pids.add(answer.json()["pid"])
                time.sleep(0.02)
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.1)
    return sorted(pids)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# ---------------------------------------------------------------------------------------------
# The database.


def admin_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def bench_database(admin_url: str, keep: bool) -> Iterator[str]:
    """A new database on the server at `admin_url`, migrated to head; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    from backend.migrate import upgrade

    name = f"paht_bench_{uuid.uuid4().hex[:10]}"
    dsn = admin_dsn(admin_url)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate(url: str) -> None:
    import psycopg

    with psycopg.connect(admin_dsn(url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")


def counts(url: str) -> dict[str, int]:
    """Inbox rows (all, done, failed), outbox rows and reports."""
    import psycopg

    with psycopg.connect(admin_dsn(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'done'), "
            "count(*) FILTER (WHERE status = 'failed'), "
            "(SELECT count(*) FROM outbox), (SELECT count(*) FROM reports) FROM inbox"
        ).fetchone()
    assert row is not None
    keys = ("inbox", "done", "failed", "outbox", "reports")
    return dict(zip(keys, (int(x) for x in row), strict=True))


def fill_inbox(url: str, n: int, senders: int, texts: list[str], base: int) -> None:
    """Store n updates as the webhook would (parse + store_inbound), 100 per transaction."""
    from backend.channels.service import store_inbound
    from backend.db import make_engine, make_session_factory, unit_of_work, utcnow
    from channels.base import RawRequest
    from channels.telegram import TelegramAdapter

    engine = make_engine(url)
    factory = make_session_factory(engine)
    adapter = TelegramAdapter(TOKEN, SECRET, base_url="http://127.0.0.1:9/bot")
    messages = []
    for i in range(n):
        body = update_body(i, senders, texts, base)
        raw = RawRequest(method="POST", url=WEBHOOK, headers=dict(HEADERS), body=body, query={})
        messages += adapter.parse(raw)
    for start in range(0, len(messages), 100):
        with unit_of_work(factory) as session:
            store_inbound(session, messages=messages[start : start + 100], now=utcnow())
    engine.dispose()
