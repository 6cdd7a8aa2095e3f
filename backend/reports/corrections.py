"""Staff corrections as NLU training data: what `paht nlu export-corrections` writes.

Owns turning the `Correction` rows that staff create when they reclassify or
relocate a report into Rasa NLU YAML (version "3.1", the shape of
`nlu/data/categories/*.yml`), and the list of exported files training reads.

Two files go into the output directory, both rewritten atomically and sorted,
so exporting unchanged data again gives byte-identical files:

- `corrections_categories.yml`: one `- intent: <category id>` block per
  category with the citizens' texts. The latest correction of a report wins;
  texts are whitespace-normalised and pass through `backend.logs.mask_pii`
  (no phone or ID numbers in training data); a text that occurs twice keeps
  only its latest label; categories no longer in the settings, empty texts
  and texts of the held-out evaluation sets (`nlu/heldout/`) are skipped and
  counted, so corrections never leak into, or override, evaluation data.
  `training_files()` returns it for `paht nlu train` and the app's
  train-on-first-start, which fingerprint it and retrain when it changes.
- `corrections_locations.yml`: `- synonym: <commune name>` blocks mapping the
  citizen's words to the commune staff chose. It is for staff review only:
  the locator (`nlu.location`) resolves places from the gazetteer and reads
  no training data, and as NLU synonyms these texts would rewrite whole
  messages in the normaliser, so training never reads this file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.logs import mask_pii
from backend.reports.models import Correction
from backend.settings import Settings
from nlu.engine import DATA_DIR
from nlu.text import fold

CATEGORIES_FILE = "corrections_categories.yml"
LOCATIONS_FILE = "corrections_locations.yml"
HELDOUT_DIR = DATA_DIR.parent / "heldout"
KIND_CATEGORY = "category"
KIND_LOCATION = "location"
_PLAIN = re.compile(r"[a-z][a-z0-9_]*")
_HEADER = "# Written by `paht nlu export-corrections` from staff corrections; do not edit.\n"


class ExportRefused(ValueError):
    """The export would write where it must not (the held-out evaluation data)."""


@dataclass(frozen=True)
class CorrectionRecord:
    """The part of one `Correction` row the export reads."""

    id: int
    report_id: int
    kind: str
    text: str
    new_value: str
    created_at: datetime


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote and what it left out (each skip counted once)."""

    categories_file: Path
    locations_file: Path
    read: int = 0  # correction rows read
    category_examples: int = 0
    location_examples: int = 0
    superseded: int = 0  # an earlier correction of a report that a later one replaced
    duplicates: int = 0  # the same text from another report (the latest label kept)
    unknown_category: int = 0  # a category id no longer in the settings
    heldout: int = 0  # a text of the held-out evaluation sets
    empty: int = 0  # nothing left after cleaning


def export_corrections(
    session: Session,
    *,
    out_dir: Path,
    settings: Settings,
    since: datetime | None = None,
    heldout_dir: Path = HELDOUT_DIR,
) -> ExportResult:
    """Write the corrections made at or after `since` (all when None) into `out_dir`."""
    return write_corrections(
        load_records(session, since=since),
        out_dir=out_dir,
        categories=[c.id for c in settings.categories],
        heldout_dir=heldout_dir,
    )


def load_records(session: Session, *, since: datetime | None = None) -> list[CorrectionRecord]:
    """The corrections in the order they were made (oldest first)."""
    query = select(Correction).order_by(Correction.created_at, Correction.id)
    if since is not None:
        query = query.where(Correction.created_at >= since)
    return [
        CorrectionRecord(c.id, c.report_id, c.kind, c.text, c.new_value, c.created_at)
        for c in session.scalars(query)
    ]


def training_files(settings: Settings) -> tuple[Path, ...]:
    """The exported files training reads, besides `nlu/data` and `extra_data_dirs`."""
    path = Path(settings.nlu.corrections_dir) / CATEGORIES_FILE
    return (path,) if path.is_file() else ()


def clean_text(text: str) -> str:
    """NFC, control characters and runs of whitespace as one space, phone and ID
    numbers masked, and square brackets as parentheses (Rasa reads "[x](y)" as
    an entity annotation)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = mask_pii(" ".join(text.split()))
    return text.replace("[", "(").replace("]", ")")


def write_corrections(
    records: Iterable[CorrectionRecord],
    *,
    out_dir: Path,
    categories: Sequence[str],
    heldout_dir: Path = HELDOUT_DIR,
) -> ExportResult:
    """Write both files from `records` (oldest first) and count what was left out."""
    out_dir = Path(out_dir)
    if _inside(out_dir, heldout_dir):
        raise ExportRefused(f"refusing to write corrections into the held-out data ({heldout_dir})")
    ordered = sorted(records, key=lambda r: (r.created_at, r.id))
    latest: dict[tuple[str, int], CorrectionRecord] = {}
    for record in ordered:
        latest[(record.kind, record.report_id)] = record
    counts = {"read": len(ordered), "superseded": len(ordered) - len(latest)}
    kept = [r for r in ordered if latest[(r.kind, r.report_id)] is r]
    known, heldout = set(categories), _heldout_keys(heldout_dir)
    by_category = _labelled(kept, KIND_CATEGORY, counts, known=known, heldout=heldout)
    by_commune = _labelled(kept, KIND_LOCATION, counts)
    result = ExportResult(
        categories_file=out_dir / CATEGORIES_FILE,
        locations_file=out_dir / LOCATIONS_FILE,
        category_examples=len(by_category),
        location_examples=len(by_commune),
        **counts,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(result.categories_file, render(by_category, block="intent"))
    _write_atomic(result.locations_file, render(by_commune, block="synonym"))
    return result


def _labelled(
    records: Sequence[CorrectionRecord],
    kind: str,
    counts: dict[str, int],
    *,
    known: set[str] | None = None,
    heldout: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Cleaned text -> label for one kind; a later record relabels the same text."""
    labels: dict[str, str] = {}
    for record in records:
        if record.kind != kind:
            continue
        text, label = clean_text(record.text), record.new_value.strip()
        if not fold(text) or not label:
            _count(counts, "empty")
        elif known is not None and label not in known:
            _count(counts, "unknown_category")
        elif fold(text) in heldout:
            _count(counts, "heldout")
        else:
            if text in labels:
                _count(counts, "duplicates")
            labels[text] = label
    return labels


def _count(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def render(labels: dict[str, str], *, block: str) -> str:
    """Rasa NLU YAML with one `block` ("intent" or "synonym") per label, all sorted."""
    groups: dict[str, list[str]] = {}
    for text, label in labels.items():
        groups.setdefault(label, []).append(text)
    if not groups:
        return _HEADER + 'version: "3.1"\nnlu: []\n'
    lines = [_HEADER.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for label in sorted(groups):
        lines.append(f"- {block}: {_scalar(label)}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in sorted(groups[label]))
    return "\n".join(lines) + "\n"


def _scalar(value: str) -> str:
    """A category id as it is (like nlu/data); anything else as a quoted YAML string."""
    return value if _PLAIN.fullmatch(value) else json.dumps(value, ensure_ascii=False)


def _heldout_keys(heldout_dir: Path) -> frozenset[str]:
    """Folded texts of the held-out evaluation sets (JSON Lines with a "text")."""
    keys: set[str] = set()
    for path in sorted(Path(heldout_dir).glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                keys.add(fold(clean_text(str(json.loads(line).get("text", "")))))
    keys.discard("")
    return frozenset(keys)


def _inside(path: Path, parent: Path) -> bool:
    return path.resolve().is_relative_to(Path(parent).resolve())


def _write_atomic(path: Path, content: str) -> None:
    """Write through a temporary file in the same directory and `os.replace`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
