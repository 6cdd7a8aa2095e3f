"""Webhook benchmark, profiling (`--profile DIR`): py-spy on the server workers, summarised.

Owns starting `py-spy record` (raw format, 250 Hz, `--gil`: samples where the GIL holder is)
against each uvicorn worker for the length of a phase, and reading the raw stacks back into a
few lines: share of samples by thread kind, self time by library, product functions inclusive.
"""

from __future__ import annotations

import collections
import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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


@contextlib.contextmanager
def recording(pids: list[int], seconds: float, out: Path | None) -> Iterator[None]:
    """py-spy records each of `pids` for `seconds` into `out.PID.txt` while the block runs
    (and the block waits for it); nothing when `out` is None."""
    exe = py_spy()
    if out is not None and exe is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    procs = []
    for pid in pids if out is not None else []:
        cmd = [str(exe), "record", "--pid", str(pid), "--rate", "250"]
        cmd += ["--duration", str(max(1, round(seconds))), "--format", "raw", "--threads"]
        cmd += ["--nonblocking", "--gil", "--output", f"{out}.{pid}.txt"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield
    finally:
        for proc in procs:
            proc.wait(timeout=seconds + 60)


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


def summarize(out: Path, seconds: float, title: str) -> list[str]:
    """Where the on-CPU samples fall: by thread kind, product function (inclusive) and library
    (self time of the innermost Python frame, so C work is charged to its Python caller)."""
    total = 0
    by_kind: collections.Counter[str] = collections.Counter()
    funcs: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    libs: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for path in sorted(out.parent.glob(f"{out.name}.*.txt")):
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
        f"s of Python per second (share of time the GIL was held, summed over processes)"
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
