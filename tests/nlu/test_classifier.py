"""Training data reader (Rasa NLU YAML) and the calibrated linear classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlu.classifier import Analysis, Counts, FeatureSpace, Floats, LinearTextModel, analyze, fit
from nlu.normalize import fold
from nlu.training_data import (
    EntitySpan,
    TrainingDataError,
    data_files,
    fingerprint,
    load_files,
    parse_example,
    parse_yaml,
)

RASA = """
version: "3.1"
nlu:
- intent: giao_thong
  examples: |
    - ổ gà giữa đường [Q3](district)
    - đường [Nguyễn Trãi]{"entity": "street", "value": "Nguyễn Trãi"} bị lún
    - duong bi lun
- synonym: không
  examples: |
    - ko
    - k
- lookup: province
  examples: |
    - Vĩnh Long
- regex: code
  examples: |
    - \\d{12}
"""


def test_rasa_yaml_intents_synonyms_and_lookups() -> None:
    data = parse_yaml(RASA)
    assert [e.text for e in data.examples] == [
        "ổ gà giữa đường Q3",
        "đường Nguyễn Trãi bị lún",
        "duong bi lun",
    ]
    assert {e.label for e in data.examples} == {"giao_thong"}
    assert data.synonyms == {"ko": "không", "k": "không"}
    assert data.lookups == {"province": ("Vĩnh Long",)}


@pytest.mark.parametrize(
    ("line", "text", "spans"),
    [
        ("không có gì", "không có gì", ()),
        ("hẻm [12](number) ngập", "hẻm 12 ngập", (EntitySpan(4, 6, "number", "12"),)),
        (
            '[P.9]{"entity": "ward", "value": "Phường 9"} ngập',
            "P.9 ngập",
            (EntitySpan(0, 3, "ward", "Phường 9"),),
        ),
        ("[Q3](district:Quận 3)", "Q3", (EntitySpan(0, 2, "district", "Quận 3"),)),
    ],
)
def test_entity_annotations_are_stripped(
    line: str, text: str, spans: tuple[EntitySpan, ...]
) -> None:
    assert parse_example(line) == (text, spans)


@pytest.mark.parametrize(
    "content", ["nlu: [1, 2]", "- just a list", "nlu:\n- intent: x\n  examples: 3", "a: ["]
)
def test_bad_training_files_are_refused(content: str) -> None:
    with pytest.raises(TrainingDataError):
        parse_yaml(content)


def test_fingerprint_follows_the_content(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(RASA, "utf-8")
    files = data_files([tmp_path])
    before = fingerprint(files, "v1")
    assert fingerprint(files, "v1") == before
    assert fingerprint(files, "v2") != before
    (tmp_path / "a.yml").write_text(RASA + "\n", "utf-8")
    assert fingerprint(files, "v1") != before
    assert len(load_files(files).examples) == 3


TOY = [
    ("ổ gà giữa đường", "road"),
    ("đường bị lún sụt", "road"),
    ("mặt đường bể nát", "road"),
    ("xe tải cày nát đường", "road"),
    ("đường nhiều ổ voi", "road"),
    ("ổ gà to trước chợ", "road"),
    ("rác thải bốc mùi", "waste"),
    ("đổ rác bừa bãi", "waste"),
    ("bãi rác tự phát", "waste"),
    ("rác không ai dọn", "waste"),
    ("xe rác không tới lấy", "waste"),
    ("mùi hôi từ bãi rác", "waste"),
    ("đèn đường tắt", "light"),
    ("bóng đèn cao áp hư", "light"),
    ("đèn đường không sáng", "light"),
    ("trụ đèn chiếu sáng hỏng", "light"),
    ("hẻm tối vì đèn hư", "light"),
    ("đèn đường chập chờn", "light"),
]


def _analyses(texts: list[str]) -> list[Analysis]:
    return [analyze(text, fold(text)) for text in texts]


@pytest.fixture(scope="module")
def built() -> tuple[FeatureSpace, Floats]:
    space, (idf,) = FeatureSpace.build([_analyses([t for t, _ in TOY])])
    return space, idf


@pytest.fixture(scope="module")
def space(built: tuple[FeatureSpace, Floats]) -> FeatureSpace:
    return built[0]


def _vec(space: FeatureSpace, text: str) -> Counts:
    return space.counts(analyze(text, fold(text)))


@pytest.fixture(scope="module")
def toy_model(built: tuple[FeatureSpace, Floats]) -> LinearTextModel:
    space, idf = built
    return fit(space.matrix(_analyses([t for t, _ in TOY]), idf), idf, [y for _, y in TOY])


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("đường có ổ gà", "road"),
        ("duong co o ga", "road"),
        ("rac boc mui", "waste"),
        ("đèn hư", "light"),
    ],
)
def test_toy_model_predicts_with_and_without_diacritics(
    space: FeatureSpace, toy_model: LinearTextModel, text: str, label: str
) -> None:
    assert toy_model.top(_vec(space, text), 1)[0][0] == label


def test_shared_space_keeps_each_model_on_its_own_vocabulary() -> None:
    roads = _analyses(["ổ gà giữa đường", "đường lún"])
    greetings = _analyses(["xin chào ad", "chào buổi sáng"])
    space, (road_idf, greet_idf) = FeatureSpace.build([roads, greetings])
    assert space.vocabulary["w:chào"] >= 0 and road_idf[space.vocabulary["w:chào"]] == 0
    assert greet_idf[space.vocabulary["w:chào"]] > 0
    assert road_idf[space.vocabulary["w:đường"]] > 0


def test_probabilities_are_calibrated_and_ranked(
    space: FeatureSpace, toy_model: LinearTextModel
) -> None:
    top = toy_model.top(_vec(space, "rác"), 3)
    assert top[0][0] == "waste"
    assert sum(toy_model.proba(_vec(space, "rác"))) == pytest.approx(1.0, abs=1e-5)
    assert top[0][1] >= top[1][1] >= top[2][1]


def test_fast_inference_matches_scikit_learn(built: tuple[FeatureSpace, Floats]) -> None:
    from sklearn.svm import LinearSVC

    space, idf = built
    x = space.matrix(_analyses([t for t, _ in TOY]), idf)
    labels = [y for _, y in TOY]
    reference = LinearSVC(C=1.0, random_state=0).fit(x, labels)
    ours = fit(x, idf, labels)
    probes = ["ổ gà", "rác", "đèn đường", "đường tối"]
    expected = reference.decision_function(space.matrix(_analyses(probes), idf))
    got = np.stack([ours.decision(_vec(space, p)) for p in probes])
    assert tuple(reference.classes_) == ours.classes
    np.testing.assert_allclose(got, expected, atol=1e-4)
    for probe in probes:
        assert ours.proba(_vec(space, probe)).sum() == pytest.approx(1.0, abs=1e-5)


def test_variants_of_one_text_stay_in_one_fold(built: tuple[FeatureSpace, Floats]) -> None:
    space, idf = built
    texts = [t for t, _ in TOY] * 2
    x = space.matrix(_analyses(texts), idf)
    groups = list(range(len(TOY))) * 2
    model = fit(x, idf, [y for _, y in TOY] * 2, groups=groups)
    assert model.top(_vec(space, "ổ gà"), 1)[0][0] == "road"
    assert 0.5 <= model.power <= 5.0


@pytest.mark.parametrize("algorithm", ["svm", "logreg"])
def test_models_survive_save_and_load(
    built: tuple[FeatureSpace, Floats], tmp_path: Path, algorithm: str
) -> None:
    space, idf = built
    x = space.matrix(_analyses([t for t, _ in TOY]), idf)
    model = fit(x, idf, [y for _, y in TOY], algorithm=algorithm)
    model.save(tmp_path / "m.npz")
    space.save(tmp_path / "s.npz")
    loaded, loaded_space = (
        LinearTextModel.load(tmp_path / "m.npz"),
        FeatureSpace.load(tmp_path / "s.npz"),
    )
    assert loaded.classes == model.classes
    for text, _ in TOY[:5]:
        np.testing.assert_allclose(
            loaded.proba(_vec(loaded_space, text)), model.proba(_vec(space, text)), atol=1e-6
        )


def test_binary_model_gives_two_probabilities() -> None:
    pairs = [
        ("cháy nhà", "urgent"),
        ("nhà cháy lớn", "urgent"),
        ("cứu với cháy", "urgent"),
        ("sập nhà", "urgent"),
        ("cây đổ đè người", "urgent"),
        ("đèn hư", "not_urgent"),
        ("rác bẩn", "not_urgent"),
        ("hẻm tối", "not_urgent"),
        ("xin hỏi thủ tục", "not_urgent"),
        ("ồn ào", "not_urgent"),
    ]
    analyses = _analyses([t for t, _ in pairs])
    space, (idf,) = FeatureSpace.build([analyses])
    model = fit(space.matrix(analyses, idf), idf, [y for _, y in pairs])
    probs = model.proba(_vec(space, "cháy"))
    assert probs.shape == (2,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert model.top(_vec(space, "cháy"), 1)[0][0] == "urgent"
