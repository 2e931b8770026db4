"""When a run's cell is shown finished on the REPL screen, and when a frame showing
it is painted: the TUI benches' clock (``perf_table.py``, ``tui_long.py``).

It wraps the screen's ``_done_running`` (the run's view is final) and
``_compositor_refresh`` (Textual renders a frame): private hooks, for benches
only. Events are awaited, so no polling loop shares the app's loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class PaintSpy:
    def __init__(self, screen: Any) -> None:
        self.shown_at: list[float] = []
        self.painted_at: list[float] = []
        self.shown, self.painted = asyncio.Event(), asyncio.Event()
        done_running, compositor_refresh = screen._done_running, screen._compositor_refresh

        def on_done_running(view_id: str) -> None:
            self.shown_at.append(time.perf_counter())
            done_running(view_id)
            self.shown.set()

        def on_refresh() -> None:
            compositor_refresh()
            views = screen.cell_views()
            if views and not views[-1].running and not screen._unshown:
                self.painted_at.append(time.perf_counter())  # a frame that shows the finished cell
                self.painted.set()

        screen._done_running, screen._compositor_refresh = on_done_running, on_refresh

    def expect_run(self) -> None:
        """Before a submit: forget the previous run's cell."""
        self.shown_at.clear()
        self.shown.clear()

    async def cell_shown(self) -> float:
        """When the run's cell was shown finished (perf_counter)."""
        await self.shown.wait()
        return self.shown_at[0]

    async def cell_painted(self, done: Callable[[], bool]) -> float:
        """The first frame painted after the cell was shown, once ``done()`` holds."""
        shown = await self.cell_shown()
        while not (done() and [t for t in self.painted_at if t > shown]):
            self.painted.clear()
            await self.painted.wait()
        return min(t for t in self.painted_at if t > shown)
