"""Outbox benchmark: deliveries per second to a local fake provider, and how long a message
waits from its outbox row's creation to the provider receiving it.

    .venv/bin/python bench/outbox.py                               # 4000 messages, 1 and 4 workers
    .venv/bin/python bench/outbox.py --messages 8000 --citizens 2000 --workers 1,2,4

On loopback only. For each worker count, that many real `paht worker` processes
(pipeline = "worker") against a fresh PostgreSQL database send through the real Telegram
adapter (python-telegram-bot) to a minimal fake Bot API (a bare ASGI app under uvicorn, in
its own process, recording chat, text and arrival time). Two phases:

  burst  --messages rows (--citizens citizens, interleaved) written in one transaction while
         the workers idle. rate = messages / (last delivery - commit); "drain/s" leaves out
         the wait before the first delivery (idle workers look every second; --idle-seconds).
         Latency (created_at -> received) is mostly the queue. --analyze refreshes the
         table's statistics right after the write (autovacuum would, a minute or so later):
         the claim query's plan depends on them.
  paced  --rate messages a second for --paced-seconds, in small transactions: the latency a
         citizen sees when the outbox is not backed up.

After each phase: the CPU time per message of the workers, of PostgreSQL (the backends of
the benchmark's database) and of the fake provider, and the rate that total allows on this
machine's cores — a figure that holds even when other work shares the machine.

Telegram's flood limits ([outbox.telegram]: 30/s overall, 1/s per chat, per process) are set
to 10000 for the run, so the figures are the dispatcher's own. Every message must arrive
exactly once; the last column counts the ones that did not. PostgreSQL: --pg (an admin URL;
default PAHT_BENCH_POSTGRES_URL or the test server), a database created and dropped per run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOKEN = "424242:BENCH-outbox"
CHAT_BASE = 7_200_000_000

# ---------------------------------------------------------------------------------------------
# Processes and the database.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def fake_provider(home: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    with open(home / "fake.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "outbox_fake.py"), "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _get(url, "count") is not None, 30, "the fake provider to start")
        yield url, proc.pid
    finally:
        stop([proc])


def _get(url: str, what: str) -> Any:
    import httpx

    try:
        return httpx.get(f"{url}/_bench/{what}", timeout=30).json()
    except httpx.HTTPError:
        return None


def _until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    """A new database on the server at `admin_url`, migrated to head; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    from backend.migrate import upgrade

    name = f"paht_bench_outbox_{uuid.uuid4().hex[:8]}"
    admin = make_url(admin_url)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_env(db: str, api_base: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAHT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        PAHT_CONFIG=str(ROOT / "paht.toml"),
        PAHT_ENV="development",
        PAHT_DATABASE_URL=db,
        PAHT_PIPELINE="worker",
        PAHT_NLU__MODEL_DIR=str(home / "nlu-model"),
        PAHT_NLU__CORRECTIONS_DIR=str(home / "nlu-corrections"),
        PAHT_MEDIA__ROOT=str(home / "media"),
        PAHT_TELEGRAM__BOT_TOKEN=TOKEN,
        PAHT_TELEGRAM__SECRET_TOKEN="bench-secret",
        PAHT_TELEGRAM__API_BASE=api_base,
        PAHT_OUTBOX__TELEGRAM__PER_SECOND="10000",
        PAHT_OUTBOX__TELEGRAM__PER_RECIPIENT_PER_SECOND="10000",
    )
    return env


def train_model(env: dict[str, str]) -> None:
    """The workers' NLU model, built once here (each worker would otherwise train its own)."""
    code = "from backend.runtime import load_nlu_for; from backend.settings import load_settings"
    code += "; load_nlu_for(load_settings())"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True)


@contextlib.contextmanager
def workers(count: int, env: dict[str, str], home: Path) -> Iterator[list[int]]:
    logs = [home / f"worker-{count}-{i}.log" for i in range(count)]
    procs = []
    for log in logs:
        with open(log, "wb") as out:
            command = [sys.executable, "-m", "backend.cli", "worker"]
            procs.append(subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=out))
    try:
        _until(
            lambda: all("worker started" in log.read_text(errors="replace") for log in logs),
            120,
            "the workers to start",
        )
        yield [proc.pid for proc in procs]
    finally:
        stop(procs)


# ---------------------------------------------------------------------------------------------
# CPU accounting: where the machine's time goes, per message.


@dataclass
class Cpu:
    """The processes of one run: workers, the fake provider, and the database's backends
    (found by the database name in their process title)."""

    workers: list[int]
    fake: int
    database: str

    def sample(self) -> dict[str, float]:
        return {
            "workers": sum(map(_cpu, self.workers)),
            "postgres": sum(map(_cpu, _backends(self.database))),
            "provider": _cpu(self.fake),
        }


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends(database: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if f" {database} ".encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return pids


def cpu_per_message(before: dict[str, float], after: dict[str, float], n: int) -> str:
    parts = {k: (after[k] - before[k]) * 1000 / n for k in before}
    total = sum(parts.values())
    shown = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / total
    return f"CPU ms/message: {shown}; total {total:.2f} (at most ~{ceiling:.0f}/s on {cores} cores)"


# ---------------------------------------------------------------------------------------------
# The phases.


@dataclass
class Result:
    workers: int
    phase: str
    messages: int
    seconds: float  # from the first commit to the last delivery
    drain: float  # from the first delivery to the last
    latencies_ms: list[float]
    wrong: int  # missing or repeated deliveries
    cpu: str = ""

    def row(self) -> list[str]:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat) if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
        return [
            str(self.workers),
            self.phase,
            str(self.messages),
            f"{self.seconds:.2f}",
            f"{self.messages / self.seconds:.0f}",
            f"{self.messages / self.drain:.0f}" if self.drain > 0 else "-",
            f"{p50:.0f}",
            f"{p99:.0f}",
            str(self.wrong),
        ]


HEADER = ["workers", "phase", "messages", "seconds", "deliv/s", "drain/s", "p50 ms", "p99 ms"]
HEADER += ["wrong"]


def insert(engine: Any, texts: list[str]) -> float:
    """Outbox rows for `texts` ("<chat>#..."), as `enqueue` writes them, in one transaction;
    returns their created_at as a Unix time."""
    from datetime import UTC, datetime

    from sqlalchemy import insert as sql_insert

    from backend.notifications.models import OUTBOX_PENDING, OutboxMessage

    created = time.time()
    at = datetime.fromtimestamp(created, UTC)
    rows = [
        {
            "idempotency_key": f"bench:{text}",
            "channel": "telegram",
            "recipient": text.split("#")[0],
            "kind": "reply",
            "payload": {"text": text},
            "status": OUTBOX_PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for text in texts
    ]
    with engine.begin() as conn:
        conn.execute(sql_insert(OutboxMessage), rows)
    return created


def texts_for(phase: str, start: int, count: int, citizens: int) -> list[str]:
    return [f"{CHAT_BASE + n % citizens}#{phase}{n}" for n in range(start, start + count)]


def pending(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'")).one()[0]
        )


def collect(
    engine: Any, url: str, created: dict[str, float], started: float, timeout: float
) -> tuple[float, float, list[float], int]:
    """Wait for every message; (seconds, drain seconds, latencies in ms, wrong deliveries)."""
    total = len(created)
    _until(
        lambda: (_get(url, "count") or {}).get("count", 0) >= total and pending(engine) == 0,
        timeout,
        f"{total} deliveries",
    )
    received = _get(url, "dump")["received"]
    first_seen: dict[str, float] = {}
    for _, text, at in received:
        first_seen.setdefault(text, at)
    wrong = abs(len(received) - total) + len(set(created) - set(first_seen))
    times = [at for _, _, at in received]
    latencies = [(first_seen[t] - created[t]) * 1000 for t in created if t in first_seen]
    return max(times) - started, max(times) - min(times), latencies, wrong


def burst(engine: Any, url: str, args: argparse.Namespace, count: int) -> Result:
    """The messages written at once while the workers idle, then drained."""
    _get(url, "reset")
    texts = texts_for("b", 0, args.messages, args.citizens)
    created_at = insert(engine, texts)
    committed = time.time()
    if args.analyze:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE outbox")
    created = dict.fromkeys(texts, created_at)
    seconds, drain, latencies, wrong = collect(engine, url, created, committed, args.timeout)
    return Result(count, "burst", len(texts), seconds, drain, latencies, wrong)


def paced(engine: Any, url: str, args: argparse.Namespace, count: int) -> Result:
    """Messages written at a steady rate, in a transaction every 50 ms."""
    _get(url, "reset")
    step, created, n = 0.05, {}, 0
    per_step = max(1, round(args.rate * step))
    started = time.monotonic()
    first = time.time()
    while time.monotonic() - started < args.paced_seconds:
        texts = texts_for("p", n, per_step, args.citizens)
        created.update(dict.fromkeys(texts, insert(engine, texts)))
        n += per_step
        time.sleep(max(0.0, started + (n / per_step) * step - time.monotonic()))
    seconds, drain, latencies, wrong = collect(engine, url, created, first, args.timeout)
    return Result(count, "paced", len(created), seconds, drain, latencies, wrong)


def truncate(engine: Any) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox RESTART IDENTITY CASCADE"))


def print_table(results: list[Result]) -> None:
    rows = [HEADER, *(r.row() for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=4000, help="messages in the burst")
    parser.add_argument("--citizens", type=int, default=1000, help="recipients they go to")
    parser.add_argument("--workers", default="1,4", help="worker process counts to run")
    parser.add_argument("--rate", type=float, default=100.0, help="paced messages a second")
    parser.add_argument("--paced-seconds", type=float, default=5.0, help="0: no paced phase")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per phase, at most")
    parser.add_argument(
        "--analyze", action="store_true", help="ANALYZE the outbox right after the burst"
    )
    parser.add_argument(
        "--idle-seconds", help="the workers' [outbox] idle_seconds (default: the setting's)"
    )
    parser.add_argument("--pg", default=os.environ.get("PAHT_BENCH_POSTGRES_URL", PG_DEFAULT))
    args = parser.parse_args()
    from backend.db import make_engine

    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="paht-bench-outbox-") as tmp:
        home = Path(tmp)
        with bench_database(args.pg) as db, fake_provider(home) as (api, fake_pid):
            env = worker_env(db, api, home)
            if args.idle_seconds:
                env["PAHT_OUTBOX__IDLE_SECONDS"] = args.idle_seconds
            train_model(env)
            engine = make_engine(db)
            for count in (int(w) for w in args.workers.split(",")):
                truncate(engine)
                with workers(count, env, home) as pids:
                    cpu = Cpu(pids, fake_pid, db.rsplit("/", 1)[1])
                    phases = [burst] + ([paced] if args.paced_seconds > 0 else [])
                    for phase in phases:
                        before = cpu.sample()
                        result = phase(engine, api, args, count)
                        result.cpu = cpu_per_message(before, cpu.sample(), result.messages)
                        results.append(result)
                        print_table([result])
                        print(f"  {result.cpu}", flush=True)
            engine.dispose()
    idle = f"; idle_seconds {args.idle_seconds}" if args.idle_seconds else ""
    print(f"\n{args.messages} messages to {args.citizens} citizens; paced: {args.rate:.0f}/s{idle}")
    print_table(results)
    for result in results:
        print(f"{result.workers} {result.phase}: {result.cpu}")


if __name__ == "__main__":
    main()
