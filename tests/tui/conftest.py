"""Helpers for the Textual app's Pilot tests: the app runs against the real
local pool (``local_pool`` from tests/conftest.py) over HTTP."""

from __future__ import annotations

import time
import uuid

import pytest

from repl.config import Settings


class ManualClock:
    """A monotonic clock the test moves by hand (drives the cooldown countdown)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def pool_settings(local_pool) -> Settings:
    """Settings that point the app at the shared local pool, with a fresh identifier."""
    return Settings(endpoint=local_pool.endpoint, token=local_pool.token, session=f"tui-{uuid.uuid4()}")


async def settle(pilot, rounds: int = 4) -> None:
    """Let messages flow and every worker finish (connect, pool status, runs)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def run_code(pilot, code: str):
    """Put ``code`` in the editor, press Ctrl+J (always runs) and wait for the cell."""
    screen = pilot.app.screen
    screen.editor.load_text(code)
    await pilot.press("ctrl+j")
    await settle(pilot)
    return screen.cell_views()[-1]


async def until(pilot, cond, what: str, deadline_s: float = 30.0) -> None:
    """Let the app run until ``cond()`` holds (a bounded wait for an event, not a timed assertion)."""
    end = time.monotonic() + deadline_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.05)
