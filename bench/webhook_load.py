"""Webhook benchmark, the load: the Telegram update bodies and the closed-loop generators.

Owns what the client side sends and measures: the conversation each sender walks (step k of
sender s is update s + k * senders), its rendering both in Python and as a wrk Lua script (the
same formula), `run_wrk` (Debian `wrk`) and `run_httpx` (an async httpx generator in its own
process: `python -m bench.webhook_load`, cwd = the repository), each returning a `Load`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOKEN, SECRET = "123456:BENCH-token", "bench-secret"
WEBHOOK = "/channels/telegram/webhook"
BARE = "/bare"
HEADERS = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}
CHAT_BASE = 600_000_000


@dataclass
class Load:
    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    seconds: float
    tool: str


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
    '"p99_us":%d,"errors":%d,"status_errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def _json_line(out: subprocess.CompletedProcess[str], tag: str, what: str) -> dict[str, Any]:
    line = next((x for x in out.stdout.splitlines() if x.startswith(tag + " ")), None)
    if line is None:
        raise RuntimeError(f"{what} failed: {out.stdout}\n{out.stderr}")
    return dict(json.loads(line[len(tag) + 1 :]))


def run_wrk(
    url: str, path: str, *, seconds: float, connections: int, threads: int, script: Path
) -> Load:
    """`script` is a `wrk_script`; wrk takes whole seconds."""
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s"]
    cmd += ["--timeout", "10s", "-s", str(script), url + path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    r = _json_line(out, "WRKJSON", "wrk")
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
    url: str, path: str, *, seconds: float, connections: int, base: int, senders: int
) -> Load:
    """The httpx generator in its own process, so it does not share this one's GIL."""
    cmd = [sys.executable, "-m", "bench.webhook_load", "--url", url + path]
    cmd += ["--duration", str(seconds), "--connections", str(connections)]
    cmd += ["--base", str(base), "--senders", str(senders)]
    out = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    r = _json_line(out, "LOADJSON", "load generator")
    return Load(**r, tool=f"httpx closed c={connections}")


def closed_load(
    kind: str,
    url: str,
    path: str,
    *,
    seconds: float,
    connections: int,
    senders: int,
    base: int,
    texts: list[str],
    tmp: Path,
    wrk_threads: int = 1,
) -> Load:
    """`connections` clients each POSTing the next update as soon as the last is answered."""
    if kind == "wrk":
        script = tmp / f"wrk-{base}.lua"
        script.write_text(wrk_script(path, senders, texts, base, wrk_threads), "utf-8")
        return run_wrk(
            url, path, seconds=seconds, connections=connections, threads=wrk_threads, script=script
        )
    return run_httpx(
        url, path, seconds=seconds, connections=connections, base=base, senders=senders
    )


async def _httpx_closed(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    texts = descriptions()
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    n = args.connections
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=10, headers=HEADERS) as client:
        t0 = time.perf_counter()
        deadline = t0 + args.duration

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                try:
                    body = update_body(i, args.senders, texts, args.base)
                    response = await client.post(args.url, content=body)
                    errors += response.status_code != 200
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(worker() for _ in range(args.connections)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    return {
        "rate": n / elapsed,
        "p50_ms": latencies[n // 2] * 1000 if n else float("nan"),
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
        "requests": n,
        "errors": errors,
        "seconds": elapsed,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="closed-loop httpx load (run by webhook.py)")
    parser.add_argument("--url", required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--base", type=int, required=True)
    parser.add_argument("--senders", type=int, required=True)
    print("LOADJSON " + json.dumps(asyncio.run(_httpx_closed(parser.parse_args()))), flush=True)
