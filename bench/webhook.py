"""Webhook benchmark: a bare FastAPI endpoint beside the product's Telegram webhook, on PostgreSQL.

Run:  .venv/bin/python bench/webhook.py                       (about two minutes)
      .venv/bin/python bench/webhook.py --duration 3 --warmup 1 --drain 400   (a short run)
      .venv/bin/python bench/webhook.py --profile var/bench-profile           (py-spy)

This file is the entry point and the report; beside it: `webhook_load.py` (update bodies, wrk
and httpx load), `webhook_servers.py` (the apps, uvicorn processes, the database) and
`webhook_profile.py` (py-spy). On loopback only, for each uvicorn worker count (`--workers`,
default 1 and 2), every load bounded in count and time:

(a) bare     a trivial FastAPI POST (reads the body, answers {"status": "ok"}) under uvicorn
             in a subprocess; closed-loop load (`--connections`, default 40: Telegram's default
             `max_connections` for a webhook; a list such as 40,20 runs (a) and (b) at each, which
             shows the rate/latency trade-off a webhook's `max_connections` chooses) from wrk if
             installed (Debian `wrk`, a Lua script makes the bodies), else from an async httpx
             generator in another process.
(b) webhook  `POST /channels/telegram/webhook` of the real app (`backend.app.create_app`, real
             `TelegramAdapter`, PostgreSQL, NLU loaded), same uvicorn settings, same load, same
             bodies: Telegram updates from `--senders` distinct chats (default 500) walking a
             report conversation (description from the NLU held-out set, location, "xong",
             "có", contact, "gửi"). The pipeline runs meanwhile (`--pipeline`): inside the
             uvicorn workers (in_app, the embedded default), in as many separate `paht worker`
             processes (worker, the production layout), or nowhere (none: the acknowledgement
             path alone). b/a is the ratio of the two rates.
(c) drain    end to end: a backlog of `--drain` updates, stored through the product's parse +
             store_inbound, drained by the pipeline(s) of that mode; rate = handled / (first seen
             handled → last handled, polled every 50 ms); replies are left in the outbox.

Rates are per second, p50/p99 in milliseconds, from the load generator. Servers log like
`paht serve` (JSON logs, uvicorn access log at INFO, to a file under /tmp). With 2 workers
uvicorn's listening socket does not get TCP_NODELAY, so responses can wait for the client's
delayed ACK (~40 ms): that shows in the 2-worker latencies, as it would in production.
`--profile DIR` records the first worker count's (b) and (c) with py-spy (`--gil` sampling)
and prints a summary. The benchmark creates its own database on the server at `--pg`
(default local trust auth) and drops it at the end. A benchmark, not a test: asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ comes first on sys.path and bench/nlu.py would shadow the nlu
# package: put the repository there instead and import the siblings as `bench.webhook_*`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PAHT_CONFIG", str(ROOT / "paht.toml"))

from bench import webhook_profile as profiling  # noqa: E402
from bench.webhook_load import (  # noqa: E402
    BARE,
    STEPS,
    WEBHOOK,
    Load,
    closed_load,
    descriptions,
)
from bench.webhook_servers import (  # noqa: E402
    Server,
    bench_database,
    counts,
    fill_inbox,
    truncate,
    uvicorn_server,
    worker_processes,
)

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class Bench:
    def __init__(self, args: argparse.Namespace, db: str, tmp: Path) -> None:
        self.args, self.db, self.tmp = args, db, tmp
        self.texts = descriptions()
        self.rows: list[str] = []  # the table, in the order measured
        self.profile: list[str] = []
        self._base = 0

    def load(self, srv: Server, path: str, seconds: float, connections: int) -> Load:
        self._base += 10_000_000  # fresh update ids: no update is a redelivery
        return closed_load(
            self.args.loadgen,
            srv.url,
            path,
            seconds=seconds,
            connections=connections,
            senders=self.args.senders,
            base=self._base,
            texts=self.texts,
            tmp=self.tmp,
        )

    def bare(self, w: int, c: int) -> Load:
        """(a) the bare endpoint: warm-up, then the measured load."""
        with uvicorn_server("bare_app", w, self.db, self.tmp, f"bare-{w}w") as srv:
            self.load(srv, BARE, self.args.warmup, c)
            bare = self.load(srv, BARE, self.args.duration, c)
        self.row(w, f"(a) bare FastAPI, c{c}", bare, None)
        return bare

    @contextlib.contextmanager
    def product(self, w: int, name: str, mode: str) -> Iterator[Server]:
        """The product with `w` uvicorn workers; its pipeline in them (in_app), in `w`
        separate `paht worker` processes (worker), or nowhere (none: acknowledgements only)."""
        app_mode = "in_app" if mode == "in_app" else "worker"
        with uvicorn_server("product_app", w, self.db, self.tmp, name, pipeline=app_mode) as srv:
            if mode in ("in_app", "none"):
                yield srv
                return
            with worker_processes(w, self.db, self.tmp, f"{name}-worker"):
                yield srv

    def webhook(self, w: int, c: int, bare: Load, profile: Path | None, mode: str) -> None:
        """(b) the product's webhook, its pipeline working beside it."""
        truncate(self.db)
        with self.product(w, f"webhook-{w}w-{mode}-c{c}", mode) as srv:
            self.load(srv, WEBHOOK, self.args.warmup, c)
            with profiling.recording(srv.pids, self.args.duration, profile):
                ack = self.load(srv, WEBHOOK, self.args.duration, c)
        self.row(w, f"(b) webhook, {mode}, c{c}", ack, ack.rate / bare.rate)
        if profile:
            self.profile += profiling.summarize(
                profile, self.args.duration, f"(b) product webhook, {w}w, under load"
            )

    def drain(self, w: int, profile: Path | None, mode: str) -> None:
        """(c) a stored backlog drained by the app's own pipeline(s), nothing else running."""
        n = self.args.drain
        truncate(self.db)
        self._base += 10_000_000
        fill_inbox(self.db, n, max(1, n // len(STEPS)), self.texts, self._base)
        with (
            self.product(w, f"drain-{w}w-{mode}", mode) as srv,
            profiling.recording(srv.pids, self.args.duration, profile),
        ):
            t_first, t_last, c = self.wait_handled(n, self.args.drain_timeout)
        rate = (c["done"] - c["first"]) / max(t_last - t_first, 1e-9)
        status = "NOT done, timed out" if "timeout" in c else "done"
        self.rows.append(
            f"{w:>2}  {'(c) drain, ' + mode:30} {rate:8.0f}  msg/s: backlog of {n} {status} "
            f"in {t_last - t_first:.1f} s (done {c['done']}, failed {c['failed']}, "
            f"outbox {c['outbox']}, reports {c['reports']})"
        )
        if profile:
            self.profile += profiling.summarize(
                profile, self.args.duration, f"(c) draining a backlog, {w}w"
            )

    def wait_handled(self, n: int, timeout: float) -> tuple[float, float, dict[str, int]]:
        """Poll until n inbox rows are handled: (time the first was seen handled, time the last
        was, counts with "first": handled at the first sighting, "timeout" if it ran out)."""
        t_first, first = time.perf_counter(), -1
        deadline = t_first + timeout
        while True:
            c = counts(self.db)
            now, handled = time.perf_counter(), c["done"] + c["failed"]
            if first < 0 and handled > 0:
                t_first, first = now, handled
            if c["inbox"] >= n and handled >= c["inbox"]:
                return t_first, now, {**c, "first": max(first, 0)}
            if now > deadline:
                return t_first, now, {**c, "first": max(first, 0), "timeout": 1}
            time.sleep(0.05)

    def row(self, w: int, name: str, load: Load, ratio: float | None) -> None:
        r = f"{ratio:6.3f}" if ratio is not None else ""
        self.rows.append(
            f"{w:>2}  {name:30} {load.rate:8.0f} {load.p50_ms:8.1f} {load.p99_ms:8.1f} "
            f"{r:>6}  {load.requests:>7} {load.errors:>5}  {load.tool}"
        )

    def report(self, started: float) -> None:
        print(f"\n{'w':>2}  {'':30} {'rate/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'b/a':>6}", end="")
        print(f"  {'reqs':>7} {'errs':>5}  load")
        print("\n".join(self.rows))
        if self.profile:
            print()
            print("\n".join(self.profile))
        print(f"\ntotal {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per load phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up load")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to run")
    parser.add_argument(
        "--connections", default="40", help="closed-loop clients; a list runs (a) and (b) at each"
    )
    parser.add_argument("--senders", type=int, default=500)
    parser.add_argument("--drain", type=int, default=1200, help="updates in the (c) backlog")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--loadgen", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--profile", type=Path, help="py-spy raw profiles into this folder")
    parser.add_argument("--pg", default=os.environ.get("PAHT_BENCH_POSTGRES_URL", PG_DEFAULT))
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--pipeline",
        default="in_app,worker",
        help="where the pipeline runs: in the uvicorn workers (in_app), in as many separate "
        "`paht worker` processes (worker), nowhere (none: the acknowledgement path alone), "
        "or several of them",
    )
    args = parser.parse_args()
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "httpx"
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    connections = [int(c) for c in args.connections.split(",") if c.strip()]
    modes = [m for m in args.pipeline.split(",") if m.strip()]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="paht-bench-"))
    print(
        f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; load: {args.loadgen} closed "
        f"loop, {args.connections} connections, {args.duration:g} s after {args.warmup:g} s "
        f"warm-up; server logs in {tmp}",
        flush=True,
    )
    with bench_database(args.pg, args.keep_db) as db:
        bench = Bench(args, db, tmp)
        for i, w in enumerate(workers):
            profile = args.profile if args.profile and i == 0 else None
            for c in connections:
                bare = bench.bare(w, c)
                for mode in modes:
                    name = f"webhook-{w}w-{mode}-c{c}"
                    bench.webhook(w, c, bare, profile and profile / name, mode)
            for mode in modes:
                if mode != "none":
                    bench.drain(w, profile and profile / f"drain-{w}w-{mode}", mode)
            print(f"  {w} worker(s) done", flush=True)
        bench.report(started)


if __name__ == "__main__":
    main()
