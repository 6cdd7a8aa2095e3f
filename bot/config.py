"""What the dialogue needs to know about the deployment (pure data, no settings I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType


@dataclass(frozen=True)
class BotConfig:
    province_name: str
    category_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    max_chars: int = 4000
    resume_after: timedelta = timedelta(minutes=30)
    hotline: str | None = None
    min_content_chars: int = 8
