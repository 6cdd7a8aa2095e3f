"""Reader for training data in Rasa's NLU YAML format (version "3.1").

Owns parsing of `nlu:` lists with four kinds of block, as Rasa reads them:

    - intent: giao_thong            # examples, one "- " line each; entity
      examples: |                   # annotations "[Q3](district)" or
        - ổ gà giữa [Q3](district)  # '[Q3]{"entity": "district", "value": "Quận 3"}'
    - synonym: không                # a canonical value and its variants
      examples: |
        - ko
    - lookup: province              # a list of names
      examples: |
        - Vĩnh Long
    - regex: report_code            # read and ignored (patterns live in code)

Annotations are stripped to plain text, with the entity spans kept. Also
owns the fingerprint of a set of data files, so that a model trained on
different data is retrained.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TrainingDataError(ValueError):
    """A training file that cannot be read as Rasa NLU YAML."""


@dataclass(frozen=True)
class EntitySpan:
    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    entities: tuple[EntitySpan, ...] = ()


@dataclass(frozen=True)
class TrainingData:
    examples: tuple[Example, ...] = ()
    synonyms: dict[str, str] = field(default_factory=dict)  # variant -> canonical
    lookups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.label for e in self.examples))

    def only(self, labels: Iterable[str]) -> TrainingData:
        keep = set(labels)
        return TrainingData(
            tuple(e for e in self.examples if e.label in keep), self.synonyms, self.lookups
        )

    def merged(self, other: TrainingData) -> TrainingData:
        synonyms = dict(self.synonyms)
        for variant, canonical in other.synonyms.items():
            synonyms.setdefault(variant, canonical)
        lookups = dict(self.lookups)
        for name, values in other.lookups.items():
            lookups[name] = tuple(dict.fromkeys((*lookups.get(name, ()), *values)))
        return TrainingData(self.examples + other.examples, synonyms, lookups)


_ANNOTATION = re.compile(r"\[(?P<text>[^\[\]]+)\](?:\((?P<entity>[^()]+)\)|(?P<json>\{[^{}]*\}))")


def parse_example(line: str) -> tuple[str, tuple[EntitySpan, ...]]:
    """Plain text and entity spans of one annotated example line."""
    parts: list[str] = []
    spans: list[EntitySpan] = []
    length = 0
    last = 0
    for m in _ANNOTATION.finditer(line):
        before = line[last : m.start()]
        parts.append(before)
        length += len(before)
        surface = m.group("text")
        entity, value = _entity_of(m, surface)
        spans.append(EntitySpan(length, length + len(surface), entity, value))
        parts.append(surface)
        length += len(surface)
        last = m.end()
    parts.append(line[last:])
    return "".join(parts), tuple(spans)


def _entity_of(m: re.Match[str], surface: str) -> tuple[str, str]:
    if m.group("entity"):
        name, _, value = m.group("entity").partition(":")  # Rasa 1 "[x](entity:value)"
        return name.strip(), (value.strip() or surface)
    try:
        spec = json.loads(m.group("json"))
    except json.JSONDecodeError as exc:
        raise TrainingDataError(f"bad entity annotation {m.group(0)!r}") from exc
    if not isinstance(spec, dict) or "entity" not in spec:
        raise TrainingDataError(f"entity annotation without 'entity': {m.group(0)!r}")
    return str(spec["entity"]), str(spec.get("value", surface))


def _example_lines(block: dict[str, Any], source: str) -> list[str]:
    raw = block.get("examples", "")
    if isinstance(raw, list):  # also accept a YAML list instead of a "|" string
        items = [str(x.get("text", "")) if isinstance(x, dict) else str(x) for x in raw]
    elif isinstance(raw, str):
        items = [ln.strip()[1:].strip() for ln in raw.splitlines() if ln.strip().startswith("-")]
    else:
        raise TrainingDataError(f"{source}: 'examples' must be a '|' string or a list")
    lines = [unicodedata.normalize("NFC", x.strip().strip('"')) for x in items]
    return [x for x in lines if x]


def parse_yaml(content: str, source: str = "<string>") -> TrainingData:
    """Training data of one Rasa NLU YAML document."""
    try:
        doc = yaml.safe_load(content) or {}
    except yaml.YAMLError as exc:
        raise TrainingDataError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise TrainingDataError(f"{source}: expected a mapping with an 'nlu' key")
    examples: list[Example] = []
    synonyms: dict[str, str] = {}
    lookups: dict[str, tuple[str, ...]] = {}
    for block in doc.get("nlu") or []:
        if not isinstance(block, dict):
            raise TrainingDataError(f"{source}: each 'nlu' item must be a mapping")
        lines = _example_lines(block, source)
        if "intent" in block:
            label = str(block["intent"])
            for line in lines:
                text, spans = parse_example(line)
                examples.append(Example(text, label, spans))
        elif "synonym" in block:
            canonical = unicodedata.normalize("NFC", str(block["synonym"]))
            for line in lines:
                synonyms.setdefault(line, canonical)
        elif "lookup" in block:
            name = str(block["lookup"])
            lookups[name] = tuple(dict.fromkeys((*lookups.get(name, ()), *lines)))
    return TrainingData(tuple(examples), synonyms, lookups)


def load_file(path: Path) -> TrainingData:
    return parse_yaml(path.read_text(encoding="utf-8"), str(path))


def data_files(dirs: Sequence[Path]) -> list[Path]:
    """The YAML files under `dirs`, in a stable order."""
    files: list[Path] = []
    for root in dirs:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(sorted(p for p in root.rglob("*") if p.suffix in {".yml", ".yaml"}))
    return files


def load_files(files: Iterable[Path]) -> TrainingData:
    data = TrainingData()
    for path in files:
        data = data.merged(load_file(path))
    return data


def fingerprint(files: Iterable[Path], *extra: str) -> str:
    """SHA-256 over the files' contents (and any extra strings, e.g. settings)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()
