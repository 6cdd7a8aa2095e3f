"""NLU benchmark: training time, model load time, memory, understand() latency.

Run:  .venv/bin/python bench/nlu.py [--messages 3000] [--compare]

Latency is measured per message on one core (CPU affinity pinned, BLAS
threads 1) over held-out texts (or training texts if no held-out file exists),
after a warm-up. `--compare` also trains the alternatives the classifier was
chosen from (underthesea_core TextClassifier, scikit-learn LogisticRegression,
LinearSVC + sigmoid calibration, and ablations) and prints their held-out
macro-F1 on the normal and diacritics-stripped copies with their timings.
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlu.classifier import Analysis  # noqa: E402
from nlu.engine import DATA_DIR, load_nlu  # noqa: E402
from nlu.normalize import strip_diacritics  # noqa: E402
from nlu.types import DEFAULT_CATEGORIES  # noqa: E402

HELDOUT = ROOT / "nlu" / "heldout"


def rss_mb() -> float:
    """Resident set size of this process, in MiB (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def heldout_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for path in sorted(HELDOUT.glob("categories_part*.jsonl")):
        rows += [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    return rows


def messages(limit: int) -> list[str]:
    texts = [str(r["text"]) for r in heldout_rows()]
    intents = HELDOUT / "intents.jsonl"
    if intents.exists():
        texts += [json.loads(x)["text"] for x in intents.read_text("utf-8").splitlines() if x]
    if not texts:
        from nlu.training_data import data_files, load_files

        texts = [e.text for e in load_files(data_files([DATA_DIR])).examples]
    texts += [strip_diacritics(t) for t in texts]
    return (texts * (limit // max(1, len(texts)) + 1))[:limit]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def bench(limit: int) -> None:
    """Train in this process, then load and serve in a fresh one (clean memory figures)."""
    pin_one_core()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        load_nlu(categories=DEFAULT_CATEGORIES, model_dir=Path(tmp), with_locator=False)
        print(f"training (first start: data + 3 models): {time.perf_counter() - started:.2f} s")
        sys.stdout.flush()
        subprocess.run(
            [sys.executable, __file__, "--serve", tmp, "--messages", str(limit)], check=True
        )


def serve(model_dir: Path, limit: int) -> None:
    """Load time, memory and understand() latency of a trained model, in this process."""
    pin_one_core()
    texts = messages(limit)
    rss_before = rss_mb()
    tracemalloc.start()
    started = time.perf_counter()
    nlu = load_nlu(categories=DEFAULT_CATEGORIES, model_dir=model_dir, with_locator=False)
    load_s = time.perf_counter() - started
    held = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    print(
        f"model load (models, no gazetteer): {load_s * 1000:.0f} ms; "
        f"tracemalloc {held:.1f} MiB held; RSS {rss_before:.0f} -> {rss_mb():.0f} MiB"
    )
    started = time.perf_counter()
    full = load_nlu(categories=DEFAULT_CATEGORIES, model_dir=model_dir)
    print(
        f"gazetteer + locator load: {(time.perf_counter() - started) * 1000:.0f} ms; "
        f"RSS {rss_mb():.0f} MiB"
    )
    for engine, label in ((nlu, "without locator"), (full, "with locator")):
        for text in texts[:200]:
            engine.understand(text)
        timings = []
        for text in texts:
            t0 = time.perf_counter_ns()
            engine.understand(text)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
        print(
            f"understand() {label}: n={len(timings)} p50 {percentile(timings, 0.5):.3f} ms"
            f"  p90 {percentile(timings, 0.9):.3f} ms  p99 {percentile(timings, 0.99):.3f} ms"
            f"  max {max(timings):.1f} ms  ({1000 / statistics.fmean(timings):.0f} msg/s, one core)"
        )


def _as_written(analysis: Analysis) -> Analysis:
    """Only the words as written: without the folded (diacritics-free) block."""
    return Analysis({f: n for f, n in analysis.counts.items() if not f.startswith("k:")})


def compare(rows: list[dict[str, object]]) -> None:
    """Held-out macro-F1 and timings of the classifier alternatives (categories)."""
    from underthesea_core import TextClassifier

    from nlu.classifier import FeatureSpace, fit
    from nlu.engine import TrainingSet, _training_set, featurize
    from nlu.entities import find_spans, mask
    from nlu.evaluate import score_task
    from nlu.normalize import Normalizer
    from nlu.training_data import data_files, load_files

    if not rows:
        print("no held-out category file: nothing to compare")
        return
    data = load_files(data_files([DATA_DIR]))
    normalizer = Normalizer.build(data.synonyms)
    labels = [c for c in DEFAULT_CATEGORIES if c in set(data.labels())]
    tests = {
        "normal": [(str(r["text"]), str(r["category"])) for r in rows],
        "stripped": [(strip_diacritics(str(r["text"])), str(r["category"])) for r in rows],
    }

    def model_text(text: str) -> str:
        clean = normalizer.clean(text)
        return normalizer.expand(mask(clean, find_spans(clean))).lower()

    analysed: dict[str, list[Any]] = {
        k: [featurize(normalizer, t)[0] for t, _ in v] for k, v in tests.items()
    }
    plain: dict[str, list[Any]] = {k: [model_text(t) for t, _ in v] for k, v in tests.items()}
    with_copies = _training_set(normalizer, data, labels)
    without = _training_set(normalizer, data, labels, unaccented_copies=False)

    def linear(
        train: TrainingSet,
        as_written: bool = False,
        algorithm: str = "svm",
        c: float = 1.0,
    ) -> Callable[[list[Analysis]], list[str]]:
        def view(a: Analysis) -> Analysis:
            return _as_written(a) if as_written else a

        xs = [view(a) for a in train.analyses]
        space, (idf,) = FeatureSpace.build([xs])
        model = fit(
            space.matrix(xs, idf),
            idf,
            train.labels,
            groups=train.groups,
            algorithm=algorithm,
            c=c,
        )
        return lambda batch: [model.top(space.counts(view(a)), 1)[0][0] for a in batch]

    def rust() -> Callable[[list[str]], list[str]]:
        texts, ys = [], []
        for example in data.examples:
            if example.label in labels:
                for variant in {example.text, strip_diacritics(example.text)}:
                    texts.append(model_text(variant))
                    ys.append(example.label)
        model = TextClassifier(ngram_range=(1, 2))
        model.fit(texts, ys)
        return lambda batch: [str(model.predict(t)) for t in batch]

    candidates: list[tuple[str, Callable[[], Callable[[list[Any]], list[str]]]]] = [
        ("LinearSVC C=1 + Platt per class (chosen)", lambda: linear(with_copies)),
        ("  same, C=0.5", lambda: linear(with_copies, c=0.5)),
        ("  same, without unaccented training copies", lambda: linear(without)),
        (
            "  same, without the folded-key word block",
            lambda: linear(with_copies, as_written=True),
        ),
        (
            "LogisticRegression C=10 (softmax)",
            lambda: linear(with_copies, algorithm="logreg", c=10.0),
        ),
        ("underthesea_core TextClassifier (TF-IDF+SVM, Rust)", rust),
    ]
    print(
        "\ncategory classifier alternatives on the held-out set "
        f"({len(rows)} reports, {len(labels)} classes):"
    )
    print(f"{'':52} {'train s':>8} {'F1 normal':>10} {'F1 strip':>9} {'ms/msg':>7}")
    for name, build in candidates:
        started = time.perf_counter()
        predict = build()
        train_s = time.perf_counter() - started
        scores = []
        started = time.perf_counter()
        for key, pairs in tests.items():
            predicted = predict(plain[key] if build is rust else analysed[key])
            scores.append(
                score_task(
                    [(t, p, "") for (_, t), p in zip(pairs, predicted, strict=True)]
                ).macro_f1
            )
        per_msg = (time.perf_counter() - started) * 1000 / (2 * len(rows))
        print(f"{name:52} {train_s:8.1f} {scores[0]:10.3f} {scores[1]:9.3f} {per_msg:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--compare", action="store_true", help="measure classifier alternatives")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # internal: fresh process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.messages)
        return
    bench(args.messages)
    if args.compare:
        compare(heldout_rows())


if __name__ == "__main__":
    main()
