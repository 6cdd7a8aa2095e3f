"""Which channel adapters this deployment runs, built from the settings.

A channel whose secrets are not configured is simply not mounted (its webhook
answers 404). Tests pass their own adapters pointed at fake providers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.settings import Settings
from channels.base import ChannelAdapter


@dataclass(frozen=True)
class Channels:
    webhook: dict[str, ChannelAdapter] = field(default_factory=dict)  # route key → adapter
    senders: dict[str, ChannelAdapter] = field(default_factory=dict)  # channel name → adapter
    public_urls: dict[str, str] = field(default_factory=dict)  # route key → URL the provider signs


def build_channels(settings: Settings) -> Channels:
    """The adapters whose credentials are configured."""
    return Channels()
