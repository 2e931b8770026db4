"""The shared key-sequence table (tests/key_sequences.py) through Pilot."""

from __future__ import annotations

import pytest

from repl.tui.app import AcajsApp

from ..key_sequences import CASES, SPECIAL, KeyCase
from .conftest import settle, until

DEADLINE_S = 30.0



@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_key_sequence(case: KeyCase, pool_settings) -> None:
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        engine = screen.engine
        for step in case.steps:
            if step == "<wait-run>":
                await until(pilot, lambda: engine.busy, "a run in flight")
            elif step in SPECIAL:
                await pilot.press(SPECIAL[step][0])
            else:
                await pilot.press(*[("space" if ch == " " else "enter" if ch == "\r" else ch) for ch in step])
        await until(
            pilot,
            lambda: len([c for c in engine.transcript if not c.running]) >= len(case.values) and not screen.waiting,
            "the cells to finish",
        )
        await settle(pilot)
        cells = list(engine.transcript)
        assert [c.execution.value_text if c.execution else "" for c in cells] == list(case.values)
        if case.statuses:
            assert [c.status for c in cells] == list(case.statuses)
        assert screen.editor.text == case.left_in_input
        assert screen.editor.has_focus
