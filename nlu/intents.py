"""Dialogue intent: what the citizen wants from this message.

Owns the intent model's training data (intents.yml plus a spread of category
examples as `new_report`), and the rules around the classifier:
- nothing left after normalisation (emoji only, empty) -> out_of_scope;
- a report code alone, or with a few lookup words ("tra cứu 202507150012",
  "mã 202507150012 sao rồi") -> status_lookup;
- otherwise the calibrated classifier trained on `intents.yml`; with a report
  code, anything but adding to, correcting, cancelling or rating that report
  is a status lookup; a long message the classifier is unsure about is a new
  report (citizens who describe a problem at length rarely mean anything else).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlu.training_data import Example, TrainingData
from nlu.types import (
    INTENT_ADD_INFO,
    INTENT_CANCEL,
    INTENT_CORRECT,
    INTENT_HUMAN,
    INTENT_RATE,
    INTENT_REPORT,
    INTENT_STATUS,
    INTENT_THANKS,
    INTENT_UNKNOWN,
)

REPORTS_PER_CATEGORY = 20  # category examples that also teach the intent "new_report"

LONG_MESSAGE_WORDS = 12
UNSURE = 0.5

_STATUS_WORDS = re.compile(
    r"\b(?:tra cuu|tra|kiem tra|xem|tinh trang|trang thai|tien do|xu ly|den dau|sao roi|"
    r"the nao|ma|so|ho so|phan anh|code|ket qua)\b"
)
_CODE_MASK_WORD = "code"
# With a report code, these intents are about that report; anything else is a lookup.
_ABOUT_A_REPORT = frozenset(
    {INTENT_ADD_INFO, INTENT_CORRECT, INTENT_CANCEL, INTENT_RATE, INTENT_HUMAN, INTENT_THANKS}
)


def rule_intent(key: str, report_codes: tuple[str, ...]) -> tuple[str, float] | None:
    """An intent decided by rule alone, or None to ask the classifier.

    `key` is the folded text in which report codes are masked as "code".
    """
    words = key.split()
    if not words:
        return INTENT_UNKNOWN, 1.0
    if report_codes:
        rest = [w for w in words if w != _CODE_MASK_WORD]
        if len(rest) <= 2 or (len(rest) <= 4 and _STATUS_WORDS.search(" ".join(rest))):
            return INTENT_STATUS, 0.99
    return None


def combine(
    predicted: list[tuple[str, float]], key: str, report_codes: tuple[str, ...] = ()
) -> tuple[str, float]:
    """Final intent from the classifier's ranked guesses, report codes and length."""
    if not predicted:
        return INTENT_UNKNOWN, 0.0
    intent, score = predicted[0]
    if report_codes and intent not in _ABOUT_A_REPORT:
        return INTENT_STATUS, max(score, 0.9)
    if score < UNSURE and len(key.split()) >= LONG_MESSAGE_WORDS and intent != INTENT_REPORT:
        report = dict(predicted).get(INTENT_REPORT, 0.0)
        return INTENT_REPORT, max(report, UNSURE)
    return intent, score


def training_data(data: TrainingData, categories: Sequence[str]) -> TrainingData:
    """`data` plus a spread of category examples as `new_report`: real reports in
    every register, so that a long description is not mistaken for a dialogue turn."""
    extra: list[Example] = []
    for category in categories:
        examples = [e for e in data.examples if e.label == category]
        step = max(1, len(examples) // REPORTS_PER_CATEGORY)
        extra += [Example(e.text, INTENT_REPORT) for e in examples[::step]]
    return TrainingData(data.examples + tuple(extra), data.synonyms, data.lookups)
