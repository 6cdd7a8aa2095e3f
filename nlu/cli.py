"""`paht nlu ...`: train, evaluate and batch-predict from the command line.

Owns the command-line interface that an external evaluation harness uses, so
its input and output formats are a contract:

    paht nlu train                          # build the model, print timing and counts
    paht nlu eval --data FILE [--json] [--strip-diacritics]
    paht nlu predict [--province CODE|all] < in.jsonl > out.jsonl

`predict` reads JSON Lines {"id": ..., "text": ...} from stdin (as bytes,
decoded line by line), reads everything first, then writes exactly one JSON
line per non-blank input line, in order: a prediction, or {"id", "error"}
for that line alone. Defaults (categories, province, model directory, extra
data) come from the click context object set by the deployment, if any.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from nlu.engine import DEFAULT_MODEL_DIR, Nlu, load_nlu
from nlu.types import DEFAULT_CATEGORIES, Location, NluResult

MAX_TEXT_CHARS = 50_000


def _defaults() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx else None
    obj = obj if isinstance(obj, dict) else {}
    return {
        "categories": tuple(obj.get("categories") or DEFAULT_CATEGORIES),
        "province_code": obj.get("province_code"),
        "model_dir": Path(obj.get("model_dir") or DEFAULT_MODEL_DIR),
        "extra_data_dirs": tuple(Path(d) for d in obj.get("extra_data_dirs") or ()),
    }


def _load(province: str | None = None, *, retrain: bool = False) -> Nlu:
    settings = _defaults()
    nationwide = province == "all"
    return load_nlu(
        categories=settings["categories"],
        province_code=None if nationwide else (province or settings["province_code"]),
        model_dir=settings["model_dir"],
        extra_data_dirs=settings["extra_data_dirs"],
        nationwide=nationwide,
        retrain=retrain,
    )


@click.group(name="nlu")
def nlu_group() -> None:
    """Vietnamese NLU: train, evaluate, predict."""


@nlu_group.command()
def train() -> None:
    """Build the models from nlu/data (and the deployment's extra data)."""
    started = time.perf_counter()
    nlu = _load(retrain=True)
    stats = nlu.models.stats
    click.echo(
        f"trained in {time.perf_counter() - started:.1f} s "
        f"(fitting {stats.get('train_seconds')} s), fingerprint {nlu.models.fingerprint[:12]}"
    )
    examples = stats.get("examples", {})
    classes = stats.get("classes", {})
    if isinstance(examples, dict) and isinstance(classes, dict):
        for task, count in examples.items():
            labels = classes.get(task, [])
            suffix = f", {len(labels)} classes" if labels else ""
            click.echo(f"  {task}: {count} training texts (with unaccented copies){suffix}")
    click.echo(f"model directory: {_defaults()['model_dir']}")


@nlu_group.command(name="eval")
@click.option(
    "--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--strip-diacritics", is_flag=True, help="Evaluate on a copy without diacritics.")
@click.option("--province", default=None, help="Province code, or 'all' for nationwide.")
def eval_command(data: Path, as_json: bool, strip_diacritics: bool, province: str | None) -> None:
    """Per-class precision/recall/F1, confusion matrix and urgent recall on FILE."""
    from nlu.evaluate import evaluate, format_report, read_items

    nlu = _load(province)
    try:
        items = read_items(data, nlu.categories)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    report = evaluate(nlu, items, stripped=strip_diacritics)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report), nl=False)


def _location_json(location: Location | None) -> dict[str, Any]:
    if location is None or not location.found:
        return {
            "province": None,
            "province_code": None,
            "commune": None,
            "commune_code": None,
            "old_names": [],
            "detail": None,
            "confidence": None,
        }
    return {
        "province": location.province,
        "province_code": location.province_code,
        "commune": location.commune,
        "commune_code": location.commune_code,
        "old_names": list(location.old_names),
        "detail": location.detail,
        "confidence": round(location.confidence, 4),
    }


def prediction(item_id: Any, result: NluResult) -> dict[str, Any]:
    """The JSON object `predict` writes for one understood text."""
    return {
        "id": item_id,
        "intent": result.intent,
        "category": result.category,
        "confidence": round(result.confidence, 4),
        "candidates": [{"category": c.category, "score": c.score} for c in result.candidates],
        "urgent": result.urgent,
        "location": _location_json(result.location),
    }


def _parse_line(raw: bytes) -> tuple[Any, str | None, str | None]:
    """(id, text, error) of one input line."""
    try:
        line = raw.decode("utf-8")
        warning = None
    except UnicodeDecodeError:
        line = raw.decode("utf-8", errors="replace")
        warning = "invalid UTF-8"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"invalid JSON: {exc.msg}" + (f" ({warning})" if warning else "")
    if not isinstance(row, dict):
        return None, None, "each line must be a JSON object with 'id' and 'text'"
    item_id = row.get("id")
    text = row.get("text")
    if text is None:
        return item_id, None, "missing 'text'"
    if not isinstance(text, str):
        return item_id, None, "'text' must be a string"
    return item_id, text[:MAX_TEXT_CHARS], None


def answer_lines(nlu: Nlu, lines: Sequence[bytes]) -> Iterator[dict[str, Any]]:
    """One output object per non-blank input line, never raising."""
    for raw in lines:
        if not raw.strip():
            continue
        item_id, text, error = _parse_line(raw)
        if error is not None or text is None:
            yield {"id": item_id, "error": error or "missing 'text'"}
            continue
        try:
            yield prediction(item_id, nlu.understand(text))
        except Exception as exc:  # one bad input must not stop the batch
            yield {"id": item_id, "error": f"internal error: {type(exc).__name__}"}


_WORKER_NLU: Nlu | None = None
PARALLEL_MIN_LINES = 1000
CHUNK_LINES = 250  # lines per task sent to a worker


def _answer_chunk(lines: list[bytes]) -> list[dict[str, Any]]:
    assert _WORKER_NLU is not None
    return list(answer_lines(_WORKER_NLU, lines))


def _answers(nlu: Nlu, lines: list[bytes], jobs: int) -> Iterator[dict[str, Any]]:
    """All answers in input order; large batches are split over `jobs` forked
    processes that share the loaded model (copy-on-write)."""
    global _WORKER_NLU
    if jobs <= 0:
        jobs = min(os.cpu_count() or 1, 4) if len(lines) >= PARALLEL_MIN_LINES else 1
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from answer_lines(nlu, lines)
        return
    _WORKER_NLU = nlu
    chunks = [lines[i : i + CHUNK_LINES] for i in range(0, len(lines), CHUNK_LINES)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for answers in pool.imap(_answer_chunk, chunks):
            yield from answers


@nlu_group.command()
@click.option("--province", default=None, help="Province code, or 'all' for nationwide.")
@click.option(
    "--jobs",
    default=0,
    show_default=True,
    help="Worker processes (0: one per core, up to 4, for 1,000 lines or more).",
)
def predict(province: str | None, jobs: int) -> None:
    """JSON Lines {"id", "text"} on stdin -> one JSON line per input on stdout."""
    lines = sys.stdin.buffer.read().split(b"\n")
    nlu = _load(province)
    out = sys.stdout.buffer
    for answer in _answers(nlu, lines, jobs):
        out.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


if __name__ == "__main__":
    nlu_group()
