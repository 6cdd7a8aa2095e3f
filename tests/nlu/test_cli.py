"""`paht nlu ...`: the contract the external evaluation harness relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nlu import Nlu, cli
from nlu.cli import nlu_group

PREDICTION_KEYS = {"id", "intent", "category", "confidence", "candidates", "urgent", "location"}
LOCATION_KEYS = {
    "province",
    "province_code",
    "commune",
    "commune_code",
    "old_names",
    "detail",
    "confidence",
}


@pytest.fixture
def runner(nlu: Nlu, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands use the session's trained engine."""
    monkeypatch.setattr(cli, "_load", lambda province=None, retrain=False: nlu)
    return CliRunner()


def _predict(runner: CliRunner, data: bytes) -> list[dict[str, Any]]:
    result = runner.invoke(nlu_group, ["predict"], input=data)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout_bytes.decode("utf-8").splitlines()]


def test_predict_writes_one_line_per_input_in_order(runner: CliRunner) -> None:
    lines = [
        {"id": 1, "text": "cháy nhà ở hẻm 45, lửa đang bốc lên cao"},
        {"id": "b", "text": "duong ko co den"},
        {"id": None, "text": "xin chào"},
    ]
    data = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode() + b"\n"
    out = _predict(runner, data)
    assert [o["id"] for o in out] == [1, "b", None]
    for answer in out:
        assert set(answer) == PREDICTION_KEYS
        assert set(answer["location"]) == LOCATION_KEYS
        assert len(answer["candidates"]) <= 3
        assert all(set(c) == {"category", "score"} for c in answer["candidates"])
    assert out[0]["urgent"] is True and out[0]["intent"] == "new_report"
    assert out[1]["category"] == "dien_chieu_sang" and out[1]["urgent"] is False
    assert out[1]["confidence"] == out[1]["candidates"][0]["score"]
    assert out[2]["intent"] == "greet"


def test_bad_lines_get_their_own_answer_and_the_batch_goes_on(runner: CliRunner) -> None:
    data = b"\n".join(
        [
            b'{"id": 1, "text": "ngap nuoc"}',
            b"this is not json",
            b'{"id": 3}',
            b'{"id": 4, "text": ""}',
            b'{"id": 5, "text": "' + "ngập ".encode() * 10_000 + b'"}',
            b'{"id": 6, "text": "\xf0\x9f\x98\x80\xf0\x9f\x94\xa5"}',
            b'{"id": 7, "text": "\'; DROP TABLE reports; -- <script>x</script>"}',
            b'{"id": 8, "text": "ng\xe1p n\xff\xfe\xc6\xb0\xe1\xbb\x9bc"}',
            b"[1, 2]",
            b'{"id": 10, "text": 42}',
            b"",
            b'{"id": 11, "text": "h\xe1\xba\xbfm cu\xe1\xbb\x91i"}',
        ]
    )
    out = _predict(runner, data)
    by_id = {o.get("id"): o for o in out}
    assert len(out) == 11  # the blank line is not an input
    assert by_id[1]["category"] is not None
    assert out[1] == {"id": None, "error": out[1]["error"]} and "JSON" in out[1]["error"]
    assert "text" in by_id[3]["error"]
    assert by_id[4]["intent"] == "out_of_scope" and by_id[4]["category"] is None
    assert by_id[4]["candidates"] == [] and by_id[4]["urgent"] is False
    assert set(by_id[5]) == PREDICTION_KEYS
    assert by_id[6]["intent"] == "out_of_scope"
    assert set(by_id[7]) == PREDICTION_KEYS
    assert set(by_id[8]) == PREDICTION_KEYS  # invalid UTF-8 replaced, still answered
    assert "error" in out[8]
    assert "string" in by_id[10]["error"]
    assert set(by_id[11]) == PREDICTION_KEYS


def test_empty_input_gives_empty_output(runner: CliRunner) -> None:
    assert _predict(runner, b"") == []


def test_eval_prints_rasa_style_report_and_json(runner: CliRunner, tmp_path: Path) -> None:
    rows = [
        {"text": "đèn đường hư", "category": "dien_chieu_sang", "urgent": False},
        {"text": "ổ gà giữa đường", "category": "giao_thong", "urgent": False},
        {"text": "cháy nhà, cứu với", "category": "thien_tai", "urgent": True},
        {"text": "xin chào", "intent": "greet"},
    ]
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")

    text = runner.invoke(nlu_group, ["eval", "--data", str(path)])
    assert text.exit_code == 0, text.output
    assert "macro avg F1" in text.output and "confusion matrix" in text.output
    assert "== urgent ==" in text.output

    as_json = runner.invoke(
        nlu_group, ["eval", "--data", str(path), "--json", "--strip-diacritics"]
    )
    report = json.loads(as_json.output)
    assert report["stripped"] is True
    assert report["urgent"]["recall"] == 1.0
    assert set(report["category"]["classes"]) >= {"dien_chieu_sang", "giao_thong"}
    assert report["intent"]["accuracy"] == 1.0


def test_eval_reads_rasa_yaml(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "test.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: urgent\n  examples: |\n    - cháy nhà\n'
        "- intent: greet\n  examples: |\n    - xin chào\n",
        "utf-8",
    )
    report = json.loads(runner.invoke(nlu_group, ["eval", "--data", str(path), "--json"]).output)
    assert report["urgent"]["support"] == 1 and report["intent"]["labels"] == ["greet"]


def test_train_builds_into_the_configured_model_dir(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    obj = {
        "categories": ["giao_thong", "moi_truong"],
        "model_dir": str(tmp_path / "model"),
        "extra_data_dirs": [str(extra)],
    }
    result = CliRunner().invoke(nlu_group, ["train"], obj=obj)
    assert result.exit_code == 0, result.output
    assert "trained in" in result.output and "category:" in result.output
    assert any((tmp_path / "model").glob("*/category.npz"))


def test_large_batches_are_answered_in_parallel_in_the_same_order(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "CHUNK_LINES", 7)
    texts = ["đèn đường hư", "cháy nhà", "xin chào", "ổ gà", "rác bốc mùi", "{bad"]
    lines = [
        json.dumps({"id": i, "text": texts[i % 5]}, ensure_ascii=False).encode()
        if i % 6
        else b"{bad"
        for i in range(60)
    ]
    data = b"\n".join(lines)
    serial = runner.invoke(nlu_group, ["predict", "--jobs", "1"], input=data)
    parallel = runner.invoke(nlu_group, ["predict", "--jobs", "2"], input=data)
    assert serial.exit_code == parallel.exit_code == 0
    assert parallel.stdout_bytes == serial.stdout_bytes
    assert len(parallel.stdout_bytes.splitlines()) == 60
