"""Linear text classifiers: featurisation, training (scikit-learn), fast inference.

Owns the models behind categories, intents and urgency. Features: word 1- and
2-grams of the normalised text (with diacritics) and of its folded key
(without), each block TF-IDF weighted (sublinear tf) and L2-normalised, so a
message typed without accents still meets half of its features. Training fits
a scikit-learn LinearSVC; its decision values are calibrated with one Platt
sigmoid per class, fitted on 5-fold cross-validated scores (the spellings of
one text with and without diacritics kept in the same fold), then sharpened
by a power fitted on the same scores, because normalising one-vs-rest
sigmoids makes a 15-class model under-confident. The result is top-3
candidates with probabilities staff can read as such (held-out expected
calibration error 0.06) and a threshold below which the bot asks.

Chosen by held-out macro-F1 (categories, 375 held-out reports; normal /
diacritics-stripped copy; training seconds; `bench/nlu.py --compare`):
- LinearSVC C=1, word 1-2-grams (this module):    0.929 / 0.911, 1.9 s
- same, C=0.5:                                    0.929 / 0.903
- same, without the unaccented training copies:   0.914 / 0.872
- same, without the folded-key block:             0.922 / 0.897
- LogisticRegression C=10 (softmax):              0.903 / 0.890, 2.9 s
- underthesea_core TextClassifier (Rust TF-IDF + linear SVM, fed the same
  normalised texts):                              0.906 / 0.884, 0.3 s;
  fast, but it returns only the top label with an uncalibrated score, and
  the bot needs three calibrated candidates.
- with character 3-5-grams of the key as a third block (an earlier revision
  of the comparison): 0.919 / 0.903 at block weight 0.3, 0.887 / 0.882 at
  weight 1.0, and no gain on a copy with synthetic typos (0.901 vs 0.906
  words only): dropped, as slower without benefit.

The three models share one `FeatureSpace` (the union of their vocabularies),
so a message is looked up once; each model keeps its own idf (0 outside its
vocabulary), which makes it exactly the model trained on its own features.
Inference does not call scikit-learn: weights and calibration are exported
to plain numpy arrays (saved as `.npz`, no pickle, so loading a model cannot
execute code) and applied with one sparse gather.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

FEATURE_VERSION = "f10"  # bump when featurisation or model files change: models retrain
BLOCKS = ("w", "k")  # words as written (with diacritics), folded words
BLOCK_WEIGHTS = (1.0, 1.0)
MAX_CHARS = 3000  # longer messages are classified on their first characters

_WORD = re.compile(r"\w+")
_LONG_NUMBER = re.compile(r"\d{4,}")

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Analysis:
    """Features of one message, computed once and shared by all models."""

    counts: Mapping[str, int]


def analyze(text: str, key: str) -> Analysis:
    """Prefixed n-gram counts of a normalised text and its folded key."""
    text = _LONG_NUMBER.sub("#", text[:MAX_CHARS].lower())
    key = _LONG_NUMBER.sub("#", key[:MAX_CHARS])
    feats: list[str] = []
    for prefix, source in (("w", text), ("k", key)):
        words = _WORD.findall(source)
        feats.extend(f"{prefix}:{w}" for w in words)
        feats.extend(f"{prefix}:{a} {b}" for a, b in itertools.pairwise(words))
    return Analysis(Counter(feats))


@dataclass(frozen=True)
class Counts:
    """The known features of one message: indices, log term frequencies, blocks.
    Computed once per message and shared by the three models."""

    index: npt.NDArray[np.int64]
    tf: Floats
    block: npt.NDArray[np.int8]


@dataclass(frozen=True)
class Vector:
    """A sparse TF-IDF vector: feature indices and block-normalised values."""

    index: npt.NDArray[np.int64]
    values: Floats


_EMPTY = Counts(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int8))
_BLOCK_WEIGHTS = np.asarray(BLOCK_WEIGHTS, dtype=np.float64)


def weigh(counts: Counts, idf: Floats) -> Vector:
    """TF-IDF of `counts` with one model's idf (0 outside its own vocabulary),
    each block L2-normalised and weighted, as at training time."""
    values = counts.tf * idf[counts.index]
    norms = np.sqrt(np.bincount(counts.block, weights=values * values, minlength=len(BLOCKS)))
    scale = (_BLOCK_WEIGHTS / np.maximum(norms, 1e-12)).astype(np.float32)
    return Vector(counts.index, (values * scale[counts.block]).astype(np.float32))


@dataclass(frozen=True)
class FeatureSpace:
    """The vocabulary shared by the models, and the block of each feature."""

    vocabulary: Mapping[str, int]
    block: npt.NDArray[np.int8]

    @classmethod
    def build(cls, tasks: Sequence[Sequence[Analysis]]) -> tuple[FeatureSpace, list[Floats]]:
        """The union of the tasks' vocabularies and, per task, scikit-learn's
        smoothed idf over it (0 for features outside the task's own vocabulary)."""
        frequencies: list[Counter[str]] = []
        for analyses in tasks:
            df: Counter[str] = Counter()
            for analysis in analyses:
                df.update(analysis.counts.keys())
            frequencies.append(df)
        features = sorted({f for df in frequencies for f in df})
        space = cls(
            vocabulary={f: i for i, f in enumerate(features)},
            block=np.asarray([BLOCKS.index(f[0]) for f in features], dtype=np.int8),
        )
        idfs = []
        for analyses, df in zip(tasks, frequencies, strict=True):
            n_docs = len(analyses)
            idf = np.zeros(len(features), dtype=np.float32)
            for i, feature in enumerate(features):
                if feature in df:
                    idf[i] = math.log((1 + n_docs) / (1 + df[feature])) + 1.0
            idfs.append(idf)
        return space, idfs

    def counts(self, analysis: Analysis) -> Counts:
        get = self.vocabulary.get
        index: list[int] = []
        counts: list[int] = []
        for feature, n in analysis.counts.items():
            i = get(feature)
            if i is not None:
                index.append(i)
                counts.append(n)
        if not index:
            return _EMPTY
        where = np.asarray(index, dtype=np.int64)
        tf = (1.0 + np.log(np.asarray(counts, dtype=np.float32))).astype(np.float32)
        return Counts(where, tf, self.block[where])

    def matrix(self, analyses: Sequence[Analysis], idf: Floats) -> sparse.csr_matrix:
        """The TF-IDF matrix scikit-learn trains on (the same vectors as inference)."""
        vectors = [weigh(self.counts(a), idf) for a in analyses]
        indptr = np.cumsum([0, *(len(v.index) for v in vectors)])
        return sparse.csr_matrix(
            (
                np.concatenate([v.values for v in vectors] or [np.zeros(0, np.float32)]),
                np.concatenate([v.index for v in vectors] or [np.zeros(0, np.int64)]),
                indptr,
            ),
            shape=(len(analyses), len(self.vocabulary)),
        )

    def save(self, path: Path) -> None:
        features = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        with path.open("wb") as fh:
            np.savez(fh, features=np.asarray(features, dtype=str), block=self.block)

    @classmethod
    def load(cls, path: Path) -> FeatureSpace:
        with np.load(path, allow_pickle=False) as data:
            features: list[str] = data["features"].tolist()
            return cls({f: i for i, f in enumerate(features)}, data["block"])


@dataclass(frozen=True)
class LinearTextModel:
    """A calibrated linear classifier over the `Counts` of a `FeatureSpace`.

    scores = tfidf(x) @ weights + bias; probabilities by `calibration`: "sigmoid"
    (one-vs-rest Platt scaling, then normalised, exactly as scikit-learn's
    CalibratedClassifierCV) or "softmax" (multinomial logistic regression).
    """

    classes: tuple[str, ...]
    idf: Floats  # (n_features,), 0 outside this model's vocabulary
    weights: Floats  # (n_features, n_outputs)
    bias: Floats  # (n_outputs,)
    calibration: str
    slopes: Floats  # (n_outputs,), sigmoid only
    offsets: Floats
    power: float = 1.0  # sharpening of one-vs-rest probabilities (sigmoid, multi-class)

    def decision(self, counts: Counts) -> Floats:
        scores: Floats = self.bias.copy()
        if len(counts.index):
            vector = weigh(counts, self.idf)
            scores += vector.values @ self.weights[vector.index]
        return scores

    def proba(self, counts: Counts) -> Floats:
        """Probability of each class, in `classes` order."""
        scores = self.decision(counts)
        if self.calibration == "softmax":
            shifted = np.exp(scores - scores.max())
            result: Floats = (shifted / shifted.sum()).astype(np.float32)
            return result
        p = 1.0 / (1.0 + np.exp(self.slopes * scores + self.offsets))
        if len(self.classes) == 2 and len(p) == 1:
            return np.asarray([1.0 - p[0], p[0]], dtype=np.float32)
        if self.power != 1.0:
            p = np.maximum(p, 1e-12) ** self.power
        total = p.sum()
        if total <= 0:
            return np.full(len(self.classes), 1.0 / len(self.classes), dtype=np.float32)
        normalised: Floats = (p / total).astype(np.float32)
        return normalised

    def top(self, counts: Counts, k: int = 3) -> list[tuple[str, float]]:
        probs = self.proba(counts)
        order = np.argsort(-probs, kind="stable")[:k]
        return [(self.classes[i], float(probs[i])) for i in order]

    def save(self, path: Path) -> None:
        with path.open("wb") as fh:
            np.savez(
                fh,
                classes=np.asarray(self.classes, dtype=str),
                idf=self.idf,
                weights=self.weights,
                bias=self.bias,
                calibration=np.asarray([self.calibration], dtype=str),
                slopes=self.slopes,
                offsets=self.offsets,
                power=np.asarray([self.power], dtype=np.float64),
            )

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=tuple(data["classes"].tolist()),
                idf=data["idf"],
                weights=data["weights"],
                bias=data["bias"],
                calibration=str(data["calibration"][0]),
                slopes=data["slopes"],
                offsets=data["offsets"],
                power=float(data["power"][0]) if "power" in data else 1.0,
            )


def fit(
    x: sparse.csr_matrix,
    idf: Floats,
    labels: Sequence[str],
    *,
    groups: Sequence[int] | None = None,
    algorithm: str = "svm",
    c: float = 1.0,
    balanced: bool = False,
) -> LinearTextModel:
    """Train a calibrated linear model ("svm": LinearSVC + Platt scaling; "logreg").

    `groups` keeps the variants of one example (with and without diacritics)
    in the same cross-validation fold, so calibration sees honest scores.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict
    from sklearn.svm import LinearSVC

    y = np.asarray(labels)
    weight = "balanced" if balanced else None
    if algorithm == "logreg":
        logreg = LogisticRegression(C=c, max_iter=3000, class_weight=weight).fit(x, y)
        n_out = len(logreg.intercept_)
        calibration = "sigmoid" if len(logreg.classes_) == 2 else "softmax"
        return _export(
            idf,
            logreg.classes_,
            logreg.coef_,
            logreg.intercept_,
            calibration,
            np.full(n_out, -1.0),
            np.zeros(n_out),
            1.0,
        )
    folds = max(2, min(5, int(min(Counter(labels).values()))))
    svc = LinearSVC(C=c, class_weight=weight, random_state=0)
    splitter = (
        StratifiedGroupKFold(folds, shuffle=True, random_state=0)
        if groups is not None
        else StratifiedKFold(folds, shuffle=True, random_state=0)
    )
    scores = cross_val_predict(svc, x, y, cv=splitter, groups=groups, method="decision_function")
    classes = np.unique(y)
    scores = scores.reshape(len(y), -1)
    targets = y[:, None] == (classes if scores.shape[1] > 1 else classes[1:])[None, :]
    slopes, offsets = _platt(scores, targets)
    power = _sharpening(scores, slopes, offsets, targets) if scores.shape[1] > 1 else 1.0
    svc.fit(x, y)
    return _export(idf, svc.classes_, svc.coef_, svc.intercept_, "sigmoid", slopes, offsets, power)


def _platt(
    scores: npt.NDArray[np.float64], targets: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per output, p = 1 / (1 + exp(slope * score + offset)) fitted on held-out scores."""
    from sklearn.linear_model import LogisticRegression

    slopes, offsets = [], []
    for j in range(scores.shape[1]):
        platt = LogisticRegression(C=100.0).fit(scores[:, j : j + 1], targets[:, j])
        slopes.append(-float(platt.coef_[0, 0]))
        offsets.append(-float(platt.intercept_[0]))
    return np.asarray(slopes), np.asarray(offsets)


def _sharpening(
    scores: npt.NDArray[np.float64],
    slopes: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.float64],
    targets: npt.NDArray[np.bool_],
) -> float:
    """The power applied to the one-vs-rest probabilities before normalising,
    chosen for the lowest log-loss on held-out scores: normalising independent
    sigmoids makes a multi-class model under-confident, and this undoes it."""
    p = 1.0 / (1.0 + np.exp(slopes * scores + offsets))
    best, best_loss = 1.0, math.inf
    for power in np.linspace(0.5, 5.0, 91):
        q = np.maximum(p, 1e-12) ** power
        q /= q.sum(axis=1, keepdims=True)
        loss = -float(np.mean(np.log(np.maximum(q[targets], 1e-12))))
        if loss < best_loss:
            best, best_loss = float(power), loss
    return best


def _export(
    idf: Floats,
    classes: npt.NDArray[np.str_],
    coef: npt.NDArray[np.float64],
    intercept: npt.NDArray[np.float64],
    calibration: str,
    slopes: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.float64],
    power: float,
) -> LinearTextModel:
    return LinearTextModel(
        classes=tuple(str(k) for k in classes),
        idf=idf,
        weights=np.ascontiguousarray(np.asarray(coef, dtype=np.float32).T),
        bias=np.asarray(intercept, dtype=np.float32),
        calibration=calibration,
        slopes=np.asarray(slopes, dtype=np.float32).ravel(),
        offsets=np.asarray(offsets, dtype=np.float32).ravel(),
        power=power,
    )
