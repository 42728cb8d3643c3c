"""Waiting for something a server thread does, without a fixed sleep."""

from __future__ import annotations

import time


def wait_until(condition, seconds: float = 5.0) -> None:
    """Return as soon as ``condition()`` holds; fail the test if it has not within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)
