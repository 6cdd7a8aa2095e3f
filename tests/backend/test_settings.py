"""Deployment configuration: a bad key is named at start, secrets are guarded in production."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from backend.channels.registry import build_channels
from backend.settings import ConfigError, load_settings
from tests.conftest import ROOT, make_settings


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


def test_readme_sms_gateway_example_configures_the_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", readme, re.S)
    assert example, "README shows the aggregator example"
    config = tmp_path / "paht.toml"
    config.write_text((ROOT / "paht.toml").read_text(encoding="utf-8") + "\n" + example.group(1))
    monkeypatch.setenv("PAHT_CONFIG", str(config))
    monkeypatch.setenv("PAHT_SMS_GATEWAY__SHARED_SECRET", "s3cret-value")
    monkeypatch.setenv("PAHT_SMS_GATEWAY__API_KEY", "key")
    channels = asyncio.run(build_channels(load_settings(env="test")))
    assert set(channels.webhook) == {"sms_gateway"}
    assert channels.senders["sms"] is channels.webhook["sms_gateway"]
