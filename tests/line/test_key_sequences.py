"""The shared key-sequence table (tests/key_sequences.py) through line mode,
typed as a terminal sends the keys (prompt-toolkit pipe input)."""

from __future__ import annotations

import asyncio

import pytest

from ..key_sequences import CASES, SPECIAL, KeyCase
from .conftest import engine_for, run_repl


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_key_sequence(case: KeyCase, pool_settings, data_dir) -> None:
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            for step in case.steps:
                if step == "<wait-run>":
                    await h.wait_for(lambda: engine.busy)
                elif step == "<escape>":
                    # A lone Escape is told from the start of a sequence by a
                    # pause (prompt-toolkit's ttimeoutlen), as a person types it.
                    h.type("\x1b")
                    await asyncio.sleep(h.repl.session.app.ttimeoutlen + 0.2)
                elif step in SPECIAL:
                    h.type(SPECIAL[step][1])
                else:
                    h.type(step)
            await h.wait_for(lambda: len([c for c in engine.transcript if not c.running]) >= len(case.values))
            await h.idle_prompt()
            await h.wait_for(lambda: not h.repl._queue and not engine.busy)
            await h.idle_prompt()
            cells = list(engine.transcript)
            assert [c.execution.value_text if c.execution else "" for c in cells] == list(case.values)
            if case.statuses:
                assert [c.status for c in cells] == list(case.statuses)
            await h.wait_for(lambda: h.repl.session.default_buffer.text == case.left_in_input)
