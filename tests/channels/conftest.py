"""Fixtures every provider directory shares: its fake provider, served on 127.0.0.1 and clean.

Each provider's tests live in their own directory (`tests/channels/zalo/`, `telegram/`,
`sms/`, `sms_gateway/`) whose conftest provides `provider`, a module-scoped fake (an ASGI
`app` with `reset()`) from `tests.fakes`, and `adapter`, the adapter pointed at it. The
same names mean a different provider in each directory, so the tests read alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from tests.fakes.server import serve


class FakeProvider(Protocol):
    app: Any

    def reset(self) -> None: ...


@pytest.fixture(scope="module")
def fake_url(provider: FakeProvider) -> Iterator[str]:
    """The directory's fake provider, served for the test module; its base URL."""
    with serve(provider.app) as url:
        yield url


@pytest.fixture
def fake(provider: FakeProvider, fake_url: str) -> FakeProvider:
    """The served fake provider with no calls, failures or tokens left by an earlier test."""
    provider.reset()
    return provider
