"""Webhook benchmark: a bare FastAPI endpoint beside the product's Telegram webhook, on PostgreSQL.

Run:  .venv/bin/python bench/webhook.py                      (about 2.5 minutes)
      .venv/bin/python bench/webhook.py --nodelay            (TCP_NODELAY forced, see below)
      .venv/bin/python bench/webhook.py --workers 1 --profile var/bench-profile   (py-spy)
      .venv/bin/python bench/webhook.py --workers 1 --phases c1 --external 1,2

In one run, on loopback only, every load bounded in count and time:

(a) bare   a trivial FastAPI POST (reads the body, answers {"status": "ok"}) under uvicorn
           in a subprocess; closed-loop load (`--connections`, default 40: Telegram's default
           `max_connections` for a webhook) from wrk if installed (Debian `wrk`, a Lua script
           makes the bodies), else from an async httpx generator in another process.
(b) ack    `POST /channels/telegram/webhook` of the real app (`backend.app.create_app`, real
           `TelegramAdapter`, PostgreSQL, NLU loaded), same uvicorn settings, same load, same
           bodies: Telegram updates from `--senders` distinct chats (default 500) walking a
           report conversation (description from the NLU held-out set, location, "xong",
           "có", contact, "gửi"). The in-process pipeline runs meanwhile, as in production,
           so the rate is the acknowledgement rate with the bot working beside it; the note
           under the table says how fast the backlog grew meanwhile.
(b0)       the same with the pipeline replaced by a no-op (bench-side monkeypatch): what the
           acknowledgement path alone can do.
(b@R)      open loop at a fixed rate (`--open-rate`; by default 1000/s if (b) carried 1,100/s,
           else 70 % of the (b) rate) from the httpx generator, latency counted from each
           request's scheduled time (no coordinated omission).
(c1)       end to end: a backlog of N updates (`--drain`), stored through the product's
           parse + store_inbound, drained by the app's own pipeline(s); rate = handled / (first
           seen handled → last handled, polled every 50 ms), replies left in the outbox.
(c2)       N updates POSTed while the pipeline works: first POST → last handled (1 worker);
           with `--send` once more with the replies sent to the fake Telegram Bot API
           (`tests/fakes/telegram_api.py`, its own process) through PTB.
(c3)       `--external K,..`: the (c1) backlog drained by K pipeline processes outside the web
           server (the product's process_pending in a loop): what moving it out would give.
(d)        in-process, no HTTP, one thread: per-message cost of verify, parse, store and
           process (bot + NLU + DB), SQL statements and commits counted, Python and PostgreSQL
           CPU split; and leaner inbox inserts (Core, no pre-ping, batched) for comparison.

Each measured row says which processes used the 2 cores (server tree, PostgreSQL, load
generator, everything else: another job on the machine makes every figure lower).
Servers log like `paht serve` (JSON logs, uvicorn access log at INFO, to a file) unless
`--no-access-log`. With `--workers 2` uvicorn's listening socket has proto 0, so asyncio
does not set TCP_NODELAY on its connections and each response waits for the client's
delayed ACK (~40 ms); `--nodelay` patches that in both servers to measure the fix.
`--switch-interval` and `--threads` are further experiments. `--profile DIR` records the
first worker count's (b0), (b) and (c1) with py-spy (`pip install py-spy` into the venv;
`--gil` sampling by default: where the GIL holder is). The benchmark creates its own
database on the server at `--pg` (default local trust auth) and drops it at the end.
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_HERE = Path(__file__).resolve().parent
# bench/nlu.py would shadow the nlu package when this file runs as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("PAHT_CONFIG", str(ROOT / "paht.toml"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from starlette.requests import Request  # noqa: E402  (resolved by FastAPI at module level)

TOKEN, SECRET = "123456:BENCH-token", "bench-secret"
WEBHOOK = "/channels/telegram/webhook"
BARE = "/bare"
HEADERS = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}
CHAT_BASE = 600_000_000
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TABLES = (
    "report_events, attachments, reports, daily_counters, outbox, inbox, inbound_messages, "
    "conversation_events, conversations, channel_identities, citizens"
)

# ---------------------------------------------------------------------------------------------
# The conversation each sender walks (step k of sender s is message s + k * senders).


def descriptions() -> list[str]:
    """Realistic report texts: the NLU held-out set, this province or none named."""
    rows = []
    for path in sorted((ROOT / "nlu" / "heldout").glob("categories_part*.jsonl")):
        rows += [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    texts = [r["text"] for r in rows if r.get("province") in (None, "Vĩnh Long")]
    return texts or ["Đèn đường hẻm 12 Nguyễn Trãi phường 3 bị tắt cả tuần nay, tối rất nguy hiểm"]


def _text(text: str) -> str:
    return '"text":' + json.dumps(text, ensure_ascii=False)


# Fragments of the `message` object; {chat} is the sender's chat/user id.
STEPS: tuple[str, ...] = (
    "DESCRIPTION",
    '"location":{"latitude":10.2537,"longitude":105.9722}',
    _text("xong"),
    _text("có"),
    '"contact":{"phone_number":"+8491{phone}","first_name":"Lan","user_id":{chat}}',
    _text("gửi"),
)


def update_body(i: int, senders: int, texts: list[str], base: int) -> bytes:
    """The i-th update of a run (the same formula as the wrk Lua script)."""
    s, step = i % senders, (i // senders) % len(STEPS)
    chat, uid = CHAT_BASE + s, base + i
    content = STEPS[step]
    if content == "DESCRIPTION":
        content = _text(texts[s % len(texts)])
    content = content.replace("{chat}", str(chat)).replace("{phone}", f"{s:07d}")
    return (
        f'{{"update_id":{uid},"message":{{"message_id":{uid},"date":1763895800,'
        f'"chat":{{"id":{chat},"type":"private","first_name":"Dân"}},'
        f'"from":{{"id":{chat},"is_bot":false,"first_name":"Dân"}},{content}}}}}'
    ).encode()


def _lua_str(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def wrk_script(path: str, senders: int, texts: list[str], base: int, threads: int) -> str:
    steps = ",\n".join(_lua_str(s) for s in STEPS)
    descs = ",\n".join(_lua_str(_text(t)) for t in texts)
    headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in HEADERS.items())
    return f"""
wrk.method = "POST"
wrk.path = "{path}"
{headers}
local senders, base, nthreads = {senders}, {base}, {threads}
local steps = {{ {steps} }}
local descs = {{ {descs} }}
local created = 0
function setup(thread)
  thread:set("tid", created)
  created = created + 1
end
local counter = 0
function request()
  local i = counter * nthreads + tid
  counter = counter + 1
  local s = i % senders
  local step = math.floor(i / senders) % #steps
  local chat = {CHAT_BASE} + s
  local uid = base + i
  local content = steps[step + 1]
  if content == "DESCRIPTION" then content = descs[(s % #descs) + 1] end
  content = string.gsub(content, "{{chat}}", tostring(chat))
  content = string.gsub(content, "{{phone}}", string.format("%07d", s))
  local body = '{{"update_id":' .. uid .. ',"message":{{"message_id":' .. uid ..
    ',"date":1763895800,"chat":{{"id":' .. chat .. ',"type":"private","first_name":"Dân"}},' ..
    '"from":{{"id":' .. chat .. ',"is_bot":false,"first_name":"Dân"}},' .. content .. '}}}}'
  return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {{"requests":%d,"duration_us":%d,"p50_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"errors":%d,"status_errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


# ---------------------------------------------------------------------------------------------
# Server side: uvicorn imports these factories (`bench.webhook:bare_app`) in each worker.


def _server_logging() -> None:
    if os.environ.get("PAHT_BENCH_NODELAY") == "1":
        _force_nodelay()
    if float(os.environ.get("PAHT_BENCH_SWITCH") or 0) > 0:
        sys.setswitchinterval(float(os.environ["PAHT_BENCH_SWITCH"]))
    if os.environ.get("PAHT_BENCH_ACCESS_LOG", "1") == "1":
        from backend.logs import configure_logging

        configure_logging()  # what `paht serve` does: JSON logs, the access log at INFO


def _force_nodelay() -> None:
    """`--nodelay`: TCP_NODELAY on every accepted connection, as asyncio does for sockets made
    with proto=IPPROTO_TCP. uvicorn's multi-worker listening socket is `socket.socket(family)`
    (proto 0), so asyncio skips it and h11's two writes per response (head, body) meet the
    client's delayed ACK: ~40 ms a response. Bench-side monkeypatch, to measure the fix."""
    import asyncio.base_events
    import socket as sockets

    def set_nodelay(sock: sockets.socket) -> None:
        if sock.family in (sockets.AF_INET, sockets.AF_INET6) and sock.type == sockets.SOCK_STREAM:
            sock.setsockopt(sockets.IPPROTO_TCP, sockets.TCP_NODELAY, 1)

    asyncio.base_events._set_nodelay = set_nodelay  # type: ignore[attr-defined]


def _pid_route(app: Any) -> None:
    from fastapi.responses import JSONResponse

    async def pid() -> JSONResponse:
        return JSONResponse({"pid": os.getpid()})

    app.add_api_route("/_bench/pid", pid, methods=["GET"])


def bare_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    _server_logging()
    app = FastAPI()

    @app.post(BARE)
    async def bare(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "ok"})

    _pid_route(app)
    return app


class _NoPipeline:
    """Stands in for backend.channels.pipeline.Pipeline in the (b0) phase."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def wake(self) -> None:
        pass

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def product_app() -> Any:
    import backend.app
    from backend.app import create_app
    from backend.channels.registry import Channels
    from backend.settings import load_settings
    from channels.telegram import TelegramAdapter
    from nlu import load_nlu

    _server_logging()
    settings = load_settings(env="test", database_url=os.environ["PAHT_BENCH_DB"])
    nlu = load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=ROOT / "var" / "nlu-model",
    )
    # Bot API calls go to the fake server (--send) or to a closed loopback port, never out.
    api = os.environ.get("PAHT_BENCH_TELEGRAM_API") or "http://127.0.0.1:9"
    adapter = TelegramAdapter(TOKEN, SECRET, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")
    senders = {"telegram": adapter} if os.environ.get("PAHT_BENCH_TELEGRAM_API") else {}
    if os.environ.get("PAHT_BENCH_PIPELINE", "1") == "0":
        backend.app.Pipeline = _NoPipeline  # type: ignore[misc,assignment]
    app = create_app(
        settings,
        nlu=nlu,
        channels=Channels(webhook={"telegram": adapter}, senders=senders),
    )
    _pid_route(app)
    threads = int(os.environ.get("PAHT_BENCH_THREADS") or 0)
    if threads:
        _thread_pool(app, threads)
    return app


def _thread_pool(app: Any, size: int) -> None:
    """`--threads`: the default executor (asyncio.to_thread) gets `size` threads."""
    from concurrent.futures import ThreadPoolExecutor

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(size))
        async with inner(app) as state:
            yield state

    app.router.lifespan_context = lifespan


def fake_telegram_app() -> Any:
    from tests.fakes.telegram_api import FakeTelegramApi

    fake = FakeTelegramApi(TOKEN)
    fake.calls = _Counted()  # type: ignore[assignment]  (do not keep 10^4 calls around)
    return fake.app


class _Counted(collections.deque):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__(maxlen=100)


# ---------------------------------------------------------------------------------------------
# Orchestration helpers.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    pids: list[int] = field(default_factory=list)
    log: Path | None = None


@contextlib.contextmanager
def uvicorn_server(
    factory: str, workers: int, env: dict[str, str], logdir: Path, name: str
) -> Iterator[Server]:
    port = free_port()
    log = logdir / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        f"bench.webhook:{factory}",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--timeout-graceful-shutdown",
        "3",
    ]
    if os.environ.get("PAHT_BENCH_ACCESS_LOG", "1") == "1":
        cmd += ["--log-config", str(logdir / "nolog.json")]  # the app configures logging
    else:
        cmd += ["--no-access-log"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log=log)
    try:
        server.pids = _wait_ready(server, workers)
        yield server
    finally:
        _stop(proc)


def _wait_ready(server: Server, workers: int, timeout: float = 60) -> list[int]:
    import httpx

    pids: set[int] = set()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while len(pids) < workers:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                tail = server.log.read_text(errors="replace")[-3000:] if server.log else ""
                raise RuntimeError(f"server did not start:\n{tail}")
            try:
                answer = client.get(f"{server.url}/_bench/pid", headers={"connection": "close"})
                pids.add(answer.json()["pid"])  # a new connection each time: any worker
                time.sleep(0.02)
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.1)
    return sorted(pids)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@dataclass
class Load:
    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    seconds: float
    tool: str
    note: str = ""
    cpu: str = ""


def run_wrk(
    url: str,
    path: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    base: int,
    senders: int,
    texts: list[str],
    tmp: Path,
) -> Load:
    script = tmp / f"wrk-{base}.lua"
    script.write_text(wrk_script(path, senders, texts, base, threads), "utf-8")
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",  # wrk takes whole seconds
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("WRKJSON ") :])
    secs = r["duration_us"] / 1e6
    return Load(
        rate=r["requests"] / secs,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        requests=r["requests"],
        errors=r["errors"] + r["status_errors"],
        seconds=secs,
        tool=f"wrk -t{threads} -c{connections}",
    )


def run_httpx(
    url: str,
    path: str,
    *,
    mode: str,
    seconds: float,
    connections: int,
    base: int,
    senders: int,
    count: int = 0,
    rate: float = 0.0,
) -> Load:
    """The httpx load generator in its own process (this file, --role loadgen)."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--role",
        "loadgen",
        "--url",
        url + path,
        "--mode",
        mode,
        "--duration",
        str(seconds),
        "--connections",
        str(connections),
        "--base",
        str(base),
        "--senders",
        str(senders),
        "--count",
        str(count),
        "--open-rate",
        str(rate),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("LOADJSON ")), None)
    if line is None:
        raise RuntimeError(f"load generator failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("LOADJSON ") :])
    tool = (
        f"httpx closed c={connections}"
        if mode == "closed"
        else f"asyncio open loop {rate:.0f}/s, {connections} conns"
    )
    return Load(
        r["rate"],
        r["p50_ms"],
        r["p99_ms"],
        r["requests"],
        r["errors"],
        r["seconds"],
        tool,
        r.get("note", ""),
    )


async def _open_loop(args: argparse.Namespace) -> dict[str, Any]:
    """Open loop on plain asyncio streams (httpx costs most of a core at a few hundred/s when
    the server falls behind, which on 2 cores starves the server it measures): update i is
    due at t0 + i / rate; `--connections` keep-alive connections take due updates in order;
    latency runs from the due time, so queueing behind a slow server counts."""
    from urllib.parse import urlsplit

    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    texts = descriptions()
    head = (
        f"POST {url.path} HTTP/1.1\r\nhost: {host}:{port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    ).encode()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while (item := await queue.get()) is not None:
                i, due = item
                body = update_body(i, args.senders, texts, args.base)
                writer.write(head + f"content-length: {len(body)}\r\n\r\n".encode() + body)
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if b" 200 " not in status:
                    errors += 1
                latencies.append(time.perf_counter() - due)
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(args.connections)]
    late = 0.0
    t0 = time.perf_counter()
    total = int(args.open_rate * args.duration)
    for i in range(total):
        due = t0 + i / args.open_rate
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        else:
            late = max(late, -pause)
        queue.put_nowait((i, due))
    for _ in workers:
        queue.put_nowait(None)
    # bounded: what has not been answered 10 s after the last was due counts as an error
    _, pending = await asyncio.wait(workers, timeout=10)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - t0
    errors += total - len(latencies)
    return _summary(latencies, errors, elapsed, late if late > 0.05 else 0.0)


def _summary(latencies: list[float], errors: int, elapsed: float, late: float) -> dict[str, Any]:
    latencies.sort()
    n = len(latencies)
    return {
        "rate": n / elapsed,
        "requests": n,
        "errors": errors,
        "seconds": elapsed,
        "p50_ms": latencies[n // 2] * 1000 if n else float("nan"),
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
        "note": f"the generator fell up to {late * 1000:.0f} ms behind its schedule"
        if late
        else "",
    }


async def _loadgen(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    if args.mode == "open":
        return await _open_loop(args)

    texts = descriptions()
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    async with httpx.AsyncClient(limits=limits, timeout=10, headers=HEADERS) as client:

        async def post(i: int, start: float) -> None:
            nonlocal errors
            try:
                response = await client.post(
                    args.url, content=update_body(i, args.senders, texts, args.base)
                )
                if response.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - start)

        t0 = time.perf_counter()
        deadline = t0 + args.duration
        if args.mode == "closed":
            counter = iter(range(args.count or 10**9))

            async def worker() -> None:
                for i in counter:
                    if time.perf_counter() > deadline:
                        return
                    await post(i, time.perf_counter())

            await asyncio.gather(*(worker() for _ in range(args.connections)))
        elapsed = time.perf_counter() - t0
    return _summary(latencies, errors, elapsed, 0.0)


def closed_load(
    args: argparse.Namespace,
    url: str,
    path: str,
    *,
    seconds: float,
    base: int,
    texts: list[str],
    tmp: Path,
    server: int | None = None,
) -> Load:
    before = cpu_snapshot(server)
    t0 = time.perf_counter()
    if args.loadgen == "wrk":
        load = run_wrk(
            url,
            path,
            seconds=seconds,
            connections=args.connections,
            threads=args.wrk_threads,
            base=base,
            senders=args.senders,
            texts=texts,
            tmp=tmp,
        )
    else:
        load = run_httpx(
            url,
            path,
            mode="closed",
            seconds=seconds,
            connections=args.connections,
            base=base,
            senders=args.senders,
        )
    load.cpu = cpu_share(before, cpu_snapshot(server), time.perf_counter() - t0)
    return load


# ---------------------------------------------------------------------------------------------
# Database.


def admin_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def bench_database(admin_url: str, keep: bool) -> Iterator[str]:
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
    import psycopg

    with psycopg.connect(admin_dsn(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'done'), "
            "count(*) FILTER (WHERE status = 'failed'), "
            "(SELECT count(*) FROM outbox), (SELECT count(*) FROM outbox WHERE status = 'sent'), "
            "(SELECT count(*) FROM reports) FROM inbox"
        ).fetchone()
    assert row is not None
    keys = ("inbox", "done", "failed", "outbox", "sent", "reports")
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


def pipeline_process(url: str) -> None:
    """(c3) one pipeline outside the web server: the product's process_pending in a loop."""
    from backend.channels.service import process_pending
    from backend.conversations.service import ChatContext, bot_config
    from backend.db import make_engine, make_session_factory, utcnow
    from backend.settings import load_settings
    from nlu import load_nlu

    settings = load_settings(env="test", database_url=url)
    nlu = load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=ROOT / "var" / "nlu-model",
    )
    ctx = ChatContext(settings=settings, nlu=nlu, bot=bot_config(settings))
    engine = make_engine(url)
    factory = make_session_factory(engine)
    print("READY", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process_pending(factory, ctx=ctx, now=utcnow()):
        pass
    with contextlib.suppress(KeyboardInterrupt):  # keep the connection (and its CPU count)
        sys.stdin.readline()
    engine.dispose()


# ---------------------------------------------------------------------------------------------
# Who used the two cores: CPU seconds by process group, from /proc (Linux).

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree(root: int) -> set[int]:
    """`root` and its descendants."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children[ppid].append(int(entry.name))
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo += children.get(pid, [])
    return out


def cpu_snapshot(server_root: int | None) -> dict[str, float]:
    """CPU seconds used so far by: the server process tree, PostgreSQL, the load generator,
    everything else; plus the machine's busy and total seconds (/proc/stat)."""
    server = _tree(server_root) if server_root else set()
    me = os.getpid()
    groups: collections.Counter[str] = collections.Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            used = (int(fields[11]) + int(fields[12])) / _TICK
            pid = int(entry.name)
            if pid in server:
                groups["server"] += used
            elif comm.startswith("postgres"):
                groups["postgres"] += used
            elif comm.startswith("python") and "pipeline" in (entry / "cmdline").read_text():
                groups["pipelines"] += used
            elif comm == "wrk" or (
                comm.startswith("python")
                and pid != me
                and "--role" in (entry / "cmdline").read_text()
            ):
                groups["loadgen"] += used
            elif pid == me:
                groups["bench"] += used
            else:
                groups["other"] += used
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    groups["loadgen"] += children.ru_utime + children.ru_stime  # reaped wrk/httpx runs
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in first]
    idle = ticks[3] + ticks[4]
    groups["busy"] = (sum(ticks) - idle) / _TICK
    groups["total"] = sum(ticks) / _TICK
    return dict(groups)


def cpu_share(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """Cores used over the interval, by group."""
    d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    cores = d["total"] / seconds if seconds else 0
    parts = [
        f"{k} {d.get(k, 0.0) / seconds:.2f}"
        for k in ("server", "postgres", "loadgen", "pipelines", "bench", "other")
        if k != "pipelines" or d.get(k)
    ]
    return f"cores busy {d['busy'] / seconds:.2f} of {cores:.0f}: " + ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# (d) anatomy: the same work in-process, timed piece by piece.


@dataclass
class Anatomy:
    lines: list[str]


def anatomy(url: str, n: int, senders: int, texts: list[str]) -> Anatomy:
    from sqlalchemy import event

    from backend.channels.service import process_pending, store_inbound
    from backend.conversations.service import ChatContext, bot_config
    from backend.db import make_engine, make_session_factory, unit_of_work, utcnow
    from backend.settings import load_settings
    from channels.base import RawRequest
    from channels.telegram import TelegramAdapter, _load_update
    from nlu import load_nlu

    settings = load_settings(env="test", database_url=url)
    t = time.perf_counter()
    nlu = load_nlu(
        categories=[c.id for c in settings.categories],
        province_code=settings.province.code,
        model_dir=ROOT / "var" / "nlu-model",
    )
    nlu_load = time.perf_counter() - t
    ctx = ChatContext(settings=settings, nlu=nlu, bot=bot_config(settings))
    engine = make_engine(url)
    factory = make_session_factory(engine)
    adapter = TelegramAdapter(TOKEN, SECRET, base_url="http://127.0.0.1:9/bot")
    stats = {"stmts": 0, "db_s": 0.0, "commits": 0}
    started: dict[int, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, *a: Any) -> None:
        stats["stmts"] += 1
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, *a: Any) -> None:
        stats["db_s"] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        stats["commits"] += 1

    bodies = [update_body(i, senders, texts, 1) for i in range(n)]
    raws = [
        RawRequest(method="POST", url="http://x" + WEBHOOK, headers=dict(HEADERS), body=b, query={})
        for b in bodies
    ]

    def per_msg(fn: Any, items: list[Any]) -> float:
        t0 = time.perf_counter()
        for x in items:
            fn(x)
        return (time.perf_counter() - t0) / len(items) * 1e6

    for r in raws[:50]:  # warm-up
        adapter.parse(r)
    verify_us = per_msg(adapter.verify, raws)
    json_us = per_msg(json.loads, bodies)
    dejson_us = per_msg(_load_update, bodies)
    parse_us = per_msg(adapter.parse, raws)
    parsed = [adapter.parse(r) for r in raws]
    dump_us = per_msg(lambda m: m[0].model_dump(mode="json"), parsed)

    def store(messages: list[Any]) -> None:
        with unit_of_work(factory) as session:
            store_inbound(session, messages=messages, now=utcnow())

    def snap() -> tuple[int, float, int]:
        return stats["stmts"], stats["db_s"], stats["commits"]

    def delta(before: tuple[int, float, int]) -> tuple[float, float, float]:
        s, d, c = snap()
        return (s - before[0]) / n, (d - before[1]) / n * 1e3, (c - before[2]) / n

    def cpu_ms(before: dict[str, float]) -> tuple[float, float]:
        after = cpu_snapshot(None)
        return (
            (after["bench"] - before["bench"]) / n * 1e3,
            (after["postgres"] - before["postgres"]) / n * 1e3,
        )

    b, c0 = snap(), cpu_snapshot(None)
    t0 = time.perf_counter()
    for m in parsed:
        store(m)
    store_ms = (time.perf_counter() - t0) / n * 1e3
    store_stmts, _, store_commits = delta(b)
    store_py, store_pg = cpu_ms(c0)

    nlu_us = per_msg(lambda m: nlu.understand(m[0].text), parsed)
    b, c0 = snap(), cpu_snapshot(None)
    t0 = time.perf_counter()
    done = 0
    while done < n:
        got = process_pending(factory, ctx=ctx, now=utcnow(), limit=100)
        if not got:
            break
        done += got
    proc_ms = (time.perf_counter() - t0) / n * 1e3
    proc_stmts, proc_db, proc_commits = delta(b)
    proc_py, proc_pg = cpu_ms(c0)
    engine.dispose()
    c = counts(url)
    ack_us = per_msg(adapter.acknowledgements, raws)
    alt = store_alternatives(url, [m[0] for m in parsed])
    lines = [
        f"NLU model load {nlu_load * 1000:.0f} ms per process; messages {n}, senders {senders}",
        f"verify (secret header, constant time)      {verify_us:8.1f} µs",
        f"json.loads of the body                     {json_us:8.1f} µs",
        f"_load_update (json + PTB Update.de_json)   {dejson_us:8.1f} µs",
        f"adapter.parse (→ Inbound, pydantic)        {parse_us:8.1f} µs",
        f"Inbound.model_dump(mode='json')            {dump_us:8.1f} µs",
        f"store (1 txn, sync, own thread)            {store_ms * 1000:8.1f} µs  "
        f"{store_stmts:.1f} statements + 1 pre-ping, {store_commits:.1f} commits; "
        f"CPU: Python {store_py * 1000:.0f} µs, PostgreSQL {store_pg * 1000:.0f} µs",
        f"nlu.understand(text)                       {nlu_us:8.1f} µs",
        f"process (bot+NLU+DB, 1 txn per message)    {proc_ms * 1000:8.1f} µs  "
        f"{proc_stmts:.1f} statements, {proc_commits:.2f} commits; "
        f"CPU: Python {proc_py * 1000:.0f} µs, PostgreSQL {proc_pg * 1000:.0f} µs",
        f"  → one pipeline thread handles at most {1000 / proc_ms:.0f} msg/s; its time is "
        f"{proc_py / proc_ms:.0%} Python CPU, {proc_pg / proc_ms:.0%} PostgreSQL CPU, "
        f"{max(0.0, 1 - (proc_py + proc_pg) / proc_ms):.0%} neither (round trips, fsync); "
        f"statements spend {proc_db / proc_ms:.0%} of it in cursor.execute",
        f"  outcome: {c['done']}/{c['inbox']} done, {c['failed']} failed, "
        f"{c['outbox']} replies in the outbox, {c['reports']} reports created",
        "alternatives for the acknowledgement path (bench-side code, same rows):",
        f"  adapter.acknowledgements(raw) — a 2nd json.loads + de_json per update, though only "
        f"callback queries need it: {ack_us:.1f} µs",
        *alt,
    ]
    return Anatomy(lines)


def store_alternatives(url: str, messages: list[Any]) -> list[str]:
    """The inbox insert done leaner: Core statement built once, no pool pre-ping; and the
    same batched, one transaction and one executemany for `batch` acknowledged messages."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    from backend.channels.models import INBOX_PENDING, InboxMessage
    from backend.db import make_engine, utcnow

    stmt = pg_insert(InboxMessage.__table__).on_conflict_do_nothing(
        index_elements=["channel", "provider_message_id"]
    )

    def row(msg: Any, tag: str) -> dict[str, Any]:
        return {
            "channel": msg.channel,
            "provider_message_id": f"{tag}:{msg.message_id}",
            "sender_id": msg.sender_id,
            "message": msg.model_dump(mode="json"),
            "status": "alt",  # not INBOX_PENDING: no pipeline picks these up
            "attempts": 0,
            "received_at": utcnow(),
        }

    assert INBOX_PENDING != "alt"
    n = len(messages)
    lines = []
    for label, pre_ping, batch in (
        ("Core insert, 1 txn each, no pre-ping", False, 1),
        ("Core insert, 1 txn each, with pre-ping", True, 1),
        ("Core executemany, 20 per txn", False, 20),
        ("Core executemany, 100 per txn", False, 100),
    ):
        engine = make_engine(url, pool_pre_ping=pre_ping)
        with engine.begin() as conn:  # warm the pool and the statement cache
            conn.execute(stmt, [row(messages[0], f"warm{batch}{pre_ping}")])
        c0, t0 = cpu_snapshot(None), time.perf_counter()
        for start in range(0, n, batch):
            with engine.begin() as conn:
                conn.execute(
                    stmt, [row(m, f"{batch}{pre_ping}") for m in messages[start : start + batch]]
                )
        wall = (time.perf_counter() - t0) / n * 1e6
        c1 = cpu_snapshot(None)
        py = (c1["bench"] - c0["bench"]) / n * 1e6
        pg = (c1["postgres"] - c0["postgres"]) / n * 1e6
        engine.dispose()
        lines.append(
            f"  {label:40} {wall:8.1f} µs a message; CPU: Python {py:.0f} µs, "
            f"PostgreSQL {pg:.0f} µs"
        )
    return lines


# ---------------------------------------------------------------------------------------------
# Profiling with py-spy (optional): on-CPU samples of the server's threads.

LIBRARIES: tuple[tuple[str, str], ...] = (  # py-spy prints paths relative to sys.path
    ("psycopg", r"^psycopg"),
    ("SQLAlchemy", r"^sqlalchemy/"),
    ("pydantic", r"^pydantic"),
    ("PTB (telegram)", r"^telegram/"),
    ("NLU (nlu, sklearn, numpy)", r"^(nlu|sklearn|scipy|numpy|underthesea)"),
    ("json", r"^json/"),
    ("logging", r"^logging/|^backend/logs\.py"),
    ("h11", r"^h11/"),
    ("uvicorn", r"^uvicorn/"),
    ("FastAPI/Starlette/anyio", r"^(fastapi|starlette|anyio)/"),
    ("asyncio", r"^asyncio/|^selectors\.py|^socket\.py"),
    ("threads (pool, locks)", r"^concurrent/|^threading\.py|^queue\.py"),
    ("product code", r"^(backend|channels|bot)/"),
)


def py_spy() -> str | None:
    exe = Path(sys.executable).parent / "py-spy"
    return str(exe) if exe.exists() else shutil.which("py-spy")


def start_profile(
    pids: list[int], seconds: float, out: Path, gil: bool
) -> list[subprocess.Popen[bytes]]:
    exe = py_spy()
    if exe is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    procs = []
    for pid in pids:
        cmd = [
            exe,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--duration",
            str(max(1, round(seconds))),
            "--format",
            "raw",
            "--threads",
            "--nonblocking",
            "--output",
            f"{out}.{pid}.txt",
        ]
        if gil:
            cmd.append("--gil")
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def _frame(frame: str) -> tuple[str, str]:
    m = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", frame)
    return (m.group(1), m.group(2)) if m else (frame, "")


def _thread_kind(stack: str) -> str:
    if "process_pending" in stack or "dispatch_once" in stack or "_finish (" in stack:
        return "pipeline thread(s)"
    if "_store (" in stack:
        return "webhook store threads"
    if "run_until_complete" in stack or "uvicorn" in stack or "asyncio" in stack:
        return "event loop"
    return "other"


def summarize_profile(files: list[Path], seconds: float, title: str) -> list[str]:
    """Where the on-CPU samples fall: by thread kind, product function (inclusive) and library
    (self time of the innermost Python frame, so C work is charged to its Python caller)."""
    total = 0
    by_kind: collections.Counter[str] = collections.Counter()
    funcs: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    libs: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, num = line.rpartition(" ")
            if not num.isdigit():
                continue
            n = int(num)
            frames = stack.split(";")
            kind = _thread_kind(stack)
            total += n
            by_kind[kind] += n
            seen = set()
            for frame in frames:
                func, file = _frame(frame)
                if re.match(r"(backend|channels|bot|nlu)/", file):
                    key = f"{func} ({'/'.join(Path(file).parts[-2:])})"
                    if key not in seen:
                        seen.add(key)
                        funcs[kind][key] += n
            _, leaf = _frame(frames[-1])
            lib = next((name for name, pat in LIBRARIES if re.search(pat, leaf)), "other")
            libs[kind][lib] += n
    if not total:
        return [f"{title}: no samples (could py-spy attach? it needs ptrace)"]
    lines = [
        f"{title}: {total} samples at 250 Hz in {seconds:.0f} s = {total / 250 / seconds:.2f} "
        f"s of Python per second (with --gil: share of time the GIL was held, per process)"
    ]
    for kind, n in by_kind.most_common():
        if n / total < 0.02:
            continue
        lines.append(f"  [{kind}] {n / total:.0%} of samples ({n / 250 / seconds:.2f} s/s)")
        lines.append(
            "    self time by library: "
            + ", ".join(
                f"{lib} {k / n:.0%}" for lib, k in libs[kind].most_common(9) if k / n >= 0.01
            )
        )
        top = [(f, k) for f, k in funcs[kind].most_common(40) if k / n < 0.97][:14]
        lines.append(
            "    product functions (inclusive): " + ", ".join(f"{f} {k / n:.0%}" for f, k in top)
        )
    return lines


# ---------------------------------------------------------------------------------------------
# The run.


def _other(cpu: str) -> float:
    m = re.search(r"other (-?[\d.]+)", cpu)
    return float(m.group(1)) if m else 0.0


def fmt(load: Load, ratio: float | None = None) -> str:
    r = f"{ratio:6.2f}" if ratio is not None else "      "
    return (
        f"{load.rate:9.0f} {load.p50_ms:9.1f} {load.p99_ms:9.1f} {r}  "
        f"{load.requests:>7} {load.errors:>5}  {load.tool}"
    )


class Bench:
    def __init__(self, args: argparse.Namespace, url: str, tmp: Path) -> None:
        self.args, self.url, self.tmp = args, url, tmp
        self.texts = descriptions()
        self.env = {"PAHT_BENCH_DB": url}
        self.rows: list[tuple[str, Load, float | None]] = []
        self.notes: list[str] = []
        self.drains: list[str] = []
        self.profile: list[str] = []
        self._base = 0

    def base(self) -> int:
        self._base += 10_000_000
        return self._base

    def load(self, srv: Server, path: str, seconds: float) -> Load:
        return closed_load(
            self.args,
            srv.url,
            path,
            seconds=seconds,
            base=self.base(),
            texts=self.texts,
            tmp=self.tmp,
            server=srv.proc.pid,
        )

    def bare(self, w: int) -> Load:
        with uvicorn_server("bare_app", w, self.env, self.tmp, f"bare-{w}w") as srv:
            self.load(srv, BARE, self.args.warmup)
            bare = self.load(srv, BARE, self.args.duration)
        self.rows.append((f"(a) bare FastAPI, {w}w", bare, None))
        return bare

    def ack(self, w: int, bare: Load, *, pipeline: bool, profile: bool) -> Load:
        truncate(self.url)
        env = {**self.env, "PAHT_BENCH_PIPELINE": "1" if pipeline else "0"}
        name = f"product-{w}w" if pipeline else f"ack-only-{w}w"
        with uvicorn_server("product_app", w, env, self.tmp, name) as srv:
            self.load(srv, WEBHOOK, self.args.warmup)
            before = counts(self.url)
            spies = (
                start_profile(srv.pids, self.args.duration, self.args.profile / name, self.args.gil)
                if profile
                else []
            )
            ack = self.load(srv, WEBHOOK, self.args.duration)
            after = counts(self.url)
            for spy in spies:
                spy.wait(timeout=60)
        label = f"(b) webhook + pipeline, {w}w" if pipeline else f"(b0) webhook, pipeline off, {w}w"
        self.rows.append((label, ack, ack.rate / bare.rate))
        if pipeline:
            done = after["done"] - before["done"]
            stored = after["inbox"] - before["inbox"]
            self.notes.append(
                f"{label}: {stored} stored, the pipeline handled {done} meanwhile "
                f"({done / ack.seconds:.0f}/s): backlog grew by {stored - done} "
                f"({(stored - done) / ack.seconds:.0f}/s)"
            )
        if profile:
            self.profile += summarize_profile(
                sorted(self.args.profile.glob(f"{name}.*.txt")),
                self.args.duration,
                f"{label} under wrk load",
            )
        return ack

    def open_loop(self, w: int, bare: Load, rate: float) -> None:
        truncate(self.url)
        with uvicorn_server("product_app", w, self.env, self.tmp, f"open-{w}w") as srv:
            self.load(srv, WEBHOOK, self.args.warmup)
            c0, t0 = cpu_snapshot(srv.proc.pid), time.perf_counter()
            load = run_httpx(
                srv.url,
                WEBHOOK,
                mode="open",
                seconds=self.args.duration,
                connections=64,
                base=self.base(),
                senders=self.args.senders,
                rate=rate,
            )
            load.cpu = cpu_share(c0, cpu_snapshot(srv.proc.pid), time.perf_counter() - t0)
        label = f"(b@{rate:.0f}/s) open loop, {w}w"
        self.rows.append((label, load, load.rate / bare.rate))
        if load.note:
            self.notes.append(f"{label}: {load.note}")

    def fill(self, n: int) -> None:
        """A backlog of n stored updates, through the product's parse + store_inbound."""
        truncate(self.url)
        fill_inbox(self.url, n, max(1, n // len(STEPS)), self.texts, self.base())

    def wait_done(
        self, n: int, timeout: float, *, send: bool = False
    ) -> tuple[float, float, dict[str, int]]:
        """Poll until n inbox rows are handled (and, with send, their replies sent): returns
        (time the first was seen handled, time the last was, counts) on perf_counter."""
        t_first = time.perf_counter()
        d_first = -1
        deadline = t_first + timeout
        while True:
            c = counts(self.url)
            now = time.perf_counter()
            if d_first < 0 and c["done"] + c["failed"] > 0:
                t_first, d_first = now, c["done"] + c["failed"]
            if (
                c["inbox"] >= n
                and c["done"] + c["failed"] >= c["inbox"]
                and (not send or c["sent"] >= c["outbox"])
            ):
                return t_first, now, {**c, "first": max(d_first, 0)}
            if now > deadline:
                return t_first, now, {**c, "first": max(d_first, 0), "timeout": 1}
            time.sleep(0.05)

    def backlog(self, w: int, *, profile: bool) -> None:
        """(c1) a stored backlog drained by the app's own pipeline(s), nothing else running."""
        args = self.args
        self.fill(args.drain)
        name = f"backlog-{w}w"
        with uvicorn_server("product_app", w, self.env, self.tmp, name) as srv:
            spies = (
                start_profile(srv.pids, args.profile_seconds, args.profile / name, args.gil)
                if profile
                else []
            )
            c0, t0 = cpu_snapshot(srv.proc.pid), time.perf_counter()
            t_first, t_last, c = self.wait_done(args.drain, args.drain_timeout)
            cpu = cpu_share(c0, cpu_snapshot(srv.proc.pid), time.perf_counter() - t0)
            for spy in spies:
                spy.wait(timeout=120)
        rate = (c["done"] - c["first"]) / max(t_last - t_first, 1e-9)
        self.drains.append(
            f"(c1) backlog of {c['inbox']} drained by the app's pipeline, {w}w: "
            f"{'done' if 'timeout' not in c else 'NOT done'} in {t_last - t_first:.1f} s "
            f"→ {rate:.0f} msg/s handled\n"
            f"      (done {c['done']}, failed {c['failed']}, replies in the outbox "
            f"{c['outbox']}, reports {c['reports']}; {cpu})"
        )
        if profile:
            self.profile += summarize_profile(
                sorted(args.profile.glob(f"{name}.*.txt")),
                args.profile_seconds,
                f"(c1) draining a backlog, {w}w",
            )

    def live(self, w: int, *, send: bool) -> None:
        """(c2) N updates POSTed while the pipeline works: first POST → last handled."""
        args = self.args
        truncate(self.url)
        env = dict(self.env)
        fake = None
        try:
            if send:
                port = free_port()
                fake = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "bench.webhook:fake_telegram_app",
                        "--factory",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                env["PAHT_BENCH_TELEGRAM_API"] = f"http://127.0.0.1:{port}"
                _wait_port(port)
            name = f"live-{w}w{'-send' if send else ''}"
            with uvicorn_server("product_app", w, env, self.tmp, name) as srv:
                c0, t0 = cpu_snapshot(srv.proc.pid), time.perf_counter()
                post = run_httpx(
                    srv.url,
                    WEBHOOK,
                    mode="closed",
                    seconds=args.drain_timeout,
                    connections=args.connections,
                    base=self.base(),
                    senders=max(1, args.drain // len(STEPS)),
                    count=args.drain,
                )
                t_posted = time.perf_counter() - t0
                _, t_last, c = self.wait_done(args.drain, args.drain_timeout, send=send)
                elapsed = t_last - t0
                cpu = cpu_share(c0, cpu_snapshot(srv.proc.pid), elapsed)
        finally:
            if fake is not None:
                _stop(fake)
        what = "replies sent to the fake Bot API" if send else "replies left in the outbox"
        sent = f", {c['sent'] / elapsed:.0f} replies/s sent" if send else ""
        self.drains.append(
            f"(c2) {c['inbox']} POSTed while the pipeline works, {w}w, {what}: "
            f"{'done' if 'timeout' not in c else 'NOT done'} in {elapsed:.1f} s from the first "
            f"POST → {c['done'] / elapsed:.0f} msg/s handled end to end{sent}\n"
            f"      (the POSTs took {t_posted:.1f} s: {post.rate:.0f}/s acknowledged, "
            f"{post.errors} errors; done {c['done']}, failed {c['failed']}, outbox "
            f"{c['outbox']}, sent {c['sent']}, reports {c['reports']}; {cpu})"
        )

    def external(self, k: int) -> None:
        """(c3) the same backlog drained by k pipeline processes outside the web server
        (bench-side loop over the product's process_pending): what moving it out would give."""
        args = self.args
        self.fill(args.drain)
        procs = [
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--role", "pipeline"],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
            for _ in range(k)
        ]
        try:
            for proc in procs:  # each says READY once its NLU is loaded
                assert proc.stdout is not None
                proc.stdout.readline()
            c0 = cpu_snapshot(None)
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            t_first, t_last, c = self.wait_done(args.drain, args.drain_timeout)
            cpu = cpu_share(c0, cpu_snapshot(None), t_last - t_first)
        finally:
            for proc in procs:
                _stop(proc)  # type: ignore[arg-type]
        rate = (c["done"] - c["first"]) / max(t_last - t_first, 1e-9)
        self.drains.append(
            f"(c3) the same backlog drained by {k} pipeline process(es) outside the web "
            f"server: {t_last - t_first:.1f} s → {rate:.0f} msg/s handled\n"
            f"      (done {c['done']}, failed {c['failed']}, reports {c['reports']}; "
            f"{cpu})"
        )

    def report(self, anat: Anatomy | None, started: float) -> None:
        print()
        print(
            f"{'':34} {'rate/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'b/a':>6}  "
            f"{'reqs':>7} {'errs':>5}  load"
        )
        for name, load, ratio in self.rows:
            print(f"{name:34} {fmt(load, ratio)}")
        for line in self.drains:
            print(line)
        print(
            "\nwhere the CPU went during each measured row (cores; the machine has "
            f"{os.cpu_count()}):"
        )
        for name, load, _ in self.rows:
            print(f"  {name:34} {load.cpu}")
        for note in self.notes:
            print("  " + note)
        noisy = [name.split(",")[0] for name, load, _ in self.rows if _other(load.cpu) > 0.3]
        noisy += [d.split(" ")[0] for d in self.drains if _other(d) > 0.3]
        if noisy:
            print(
                f"  NOTE: other processes on this machine used > 0.3 cores during "
                f"{', '.join(noisy)}: those figures are lower than on a quiet machine"
            )
        multi = any(", 2w" in name or ", 3w" in name for name, _, _ in self.rows)
        if multi and os.environ.get("PAHT_BENCH_NODELAY") != "1":
            print(
                "  NOTE: multi-worker rows run as `paht serve --workers N` would: no "
                "TCP_NODELAY, ~40 ms a response (--nodelay measures the fix)"
            )
        if anat:
            print("\n(d) one message, in-process on PostgreSQL (no HTTP, one thread):")
            for line in anat.lines:
                print("  " + line)
        if self.profile:
            print()
            for line in self.profile:
                print(line)
        print(f"\ntotal {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per load phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up load")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to run")
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--senders", type=int, default=500)
    parser.add_argument("--drain", type=int, default=1200, help="messages of the (c) backlog")
    parser.add_argument(
        "--external", default="", help="(c3) numbers of outside pipeline processes, e.g. 1,2"
    )
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument(
        "--open-rate",
        type=float,
        default=0.0,
        help="(b@R) offered rate; 0: 1000/s if (b) carried 1100/s, else 70%% of (b); <0 skips",
    )
    parser.add_argument("--anatomy", type=int, default=600, help="messages; 0 skips (d)")
    parser.add_argument("--no-ack-only", action="store_true", help="skip (b0)")
    parser.add_argument(
        "--phases", default="b0,b,open,c1,c2", help="which of b0,b,open,c1,c2 to run ((a) always)"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.0,
        help="experiment: sys.setswitchinterval() in the servers (Python's default 0.005 s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="experiment: the servers' default thread pool size (asyncio: cores + 4 = 6 here)",
    )
    parser.add_argument(
        "--send", action="store_true", help="(c) once more with replies sent to the fake Bot API"
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument(
        "--nodelay",
        action="store_true",
        help="set TCP_NODELAY on accepted sockets in both servers (see _force_nodelay)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy raw profiles into this folder")
    parser.add_argument(
        "--profile-seconds", type=float, default=10.0, help="how long to sample (c)"
    )
    parser.add_argument(
        "--all-threads",
        dest="gil",
        action="store_false",
        help="py-spy samples every running thread (default: --gil, the GIL holder only)",
    )
    parser.add_argument("--pg", default=os.environ.get("PAHT_BENCH_POSTGRES_URL", PG_DEFAULT))
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--budget",
        type=float,
        default=170.0,
        help="seconds after which remaining worker counts are skipped",
    )
    # internal: the httpx load generator process
    parser.add_argument(
        "--role", choices=("main", "loadgen", "pipeline"), default="main", help=argparse.SUPPRESS
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="closed", help=argparse.SUPPRESS)
    parser.add_argument("--base", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.role == "loadgen":
        print("LOADJSON " + json.dumps(asyncio.run(_loadgen(args))), flush=True)
        return
    if args.role == "pipeline":
        pipeline_process(os.environ["PAHT_BENCH_DB"])
        return
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "httpx"
    os.environ["PAHT_BENCH_ACCESS_LOG"] = "0" if args.no_access_log else "1"
    os.environ["PAHT_BENCH_NODELAY"] = "1" if args.nodelay else "0"
    os.environ["PAHT_BENCH_SWITCH"] = str(args.switch_interval)
    os.environ["PAHT_BENCH_THREADS"] = str(args.threads)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    phases = set(args.phases.split(","))
    if args.no_ack_only:
        phases.discard("b0")
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="paht-bench-"))
    (tmp / "nolog.json").write_text(json.dumps({"version": 1, "disable_existing_loggers": False}))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(
        f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; load: "
        f"{'wrk (Debian)' if args.loadgen == 'wrk' else 'httpx'} closed loop, "
        f"{args.connections} connections, {args.duration:g} s after {args.warmup:g} s warm-up; "
        f"uvicorn (h11, asyncio) access log {'off' if args.no_access_log else 'on (JSON)'}"
        f"{', TCP_NODELAY forced' if args.nodelay else ''}; server logs in {tmp}",
        flush=True,
    )
    with bench_database(args.pg, args.keep_db) as url:
        bench = Bench(args, url, tmp)
        anat = None
        if args.anatomy:
            anat = anatomy(url, args.anatomy, max(1, args.anatomy // len(STEPS)), bench.texts)
            truncate(url)
        for i, w in enumerate(workers):
            if i and time.monotonic() - started > args.budget:
                print(f"time budget spent: {w} worker(s) skipped", flush=True)
                break
            profile = bool(args.profile) and i == 0
            bare = bench.bare(w)
            print(f"  (a) {w}w done", flush=True)
            if "b0" in phases:
                bench.ack(w, bare, pipeline=False, profile=profile)
            if "b" in phases:
                ack = bench.ack(w, bare, pipeline=True, profile=profile)
                print(f"  (b) {w}w done", flush=True)
                if "open" in phases and args.open_rate >= 0 and i == 0:
                    # the goal's rate if the closed loop carried it, else 70 % of (b)'s rate
                    rate = args.open_rate or (1000.0 if ack.rate >= 1100 else 0.7 * ack.rate)
                    bench.open_loop(w, bare, rate)
            if "c1" in phases:
                bench.backlog(w, profile=profile)
            if "c2" in phases and i == 0:
                bench.live(w, send=False)
                if args.send:
                    bench.live(w, send=True)
            print(f"  (c) {w}w done", flush=True)
        for k in [int(x) for x in args.external.split(",") if x.strip()]:
            if time.monotonic() - started > args.budget:
                break
            bench.external(k)
            print(f"  (c3) {k} done", flush=True)
        bench.report(anat, started)


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("fake Telegram API did not start")


if __name__ == "__main__":
    main()
