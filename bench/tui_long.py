"""Where a run's cost goes in a long transcript: the app headless (120x40) on
the embedded pool, ``1+1`` submitted until the frame that shows the finished
cell is painted (as ``perf_table.py``'s ``tui_flat`` row), at 5 cells and
after growing the transcript to 200 and 1,000 cells.

For each size, medians of 12 runs of: the wall time, the main thread's CPU
time (``time.thread_time``: the app's own work, much less moved than the wall
time by other processes on a shared machine), the lines each kind of widget
drew through Textual's styles cache (counted by wrapping
``StylesCache.render_line``), and the gc-tracked objects outside the frozen
generation (what a full collection traverses).

    .venv/bin/python bench/tui_long.py
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paint_spy import PaintSpy  # noqa: E402  (bench/, this script's own directory)

RUNS = 12
SIZES = (5, 200, 1000)


def _count_lines(drawn: Counter[str], counting: list[bool]) -> None:
    from textual._styles_cache import StylesCache

    real = StylesCache.render_line

    def render_line(self: Any, styles: Any, y: int, size: Any, content_size: Any, padding: Any,
                    base: Any, background: Any, render_content_line: Any, *rest: Any) -> Any:
        if counting[0]:
            drawn[type(render_content_line.__self__).__name__] += 1
        return real(self, styles, y, size, content_size, padding, base, background, render_content_line, *rest)

    StylesCache.render_line = render_line  # a spy, for counting


async def _measure(pool: Any) -> None:
    from repl.config import Settings
    from repl.tui.app import AcajsApp

    drawn: Counter[str] = Counter()
    counting = [False]
    _count_lines(drawn, counting)
    app = AcajsApp(Settings(endpoint=pool.endpoint, token=pool.token, session=os.urandom(8).hex()))
    async with app.run_test(size=(120, 40)) as pilot:
        screen: Any = app.screen
        while getattr(screen, "engine", None) is None:
            await pilot.pause(0.05)
        engine = screen.engine
        spy = PaintSpy(screen)

        def cells() -> int:
            return int(screen.transcript.cell_count())

        def done(count: int) -> bool:
            return cells() >= count and not screen.cell_views()[-1].running and not engine.busy and not screen._runs

        async def run(measured: bool = False) -> tuple[float, float]:
            count = cells() + 1
            spy.expect_run()
            counting[0] = measured
            wall, cpu = time.perf_counter(), time.thread_time()
            screen.submit("1+1")
            painted = await spy.cell_painted(lambda: done(count))
            cpu = time.thread_time() - cpu
            counting[0] = False
            return (painted - wall) * 1000, cpu * 1000

        for _ in range(5):
            await run()
        print(f"{'cells':>6} | {'wall':>8} | {'CPU':>8} | {'tracked':>8} | lines drawn per run (styles cache)")
        for size in SIZES:
            walls, cpus = [], []
            for _ in range(RUNS):
                target = size - 1 if size <= 5 else max(cells(), size - RUNS)
                if cells() > target:
                    screen.action_clear()
                    await pilot.pause(0.15)
                while cells() < target:
                    await run()
                await pilot.pause(0.15)
                wall, cpu = await run(measured=True)
                walls.append(wall)
                cpus.append(cpu)
            gc.collect()
            lines = ", ".join(f"{k} {v // RUNS}" for k, v in drawn.most_common(5))
            drawn.clear()
            tracked = len(gc.get_objects())
            print(f"{size:>6} | {median(walls):5.2f} ms | {median(cpus):5.2f} ms | {tracked:>8} | {lines}", flush=True)


def main() -> None:
    from repl.local.embedded import EmbeddedPool
    from repl.local.settings import PoolSettings

    with tempfile.TemporaryDirectory(prefix="acajs-bench-long-") as tmp:
        os.environ["ACAJS_CONFIG_DIR"] = f"{tmp}/config"
        os.environ["ACAJS_DATA_DIR"] = f"{tmp}/data"
        with EmbeddedPool(PoolSettings(data_dir=Path(tmp) / "pool", ready=1)) as pool:
            pool.wait_started()
            asyncio.run(_measure(pool))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
