"""Rendering benchmarks for the Textual app (headless, real local pool).

1. **10 MB output cell**: time from mounting a cell whose stdout is 10 MB
   (200,000 lines of 49 characters) until the screen has been composed and
   rendered with it (capped view, "N lines hidden"), compared with a 1-line cell.
2. **Frame latency while a long execution runs**: a 4-second busy loop runs in
   the session (real Node kernel, real HTTP); meanwhile a 60 Hz timer measures
   how late each tick fires (event-loop lag), the running cell's spinner keeps
   ticking, and keystrokes typed into the editor are timed from press to the
   editor showing them plus one full-screen render (no Pilot in the loop: a
   Key event is posted as the driver does).

Usage (from the repository root)::

    /work/venv/bin/python bench/render.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def bench_big_cell(app_factory) -> None:
    from repl.api.models import Execution, ExecutionStatus
    from repl.transcript import Cell
    from repl.tui.widgets.cell import CellView

    big = ("y" * 49 + "\n") * 200_000
    small = "hello\n"
    for label, text in (("1-line cell", small), ("10 MB cell", big)):
        times = []
        for i in range(5):
            app = app_factory()
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                screen = app.screen
                cell = Cell(n=i + 1, code="out()", execution=Execution(ExecutionStatus.SUCCEEDED, stdout=text))
                t0 = time.perf_counter()
                view = screen.transcript.add_cell(CellView(cell.n, cell.code, cell=cell))
                while view.cell is None or view.size.height < 3:
                    await asyncio.sleep(0)  # until the output is drawn and laid out
                app.screen._compositor.render_update(full=True)  # one complete frame
                times.append(time.perf_counter() - t0)
        print(
            f"render {label:<12} ({len(text):>10,} chars): median {statistics.median(times) * 1000:7.1f} ms   "
            f"max {max(times) * 1000:7.1f} ms   (n={len(times)})"
        )


async def bench_frames_during_run(app_factory) -> None:
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(4):
            await pilot.pause()
            await app.workers.wait_for_complete()
        screen = app.screen
        lags: list[float] = []
        period = 1 / 60
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            lags.append(max(0.0, now - last[0] - period))
            last[0] = now

        from textual import events

        async def keystroke() -> float:
            # A key event as the terminal driver posts it; done when the editor
            # has the character and a full frame has been rendered.
            before = screen.editor.text
            t0 = time.perf_counter()
            app.post_message(events.Key("x", "x"))
            while screen.editor.text == before:
                await asyncio.sleep(0)
            app.screen._compositor.render_update(full=True)
            return time.perf_counter() - t0

        # Baseline: the same keystrokes with nothing running.
        screen.editor.focus()
        idle_keys = []
        idle_lags: list[float] = []
        last = [time.perf_counter()]

        def idle_tick() -> None:
            now = time.perf_counter()
            idle_lags.append(max(0.0, now - last[0] - period))
            last[0] = now

        timer = app.set_interval(period, idle_tick)
        t_idle = time.perf_counter()
        while time.perf_counter() - t_idle < 2.0:
            idle_keys.append(await keystroke())
            await asyncio.sleep(0.05)
        timer.stop()
        screen.editor.load_text("")

        lags.clear()
        last[0] = time.perf_counter()
        screen.editor.load_text("const t0 = Date.now(); while (Date.now() - t0 < 4000) {}; 'done'")
        # Ctrl+J as the terminal driver posts it, until the running cell is
        # mounted and a full frame is rendered (no Pilot waits in between).
        screen.editor.focus()
        await pilot.pause()
        t_submit = time.perf_counter()
        app.post_message(events.Key("ctrl+j", None))
        while not (screen.cell_views() and screen.cell_views()[-1].running and screen.cell_views()[-1].is_mounted):
            await asyncio.sleep(0)
        app.screen._compositor.render_update(full=True)
        submit_s = time.perf_counter() - t_submit
        view = screen.cell_views()[-1]
        # Lateness counts from the timer's start: the submission before it
        # (Ctrl+J until the cell shows as running) is not a tick's lateness.
        last[0] = time.perf_counter()
        timer = app.set_interval(period, tick)
        keys: list[float] = []
        t_start = time.perf_counter()
        screen.editor.focus()
        while view.running:
            keys.append(await keystroke())
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t_start
        timer.stop()
        await app.workers.wait_for_complete()
        print(f"long execution: {elapsed:.1f} s while running, state after: {view.state}; "
              f"Ctrl+J to the running cell on screen {submit_s * 1000:.1f} ms")
        print(
            f"idle:    event-loop lag p50 {pct(idle_lags, 50) * 1000:.1f} ms  p95 {pct(idle_lags, 95) * 1000:.1f} ms  "
            f"max {max(idle_lags) * 1000:.1f} ms;  keystroke to frame p50 {pct(idle_keys, 50) * 1000:.1f} ms  "
            f"p95 {pct(idle_keys, 95) * 1000:.1f} ms  (n={len(idle_keys)})"
        )
        print(
            f"running: event-loop lag (60 Hz timer): p50 {pct(lags, 50) * 1000:.1f} ms  "
            f"p95 {pct(lags, 95) * 1000:.1f} ms  "
            f"max {max(lags) * 1000:.1f} ms  (n={len(lags)})"
        )
        print(
            f"keystroke to rendered frame: p50 {pct(keys, 50) * 1000:.1f} ms  p95 {pct(keys, 95) * 1000:.1f} ms  "
            f"max {max(keys) * 1000:.1f} ms  (n={len(keys)})"
        )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ACAJS_CONFIG_DIR"] = f"{tmp}/config"
        os.environ["ACAJS_DATA_DIR"] = f"{tmp}/data"
        from repl.config import Settings
        from repl.local.embedded import EmbeddedPool
        from repl.local.settings import PoolSettings
        from repl.tui.app import AcajsApp

        pool = EmbeddedPool(PoolSettings(data_dir=f"{tmp}/pool", ready=1)).start()
        pool.wait_started()
        try:

            def app_factory() -> AcajsApp:
                return AcajsApp(Settings(endpoint=pool.endpoint, token=pool.token, session=os.urandom(8).hex()))

            asyncio.run(bench_big_cell(app_factory))
            asyncio.run(bench_frames_during_run(app_factory))
        finally:
            pool.stop()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
