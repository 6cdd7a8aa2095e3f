"""Deployment configuration: a bad key is named at start, secrets are guarded in production."""

from __future__ import annotations

import pytest

from backend.settings import ConfigError
from tests.conftest import make_settings


def test_demo_deployment_loads(settings: object) -> None:
    loaded = make_settings()
    assert loaded.province.name == "Tỉnh Vĩnh Long"
    assert {c.id for c in loaded.categories} >= {"giao_thong", "moi_truong", "khac"}
    assert any(d.month == 2 and d.year == 2026 for d in loaded.holidays)  # Tết


def test_invalid_value_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"categories\.0\.deadline_days"):
        make_settings(
            categories=[
                {
                    "id": "giao_thong",
                    "name": "Giao thông",
                    "deadline_days": 0,
                    "unit": "so_xay_dung",
                }
            ]
        )


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"categories\.0\.unit: unknown unit 'nowhere'"):
        make_settings(
            categories=[{"id": "x_y", "name": "Xx thử", "deadline_days": 3, "unit": "nowhere"}]
        )


def test_unknown_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"telegram\.bot_tokn"):
        make_settings(telegram={"bot_tokn": "abc"})


def test_placeholder_secret_refused_in_production() -> None:
    with pytest.raises(ConfigError, match=r"telegram\.bot_token: placeholder secret"):
        make_settings(env="production", session_secret="s" * 40, telegram={"bot_token": "changeme"})
