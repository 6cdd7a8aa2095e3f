"""Staff corrections exported as Rasa training data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import backend.cli
from backend.db import make_session_factory, unit_of_work
from backend.reports.corrections import (
    CATEGORIES_FILE,
    HELDOUT_DIR,
    LOCATIONS_FILE,
    CorrectionRecord,
    ExportRefused,
    ExportResult,
    clean_text,
    export_corrections,
    training_files,
    write_corrections,
)
from backend.reports.models import Correction
from backend.reports.schemas import ReportCreate
from backend.reports.service import create_report
from backend.settings import Settings
from nlu.training_data import TrainingData, load_file
from nlu.types import DEFAULT_CATEGORIES
from tests.conftest import make_settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
HELDOUT_TEXT = json.loads(
    (HELDOUT_DIR / "categories_part1.jsonl").read_text("utf-8").split("\n")[0]
)["text"]


def _report(session: Session, settings: Settings, text: str) -> int:
    data = ReportCreate(content=text, category="khac", channel="web")
    return create_report(session, data=data, settings=settings, now=NOW).id


def _correct(
    session: Session, report_id: int, text: str, new: str, minutes: int, kind: str = "category"
) -> None:
    session.add(
        Correction(
            report_id=report_id,
            kind=kind,
            text=text,
            old_value="khac",
            new_value=new,
            created_at=NOW + timedelta(minutes=minutes),
        )
    )
    session.flush()


def _export(engine: Engine, settings: Settings, out: Path, **kw: Any) -> ExportResult:
    with make_session_factory(engine)() as session:
        return export_corrections(session, out_dir=out, settings=settings, **kw)


def _pairs(data: TrainingData) -> set[tuple[str, str]]:
    return {(e.text, e.label) for e in data.examples}


def test_latest_correction_per_report_wins_with_pii_masked(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    text = "Cống  nghẹt\ntrước nhà,\tgọi 0912 345 678, CCCD 079123456789"
    with unit_of_work(make_session_factory(engine)) as session:
        report = _report(session, settings, text)
        _correct(session, report, text, "giao_thong", minutes=1)
        _correct(session, report, text, "cap_thoat_nuoc", minutes=5)
        other = _report(session, settings, "Cây đổ chắn đường")
        _correct(session, other, "Cây đổ chắn đường", "cay_xanh", minutes=3)
    result = _export(engine, settings, tmp_path)
    exported = load_file(tmp_path / CATEGORIES_FILE)
    assert _pairs(exported) == {
        ("Cống nghẹt trước nhà, gọi ******678, CCCD ******789", "cap_thoat_nuoc"),
        ("Cây đổ chắn đường", "cay_xanh"),
    }
    content = (tmp_path / CATEGORIES_FILE).read_text("utf-8")
    assert "0912" not in content and "079123456789" not in content
    assert content.startswith("# ") and 'version: "3.1"' in content
    assert (result.read, result.superseded, result.category_examples) == (3, 1, 2)


def test_duplicates_unknown_categories_and_heldout_texts_are_left_out(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        for minutes, (text, category) in enumerate(
            [
                ("Rác ùn ứ ở chợ", "cay_xanh"),
                ("Rác  ùn ứ ở chợ ", "moi_truong"),  # the same text, later: its label wins
                ("Đường bị ngập", "category_removed_from_settings"),
                (HELDOUT_TEXT.upper(), "giao_thong"),
                ("  ", "giao_thong"),
            ]
        ):
            _correct(session, _report(session, settings, text or "x"), text, category, minutes)
    result = _export(engine, settings, tmp_path)
    assert _pairs(load_file(tmp_path / CATEGORIES_FILE)) == {("Rác ùn ứ ở chợ", "moi_truong")}
    skipped = (result.duplicates, result.unknown_category, result.heldout, result.empty)
    assert skipped == (1, 1, 1, 1)


def test_reexport_is_byte_identical_and_sorted(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        ("Đèn đường tắt", "dien_chieu_sang"),
        ("Ổ gà", "giao_thong"),
        ("Bể ống", "cap_thoat_nuoc"),
    ]
    with unit_of_work(make_session_factory(engine)) as session:
        for minutes, (text, category) in enumerate(rows):
            _correct(session, _report(session, settings, text), text, category, minutes)
    _export(engine, settings, tmp_path / "a")
    _export(engine, settings, tmp_path / "a")
    first = (tmp_path / "a" / CATEGORIES_FILE).read_bytes()
    records = [
        CorrectionRecord(i, i, "category", text, category, NOW)
        for i, (text, category) in enumerate(rows)
    ]
    write_corrections(reversed(records), out_dir=tmp_path / "b", categories=DEFAULT_CATEGORIES)
    assert (tmp_path / "b" / CATEGORIES_FILE).read_bytes() == first
    intents = [line for line in first.decode().splitlines() if line.startswith("- intent:")]
    assert intents == sorted(intents) and len(intents) == 3
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # no temp files


def test_location_corrections_go_to_a_review_file_that_training_ignores(
    engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(nlu={"corrections_dir": tmp_path})
    with unit_of_work(make_session_factory(engine)) as session:
        report = _report(session, settings, "Ngập ở gần chợ Cái Cá")
        _correct(session, report, "gần chợ Cái Cá", "Phường Long Châu", 1, kind="location")
        _correct(session, report, "gần chợ Cái Cá", "Phường Phước Hậu", 2, kind="location")
        _correct(session, report, "Ngập ở gần chợ Cái Cá", "thien_tai", 3)
    result = _export(engine, settings, tmp_path)
    locations = load_file(tmp_path / LOCATIONS_FILE)
    assert locations.synonyms == {"gần chợ Cái Cá": "Phường Phước Hậu"}
    assert not locations.examples
    assert _pairs(load_file(tmp_path / CATEGORIES_FILE)) == {("Ngập ở gần chợ Cái Cá", "thien_tai")}
    assert (result.location_examples, result.category_examples) == (1, 1)
    assert training_files(settings) == (tmp_path / CATEGORIES_FILE,)


def test_since_exports_only_later_corrections(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        _correct(
            session, _report(session, settings, "cũ"), "Sửa cũ", "giao_thong", minutes=-60 * 24
        )
        _correct(session, _report(session, settings, "mới"), "Sửa mới", "y_te", minutes=0)
    result = _export(engine, settings, tmp_path, since=NOW - timedelta(hours=1))
    assert _pairs(load_file(tmp_path / CATEGORIES_FILE)) == {("Sửa mới", "y_te")}
    assert result.read == 1


def test_cli_exports_and_training_then_reads_the_file(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "corrections"
    settings = make_settings(database_url=database_url, nlu={"corrections_dir": out})
    monkeypatch.setattr(backend.cli, "get_settings", lambda: settings)
    assert backend.cli._nlu_defaults()["extra_data_dirs"] == []  # nothing exported yet
    with unit_of_work(make_session_factory(engine)) as session:
        _correct(session, _report(session, settings, "x"), "Cũ quá", "giao_thong", minutes=0)
        _correct(
            session, _report(session, settings, "y"), "Trường dột", "giao_duc", minutes=60 * 24
        )
    result = CliRunner().invoke(
        backend.cli.main, ["nlu", "export-corrections", "--since", "2026-11-24"]
    )
    assert result.exit_code == 0, result.output
    assert "corrections read: 1 (since 2026-11-24)" in result.output
    assert "category examples: 1" in result.output
    assert _pairs(load_file(out / CATEGORIES_FILE)) == {("Trường dột", "giao_duc")}
    assert backend.cli._nlu_defaults()["extra_data_dirs"] == [out / CATEGORIES_FILE]


def test_export_refuses_to_write_into_the_heldout_data(tmp_path: Path) -> None:
    heldout = tmp_path / "heldout"
    heldout.mkdir()
    with pytest.raises(ExportRefused):
        write_corrections([], out_dir=heldout / "x", categories=["y_te"], heldout_dir=heldout)
    assert not (heldout / "x").exists()


_NUMBER = st.from_regex(r"0[0-9]{9}|[0-9]{12}", fullmatch=True)


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), _NUMBER, st.text(max_size=60))
def test_any_citizen_text_reads_back_cleaned_without_its_number(
    before: str, number: str, after: str
) -> None:
    text = f"{before} {number} {after}"
    record = CorrectionRecord(1, 1, "category", text, "y_te", NOW)
    with tempfile.TemporaryDirectory() as out:
        write_corrections([record], out_dir=Path(out), categories=["y_te"])
        data = load_file(Path(out) / CATEGORIES_FILE)
    assert _pairs(data) == {(clean_text(text).strip('"'), "y_te")}
    assert number not in data.examples[0].text
