"""The NLU engine: the single entry point the bot, the backend and the CLI use.

Owns the pipeline of one message and the life cycle of the models:
`load_nlu(...)` reads the Rasa YAML under `nlu/data/` (plus a deployment's
extra data directories), trains the category, intent and urgency models when
`model_dir` has none for this exact data (SHA-256 fingerprint of the files,
the category list and the feature version), and loads them otherwise.
Nothing happens at import time and nothing comes from the network.

`Nlu.understand(text)` normalises, finds and masks entities, runs the three
classifiers on one shared featurisation, applies the intent and urgency rules
and asks the location finder (`nlu.location`) for a place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nlu import entities, intents, urgency
from nlu.classifier import (
    FEATURE_VERSION,
    Analysis,
    Counts,
    FeatureSpace,
    Floats,
    LinearTextModel,
    analyze,
    fit,
)
from nlu.gazetteer import load_gazetteer
from nlu.location import Locator as GazetteerLocator
from nlu.normalize import Normalizer, has_diacritics, strip_diacritics
from nlu.text import fold
from nlu.training_data import TrainingData, data_files, fingerprint, load_files
from nlu.types import (
    DEFAULT_CATEGORIES,
    INTENT_ADD_INFO,
    INTENT_REPORT,
    INTENT_UNKNOWN,
    INTENTS,
    CategoryScore,
    Location,
    NluResult,
)

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_MODEL_DIR = Path("var/nlu-model")
CATEGORY_THRESHOLD = 0.5
TOP_K = 3
MAX_LOCATION_CHARS = 2000
KEEP_MODELS = 3
# Only a message that reports something can be sure of its category ("ok" is not).
_REPORTING = frozenset({INTENT_REPORT, INTENT_ADD_INFO})
_MODEL_FILES = ("category", "intent", "urgency")


class Locator(Protocol):
    def find(self, text: str) -> Location | None: ...

    def locate_point(self, lat: float, lon: float) -> Location: ...


@dataclass(frozen=True)
class Models:
    """The trained models of one data fingerprint (None: no data for that task)."""

    space: FeatureSpace | None = None
    category: LinearTextModel | None = None
    intent: LinearTextModel | None = None
    urgency: LinearTextModel | None = None
    synonyms: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    stats: dict[str, object] = field(default_factory=dict)


# --- training ---------------------------------------------------------------


def featurize(normalizer: Normalizer, text: str) -> tuple[Analysis, str]:
    """Features of one text exactly as `understand()` computes them, and its key."""
    clean = normalizer.clean(text)
    spans = entities.find_spans(clean)
    masked = normalizer.expand(entities.mask(clean, spans) if spans else clean)
    key = fold(masked)
    return analyze(masked, key), key


@dataclass(frozen=True)
class TrainingSet:
    """Featurised examples of one task; `groups` numbers the spellings of one text
    (with and without diacritics) so cross-validation never splits them."""

    analyses: list[Analysis]
    labels: list[str]
    groups: list[int]


def _training_set(
    normalizer: Normalizer,
    data: TrainingData,
    labels: Sequence[str],
    *,
    unaccented_copies: bool = True,
) -> TrainingSet:
    """Examples of `labels`, each also without diacritics (citizens type both ways)."""
    keep = set(labels)
    result = TrainingSet([], [], [])
    group_of: dict[str, int] = {}
    for example in data.examples:
        if example.label not in keep:
            continue
        variants = [example.text]
        if unaccented_copies and has_diacritics(example.text):
            variants.append(strip_diacritics(example.text))
        for variant in variants:
            analysis, key = featurize(normalizer, variant)
            if key:
                result.analyses.append(analysis)
                result.labels.append(example.label)
                result.groups.append(group_of.setdefault(key, len(group_of)))
    return result


def _fit_task(
    space: FeatureSpace, idf: Floats, task: TrainingSet, *, balanced: bool = False
) -> LinearTextModel | None:
    if len(set(task.labels)) < 2:
        return None
    x = space.matrix(task.analyses, idf)
    return fit(x, idf, task.labels, groups=task.groups, balanced=balanced)


def train_models(data: TrainingData, categories: Sequence[str], digest: str = "") -> Models:
    """Train the three models from `data` (seconds on one CPU core)."""
    started = time.perf_counter()
    normalizer = Normalizer.build(data.synonyms)
    present = set(data.labels())
    missing = [c for c in categories if c not in present]
    if missing:
        log.warning("no training examples for categories %s: they cannot be predicted", missing)
    tasks = {
        "category": _training_set(normalizer, data, categories),
        "intent": _training_set(normalizer, intents.training_data(data, categories), INTENTS),
        "urgency": _training_set(normalizer, urgency.training_data(data), urgency.LABELS),
    }
    space, idfs = FeatureSpace.build([task.analyses for task in tasks.values()])
    category = _fit_task(space, idfs[0], tasks["category"])
    intent = _fit_task(space, idfs[1], tasks["intent"])
    urgent = _fit_task(space, idfs[2], tasks["urgency"], balanced=True)
    n_category, n_intent, n_urgency = (len(task.labels) for task in tasks.values())
    stats: dict[str, object] = {
        "examples": {"category": n_category, "intent": n_intent, "urgency": n_urgency},
        "classes": {
            "category": list(category.classes) if category else [],
            "intent": list(intent.classes) if intent else [],
        },
        "train_seconds": round(time.perf_counter() - started, 2),
        "feature_version": FEATURE_VERSION,
    }
    return Models(space, category, intent, urgent, data.synonyms, digest, stats)


# --- persistence ------------------------------------------------------------


def _save(models: Models, model_dir: Path, *, replace: bool = False) -> Path:
    """Write atomically into `model_dir/<fingerprint>/` (a directory rename).

    When the folder exists, another process trained the same data first and
    its model is kept, unless `replace` (an explicit `paht nlu train`)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    final = model_dir / models.fingerprint[:20]
    tmp = Path(tempfile.mkdtemp(prefix=".training-", dir=model_dir))
    if models.space is not None:
        models.space.save(tmp / "space.npz")
    for name in _MODEL_FILES:
        model: LinearTextModel | None = getattr(models, name)
        if model is not None:
            model.save(tmp / f"{name}.npz")
    (tmp / "synonyms.json").write_text(json.dumps(models.synonyms, ensure_ascii=False), "utf-8")
    manifest = {"fingerprint": models.fingerprint, **models.stats}
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    if replace and final.exists():
        old = Path(tempfile.mkdtemp(prefix=".replaced-", dir=model_dir))
        os.rename(final, old / final.name)
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.rename(tmp, final)
    except OSError:  # another process finished first: its model is the same
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(model_dir, keep=final)
    return final


def _prune(model_dir: Path, keep: Path) -> None:
    dirs = sorted(
        (d for d in model_dir.iterdir() if d.is_dir() and (d / "manifest.json").exists()),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    for old in [d for d in dirs if d != keep][KEEP_MODELS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def _load(model_dir: Path, digest: str) -> Models | None:
    """The saved models for `digest`, or None (absent, partial or unreadable)."""
    try:
        return _read(model_dir / digest[:20], digest)
    except (OSError, KeyError, ValueError) as exc:
        log.warning("NLU model in %s is unreadable (%s): retraining", model_dir, exc)
        return None


def _read(folder: Path, digest: str) -> Models | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("fingerprint") != digest:
        return None
    loaded = {
        name: LinearTextModel.load(folder / f"{name}.npz")
        for name in _MODEL_FILES
        if (folder / f"{name}.npz").exists()
    }
    synonyms = json.loads((folder / "synonyms.json").read_text("utf-8"))
    space = FeatureSpace.load(folder / "space.npz") if (folder / "space.npz").exists() else None
    return Models(
        space,
        loaded.get("category"),
        loaded.get("intent"),
        loaded.get("urgency"),
        synonyms,
        digest,
        manifest,
    )


def ensure_models(
    *, data_dirs: Sequence[Path], categories: Sequence[str], model_dir: Path, retrain: bool = False
) -> Models:
    """Load the models for the current data, training them first if needed."""
    files = data_files(data_dirs)
    digest = fingerprint(files, FEATURE_VERSION, *categories)
    if not retrain:
        models = _load(model_dir, digest)
        if models is not None:
            return models
    log.info("training NLU models from %d data files into %s", len(files), model_dir)
    models = train_models(load_files(files), categories, digest)
    _save(models, model_dir, replace=retrain)
    return models


# --- understanding ------------------------------------------------------------


@dataclass
class Nlu:
    """Understands one message at a time; build it once with `load_nlu`."""

    categories: Sequence[str]
    province_code: str | None = None
    models: Models = field(default_factory=Models)
    normalizer: Normalizer = field(default_factory=Normalizer)
    locator: Locator | None = None
    category_threshold: float = CATEGORY_THRESHOLD
    urgency_threshold: float = urgency.DEFAULT_THRESHOLD

    def understand(self, text: str) -> NluResult:
        clean = self.normalizer.clean(text)
        spans = entities.find_spans(clean)
        normalized = self.normalizer.expand(clean)
        masked = self.normalizer.expand(entities.mask(clean, spans)) if spans else normalized
        masked_key = fold(masked)
        found = entities.extract(clean, spans)
        location = self.locator.find(clean[:MAX_LOCATION_CHARS]) if self.locator else None
        base = NluResult(
            text=text,
            normalized=normalized,
            key=fold(normalized),
            masked=masked,
            intent=INTENT_UNKNOWN,
            intent_score=1.0,
            location=location,
            entities=found,
        )
        if not masked_key:
            return base
        space = self.models.space
        counts = space.counts(analyze(masked, masked_key)) if space else None
        candidates = self._candidates(counts)
        intent, intent_score = self._intent(counts, masked_key, found.report_codes)
        hits = urgency.rule_reasons(masked.lower(), masked_key)
        is_urgent, reasons = urgency.decide(
            hits, self._urgent_probability(counts), self.urgency_threshold
        )
        return NluResult(
            text=text,
            normalized=normalized,
            key=base.key,
            masked=masked,
            intent=intent,
            intent_score=round(intent_score, 4),
            candidates=candidates,
            category_sure=intent in _REPORTING
            and bool(candidates)
            and candidates[0].score >= self.category_threshold,
            urgent=is_urgent,
            urgent_reasons=reasons,
            location=location,
            entities=found,
        )

    def locate_point(self, lat: float, lon: float) -> Location:
        if self.locator is not None:
            return self.locator.locate_point(lat, lon)
        return Location(
            raw=f"{lat:.6f},{lon:.6f}",
            lat=lat,
            lon=lon,
            confidence=0.0,
            note="Chưa có dữ liệu tọa độ để xác định xã/phường.",
        )

    def _candidates(self, counts: Counts | None) -> tuple[CategoryScore, ...]:
        model = self.models.category
        if model is None or counts is None:
            return ()
        return tuple(CategoryScore(c, round(p, 4)) for c, p in model.top(counts, TOP_K))

    def _intent(self, counts: Counts | None, key: str, codes: tuple[str, ...]) -> tuple[str, float]:
        ruled = intents.rule_intent(key, codes)
        if ruled is not None:
            return ruled
        if self.models.intent is None or counts is None:
            return INTENT_UNKNOWN, 0.0
        return intents.combine(self.models.intent.top(counts, TOP_K), key, codes)

    def _urgent_probability(self, counts: Counts | None) -> float | None:
        model = self.models.urgency
        if model is None or counts is None or urgency.URGENT not in model.classes:
            return None
        return float(model.proba(counts)[model.classes.index(urgency.URGENT)])


def build_locator(province_code: str | None, nationwide: bool) -> Locator:
    """The gazetteer-backed location finder."""
    return GazetteerLocator(load_gazetteer(), province_code=province_code, nationwide=nationwide)


def load_nlu(
    *,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    province_code: str | None = None,
    model_dir: Path | None = None,
    nationwide: bool = False,
    extra_data_dirs: Sequence[Path] = (),
    retrain: bool = False,
    with_locator: bool = True,
    category_threshold: float = CATEGORY_THRESHOLD,
) -> Nlu:
    """Build the engine once (at app start); never at import, never from the network.

    Trains into `model_dir` (default `var/nlu-model/`) when it holds no model
    for the current data, then loads. `nationwide` resolves place names in
    every province instead of preferring `province_code`. Below
    `category_threshold` the result is not `category_sure` and the bot asks.
    """
    models = ensure_models(
        data_dirs=(DATA_DIR, *(Path(d) for d in extra_data_dirs)),
        categories=tuple(categories),
        model_dir=Path(model_dir) if model_dir else DEFAULT_MODEL_DIR,
        retrain=retrain,
    )
    return Nlu(
        categories=tuple(categories),
        province_code=province_code,
        models=models,
        normalizer=Normalizer.build(models.synonyms),
        locator=build_locator(province_code, nationwide) if with_locator else None,
        category_threshold=category_threshold,
    )
