"""Evaluation of the NLU on a labelled file, like `rasa test nlu`.

Owns reading evaluation files (JSON Lines with "text" and any of "category",
"intent", "urgent", "province", "commune"; or Rasa NLU YAML, whose labels are
sorted into categories, intents and urgency) and computing the report:
per-class precision/recall/F1/support, accuracy, macro and weighted F1 and the
confusion matrix for categories and intents; recall/precision of the urgent
flag; the share of reports the model is sure about and its accuracy there;
and province/commune accuracy when the file names them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nlu.engine import Nlu
from nlu.normalize import strip_diacritics
from nlu.text import fold
from nlu.training_data import load_file
from nlu.types import INTENTS, NluResult
from nlu.urgency import NOT_URGENT, URGENT


@dataclass(frozen=True)
class EvalItem:
    text: str
    category: str | None = None
    intent: str | None = None
    urgent: bool | None = None
    province: str | None = None
    commune: str | None = None


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def read_items(path: Path, categories: Sequence[str]) -> list[EvalItem]:
    """Items of a JSONL or Rasa YAML file."""
    if path.suffix in {".yml", ".yaml"}:
        data = load_file(path)
        items: list[EvalItem] = []
        for ex in data.examples:
            if ex.label in (URGENT, NOT_URGENT):
                items.append(EvalItem(ex.text, urgent=ex.label == URGENT))
            elif ex.label in INTENTS:
                items.append(EvalItem(ex.text, intent=ex.label))
            else:
                items.append(EvalItem(ex.text, category=ex.label))
        return items
    items = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: invalid JSON: {exc}") from exc
        urgent = row.get("urgent")
        items.append(
            EvalItem(
                text=str(row.get("text", "")),
                category=_opt_str(row.get("category")),
                intent=_opt_str(row.get("intent")),
                urgent=None if urgent is None else bool(urgent),
                province=_opt_str(row.get("province")),
                commune=_opt_str(row.get("commune")),
            )
        )
    return items


@dataclass(frozen=True)
class ClassReport:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class TaskReport:
    """Scores of one classification task (categories or intents)."""

    accuracy: float
    macro_f1: float
    weighted_f1: float
    classes: dict[str, ClassReport]
    labels: list[str]
    confusion: list[list[int]]  # rows: true label, columns: predicted label
    errors: list[dict[str, str]] = field(default_factory=list)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0


def score_task(pairs: Sequence[tuple[str, str, str]], max_errors: int = 30) -> TaskReport:
    """`pairs` of (true, predicted, text) -> per-class and averaged scores."""
    truth = Counter(t for t, _, _ in pairs)
    predicted = Counter(p for _, p, _ in pairs)
    hits = Counter(t for t, p, _ in pairs if t == p)
    labels = sorted(set(truth) | set(predicted))
    classes: dict[str, ClassReport] = {}
    for label in labels:
        precision = _ratio(hits[label], predicted[label])
        recall = _ratio(hits[label], truth[label])
        f1 = _ratio(2 * precision * recall, precision + recall)
        classes[label] = ClassReport(precision, recall, f1, truth[label])
    scored = [label for label in labels if truth[label]]
    total = sum(truth.values())
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for t, p, _ in pairs:
        confusion[index[t]][index[p]] += 1
    return TaskReport(
        accuracy=_ratio(sum(hits.values()), total),
        macro_f1=_ratio(sum(classes[c].f1 for c in scored), len(scored)),
        weighted_f1=_ratio(sum(classes[c].f1 * truth[c] for c in scored), total),
        classes=classes,
        labels=labels,
        confusion=confusion,
        errors=[{"text": x[:160], "true": t, "predicted": p} for t, p, x in pairs if t != p][
            :max_errors
        ],
    )


@dataclass(frozen=True)
class BinaryReport:
    recall: float
    precision: float
    f1: float
    true_positive: int
    false_positive: int
    false_negative: int
    support: int
    missed: list[str] = field(default_factory=list)


def score_binary(pairs: Sequence[tuple[bool, bool, str]]) -> BinaryReport:
    tp = sum(1 for t, p, _ in pairs if t and p)
    fp = sum(1 for t, p, _ in pairs if p and not t)
    fn = sum(1 for t, p, _ in pairs if t and not p)
    recall, precision = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
    return BinaryReport(
        recall,
        precision,
        _ratio(2 * recall * precision, recall + precision),
        tp,
        fp,
        fn,
        tp + fn,
        [x[:160] for t, p, x in pairs if t and not p][:30],
    )


@dataclass(frozen=True)
class EvalReport:
    items: int
    stripped: bool
    category: TaskReport | None
    intent: TaskReport | None
    urgent: BinaryReport | None
    sure: dict[str, float] | None
    location: dict[str, float] | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_UNIT_PREFIX = re.compile(r"^(?:tinh|thanh pho|tp|phuong|xa|thi tran|thi xa|dac khu|quan|huyen)\s+")


def _place_key(name: str | None) -> str:
    return _UNIT_PREFIX.sub("", fold(name or ""))


def _same_place(expected: str, code: str | None, name: str | None) -> bool:
    """The expected unit (a code, or a name with or without "Tỉnh", "Phường"...)."""
    wanted = _place_key(expected)
    return bool(wanted) and wanted in {fold(code or ""), _place_key(name)}


def evaluate(nlu: Nlu, items: Iterable[EvalItem], *, stripped: bool = False) -> EvalReport:
    """Run `nlu` on every item (optionally without diacritics) and score it."""
    rows: list[tuple[EvalItem, NluResult]] = []
    for item in items:
        text = strip_diacritics(item.text) if stripped else item.text
        rows.append((item, nlu.understand(text)))
    cats = [(i.category, r.category or "none", r.text) for i, r in rows if i.category]
    ints = [(i.intent, r.intent, r.text) for i, r in rows if i.intent]
    urg = [(i.urgent, r.urgent, r.text) for i, r in rows if i.urgent is not None]
    sure = [(i.category == r.category) for i, r in rows if i.category and r.category_sure]
    scored = [(r.confidence, i.category == r.category) for i, r in rows if i.category]
    places = [(i, r) for i, r in rows if i.province or i.commune]
    return EvalReport(
        items=len(rows),
        stripped=stripped,
        category=score_task([(str(t), p, x) for t, p, x in cats]) if cats else None,
        intent=score_task([(str(t), p, x) for t, p, x in ints]) if ints else None,
        urgent=score_binary([(bool(t), p, x) for t, p, x in urg]) if urg else None,
        sure={
            "threshold": nlu.category_threshold,
            "coverage": _ratio(len(sure), len(cats)),
            "accuracy": _ratio(sum(sure), len(sure)),
            "ece": calibration_error(scored),
        }
        if cats
        else None,
        location=_score_places(places) if places else None,
    )


def calibration_error(scored: Sequence[tuple[float, bool]], bins: int = 10) -> float:
    """Expected calibration error of the top score: how far "80 % sure" is from
    being right 80 % of the time, averaged over score bins (0 is perfect)."""
    if not scored:
        return 0.0
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(s, ok) for s, ok in scored if low <= s < high or (b == bins - 1 and s == 1.0)]
        if members:
            confidence = sum(s for s, _ in members) / len(members)
            accuracy = sum(ok for _, ok in members) / len(members)
            total += len(members) * abs(confidence - accuracy)
    return round(total / len(scored), 4)


def _score_places(places: list[tuple[EvalItem, NluResult]]) -> dict[str, float]:
    """Share of the items naming a province (a commune) where it was found."""
    provinces = [(i.province, r.location) for i, r in places if i.province]
    communes = [(i.commune, r.location) for i, r in places if i.commune]
    province_ok = sum(
        1 for want, loc in provinces if loc and _same_place(want, loc.province_code, loc.province)
    )
    commune_ok = sum(
        1 for want, loc in communes if loc and _same_place(want, loc.commune_code, loc.commune)
    )
    return {
        "province_items": len(provinces),
        "province_accuracy": _ratio(province_ok, len(provinces)),
        "commune_items": len(communes),
        "commune_accuracy": _ratio(commune_ok, len(communes)),
    }


def _task_text(title: str, task: TaskReport) -> list[str]:
    width = max(12, *(len(label) for label in task.labels))
    lines = [f"== {title} ==", f"{'':{width}}  precision  recall  f1-score  support"]
    for label in task.labels:
        c = task.classes[label]
        lines.append(
            f"{label:{width}}  {c.precision:9.3f}  {c.recall:6.3f}  {c.f1:8.3f}  {c.support:7d}"
        )
    total = sum(c.support for c in task.classes.values())
    lines += [
        f"{'accuracy':{width}}  {'':9}  {'':6}  {task.accuracy:8.3f}  {total:7d}",
        f"{'macro avg F1':{width}}  {'':9}  {'':6}  {task.macro_f1:8.3f}",
        f"{'weighted F1':{width}}  {'':9}  {'':6}  {task.weighted_f1:8.3f}",
        "",
        "confusion matrix (rows: true, columns: predicted):",
    ]
    short = [label[:6] for label in task.labels]
    lines.append(f"{'':{width}} " + " ".join(f"{s:>6}" for s in short))
    for label, row in zip(task.labels, task.confusion, strict=True):
        lines.append(f"{label:{width}} " + " ".join(f"{n:6d}" for n in row))
    if task.errors:
        lines += ["", "some errors (true -> predicted):"]
        lines += [f"  {e['true']} -> {e['predicted']}: {e['text']}" for e in task.errors[:10]]
    return [*lines, ""]


def format_report(report: EvalReport) -> str:
    """The report as text, in the layout of `rasa test nlu`."""
    copy = " (diacritics stripped)" if report.stripped else ""
    lines = [f"{report.items} items{copy}", ""]
    if report.category:
        lines += _task_text("categories", report.category)
    if report.sure:
        lines += [
            f"sure (top score >= {report.sure['threshold']}): coverage "
            f"{report.sure['coverage']:.3f}, accuracy {report.sure['accuracy']:.3f}; "
            f"calibration error (ECE) {report.sure['ece']:.3f}",
            "",
        ]
    if report.intent:
        lines += _task_text("intents", report.intent)
    if report.urgent:
        u = report.urgent
        lines += [
            "== urgent ==",
            f"recall {u.recall:.3f}  precision {u.precision:.3f}  f1 {u.f1:.3f}  "
            f"(tp {u.true_positive}, fp {u.false_positive}, fn {u.false_negative}, "
            f"support {u.support})",
        ]
        lines += [f"  missed: {text}" for text in u.missed[:10]]
        lines.append("")
    if report.location:
        loc = report.location
        lines += [
            "== location ==",
            f"province {loc['province_accuracy']:.3f} ({int(loc['province_items'])} items "
            f"naming one)  commune {loc['commune_accuracy']:.3f} "
            f"({int(loc['commune_items'])} items naming one)",
        ]
    return "\n".join(lines).rstrip() + "\n"
