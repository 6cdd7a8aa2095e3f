"""End-to-end helpers: the app with real channel adapters pointed at fake providers."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], timeout: float = 15.0) -> None:
    """Poll until `condition()` is truthy (the pipeline works after the webhook answers)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the pipeline did not get there in time")
        time.sleep(0.05)
