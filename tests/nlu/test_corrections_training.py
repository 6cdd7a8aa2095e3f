"""Retraining with exported staff corrections changes what the model predicts.

One model is retrained per module with `paht nlu train` (the deployment's path),
from the project data plus a corrections export; the session's `nlu` fixture,
trained on the project data alone, is the "before".
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

import backend.cli
import nlu.engine
from backend.reports.corrections import CorrectionRecord, training_files, write_corrections
from backend.settings import Settings
from nlu import Nlu, load_nlu
from tests.conftest import make_settings

PHRASE = "đàn vịt xiêm nhà bên cạnh bay sang"
TARGET = "giao_duc"  # deliberately absurd: only the corrections can teach it
CORRECTED = [
    "đàn vịt xiêm nhà bên cạnh bay sang sân",
    "vịt xiêm nhà bên cạnh bay sang phá rau",
    "đàn vịt xiêm bay sang nhà tôi mỗi ngày, gọi 0912 345 678",
    "nhà bên cạnh nuôi đàn vịt xiêm bay sang ăn lúa",
    "vit xiem nha ben canh bay sang hoai",
    "đàn vịt xiêm cứ bay sang làm bẩn sân",
]
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _records() -> list[CorrectionRecord]:
    records = [
        CorrectionRecord(i, i, "category", text, TARGET, NOW) for i, text in enumerate(CORRECTED)
    ]
    # A location correction sits in the same folder; training must not read it.
    records.append(CorrectionRecord(99, 99, "location", "ổ gà giữa đường", "Phường Long Châu", NOW))
    return records


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Nlu]:
    root = tmp_path_factory.mktemp("corrections-training")
    settings = make_settings(
        nlu={"corrections_dir": root / "exported", "model_dir": root / "model"}
    )
    categories = [c.id for c in settings.categories]
    write_corrections(_records(), out_dir=settings.nlu.corrections_dir, categories=categories)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend.cli, "get_settings", lambda: settings)
        result = CliRunner().invoke(backend.cli.main, ["nlu", "train"])
        assert result.exit_code == 0, result.output

        def no_training(*args: object, **kwargs: object) -> object:
            raise AssertionError("`paht nlu train` did not build the model the app loads")

        # The app's start-up path must find the model `paht nlu train` built.
        patch.setattr(nlu.engine, "train_models", no_training)
        model = load_nlu(
            categories=categories,
            province_code=settings.province.code,
            model_dir=settings.nlu.model_dir,
            extra_data_dirs=training_files(settings),
            with_locator=False,
        )
    return settings, model


@pytest.mark.parametrize("text", [PHRASE, "dan vit xiem nha ben canh bay sang"])
def test_retrained_model_predicts_the_corrected_category(
    text: str, nlu: Nlu, retrained: tuple[Settings, Nlu]
) -> None:
    _, model = retrained
    assert nlu.understand(text).category != TARGET
    assert model.understand(text).category == TARGET


def test_other_texts_and_the_normaliser_are_unchanged(
    nlu: Nlu, retrained: tuple[Settings, Nlu]
) -> None:
    _, model = retrained
    before, after = nlu.understand("ổ gà giữa đường"), model.understand("ổ gà giữa đường")
    assert after.category == before.category == "giao_thong"
    assert after.normalized == before.normalized  # the location review file is not synonyms


def test_training_data_has_no_phone_numbers(retrained: tuple[Settings, Nlu]) -> None:
    settings, _ = retrained
    (exported,) = training_files(settings)
    content = exported.read_text("utf-8")
    assert "0912 345 678" not in content and "******678" in content
