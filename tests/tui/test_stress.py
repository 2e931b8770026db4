"""The app never dies of a widget error: hundreds of cells with random output
(control sequences, wide and combining characters, long lines, invalid
surrogates escaped by the kernel), typed ahead while Ctrl+L, resizes, theme
switches, Escape and focus moves are interleaved. The app and the pool must
still be running at the end, and a last run must work."""

from __future__ import annotations

import json
import random
import time

from repl.tui.app import AcajsApp

from .conftest import settle

PIECES = [
    "plain text", "\x1b[31mred\x1b[0m", "\x1b[2J", "\x1b]2;TITLE\x07", "\x1b]52;c;SGVsbG8=\x07",
    "\x1b]8;;http://x\x07link\x1b]8;;\x07", "10%\r50%\r100%", "ab\bc", "\ttab", "\x1bP1;2|payload\x1b\\",
    "\x9b31m", "\x00\x01\x7f", "宽字符", "e\u0301", "🙂" * 10, "x" * 3000, "\x1b[999;999H", "\x1b[?1049h",
    "[", "]", "\\", "$", "${x}", "\u202e", "\ufffd",
]


def _random_code(rng: random.Random) -> str:
    parts = [rng.choice(PIECES) for _ in range(rng.randint(1, 5))]
    text = "".join(parts)
    kind = rng.random()
    if kind < 0.5:
        return f"console.log({json.dumps(text)})"
    if kind < 0.7:
        return f"console.error({json.dumps(text)}); {json.dumps(text[:50])}"
    if kind < 0.8:
        return f"for (let i = 0; i < {rng.randint(50, 400)}; i++) console.log(i, {json.dumps(text[:40])})"
    if kind < 0.9:
        return f"throw new Error({json.dumps(text[:100])})"
    return f"({{ a: {json.dumps(text[:30])}, b: [1, 2, {{ c: null }}] }})"


async def test_hundreds_of_cells_with_random_output_and_interleaved_actions(pool_settings):
    rng = random.Random(20261202)
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        sizes = [(120, 40), (80, 24), (60, 20), (160, 48)]
        for i in range(200):
            screen.editor.load_text(_random_code(rng))
            await pilot.press("ctrl+j")
            roll = rng.random()
            if roll < 0.05:
                await pilot.press("ctrl+l")
            elif roll < 0.10:
                await pilot.resize_terminal(*rng.choice(sizes))
            elif roll < 0.13:
                app.theme = rng.choice(["dark", "light", "high-contrast"])
            elif roll < 0.18:
                await pilot.press("escape")
            elif roll < 0.23:
                await pilot.press("ctrl+t")  # focus the cells
                await pilot.press(rng.choice(["up", "down", "k", "j"]))
                await pilot.press("escape")  # back to the editor
            if i % 25 == 0:
                await pilot.pause()
        end = time.monotonic() + 120
        while screen.waiting and time.monotonic() < end:
            await pilot.pause(0.1)
        await settle(pilot)
        assert app.is_running
        assert not screen.waiting
        assert not [r for r in screen.transcript.records() if r.draw_error is not None]
        screen.editor.load_text("6 * 7")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert "42" in screen.cell_views()[-1].output_text()
