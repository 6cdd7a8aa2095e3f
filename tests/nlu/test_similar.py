"""Similar reports: the duplicate suggestions staff see."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nlu.similar import ReportSnapshot, distance_m, find_similar, place_score

NOW = datetime(2025, 8, 1, 12, 0)
NEW = ReportSnapshot(
    "new", "Cột điện nghiêng sắp đổ trước nhà số 12 Lê Lợi", NOW, "29638", 10.2500, 105.9700
)


def _old(
    id_: str,
    text: str,
    *,
    days: float = 1,
    commune: str | None = "29638",
    lat: float | None = None,
    lon: float | None = None,
    category: str | None = None,
) -> ReportSnapshot:
    return ReportSnapshot(id_, text, NOW - timedelta(days=days), commune, lat, lon, category)


def test_same_problem_same_place_is_found_first() -> None:
    candidates = [
        _old("rac", "rác thải đổ bừa bãi đầu hẻm"),
        _old("dup", "cot dien bi nghieng truoc nha 12 le loi", lat=10.2501, lon=105.9701),
        _old("near", "cột điện nghiêng", days=3),
    ]
    found = find_similar(NEW, candidates, now=NOW)
    assert [f.id for f in found] == ["dup", "near"]
    assert found[0].score > found[1].score
    assert found[0].distance_m is not None and found[0].distance_m < 50


@pytest.mark.parametrize(
    ("candidate", "why"),
    [
        (
            _old("x", "cột điện nghiêng sắp đổ trước nhà 12 Lê Lợi", commune="99999"),
            "other commune",
        ),
        (_old("x", "cột điện nghiêng sắp đổ trước nhà 12 Lê Lợi", days=45), "too old"),
        (_old("x", "karaoke ồn ào tới khuya"), "other problem"),
        (_old("x", "cột điện nghiêng", lat=10.35, lon=105.97), "11 km away"),
        (ReportSnapshot("new", NEW.text, NOW, "29638"), "the report itself"),
    ],
)
def test_not_a_duplicate(candidate: ReportSnapshot, why: str) -> None:
    assert find_similar(NEW, [candidate], now=NOW) == [], why


def test_unknown_place_still_counts_on_text_and_time() -> None:
    new = ReportSnapshot("n", "hố ga mất nắp trước chợ Long Hồ", NOW)
    found = find_similar(new, [_old("o", "ho ga mat nap truoc cho Long Ho", commune=None)], now=NOW)
    assert [f.id for f in found] == ["o"] and found[0].place_score == pytest.approx(0.3)


def test_recent_reports_score_higher() -> None:
    fresh = find_similar(
        NEW, [_old("a", "cột điện nghiêng trước nhà 12 Lê Lợi", days=0.5)], now=NOW
    )
    stale = find_similar(NEW, [_old("a", "cột điện nghiêng trước nhà 12 Lê Lợi", days=20)], now=NOW)
    assert fresh[0].score > stale[0].score


def test_limit_and_other_category_penalty() -> None:
    same = [_old(str(i), "cột điện nghiêng trước nhà 12 Lê Lợi") for i in range(8)]
    assert len(find_similar(NEW, same, now=NOW, limit=3)) == 3
    new = ReportSnapshot("n", NEW.text, NOW, "29638", category="dien_chieu_sang")
    a = find_similar(new, [_old("a", "cột điện nghiêng", category="dien_chieu_sang")], now=NOW)
    b = find_similar(
        new, [_old("a", "cột điện nghiêng", category="cay_xanh")], now=NOW, min_score=0.0
    )
    assert a[0].score > b[0].score


def test_distance_and_place_score() -> None:
    assert distance_m(10.0, 106.0, 10.0, 106.0) == 0.0
    assert distance_m(10.0, 106.0, 10.009, 106.0) == pytest.approx(1000, rel=0.01)
    score, meters = place_score(NEW, _old("a", "", commune="29638"))
    assert score == 1.0 and meters is None
    score, _ = place_score(NEW, _old("a", "", commune="1", lat=10.2501, lon=105.97))
    assert 0.9 < score < 1.0  # other commune, but 11 m away: across the border
