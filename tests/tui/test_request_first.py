"""The request goes first (issue 14): nothing on screen changes between Enter
and the request being written, a run shows as a running cell only when it is
still going after a short delay, and the requests that follow a run (GET
session for the countdown, pool status for the panel) wait until its result
is on screen. Against the real local pool; each test records what the screen
held at the moment a request left the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from repl.tui.app import AcajsApp
from repl.tui.screens.main import ReplScreen
from repl.tui.widgets.cell import CellView

from .conftest import settle, until


@asynccontextmanager
async def _connected(pool_settings) -> AsyncIterator[tuple[Any, ReplScreen]]:
    """The app on the real pool, connected: (pilot, its main screen)."""
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReplScreen) and screen.engine is not None
        yield pilot, screen


def _screen_state(screen: ReplScreen) -> tuple[int, bool, str]:
    mode_line = screen.query_one("#mode-line")
    return len(screen.transcript.children), bool(mode_line.display), str(mode_line.render())


def _spy(client: Any, name: str, seen: list[Any], record: Any) -> None:
    """Wrap ``client.<name>`` so ``record()`` is appended to ``seen`` as each call starts."""
    original = getattr(client, name)

    async def spied(*args: Any, **kwargs: Any) -> Any:
        seen.append(record())
        return await original(*args, **kwargs)

    setattr(client, name, spied)


async def test_the_screen_is_unchanged_when_the_request_is_written(pool_settings):
    async with _connected(pool_settings) as (pilot, screen):
        assert screen.engine is not None
        before = _screen_state(screen)
        at_request: list[tuple[int, bool, str]] = []
        _spy(screen.engine.client, "execute", at_request, lambda: _screen_state(screen))
        screen.editor.load_text("6*7")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert at_request == [before]  # no cell, no "running…" line yet when it went out
        view = screen.cell_views()[-1]
        assert view.state == "succeeded" and view.cell is not None and view.cell.execution is not None
        assert view.cell.execution.value_text == "42"


async def test_a_quick_run_appears_once_with_its_result(pool_settings):
    async with _connected(pool_settings) as (pilot, screen):
        assert screen.engine is not None
        mounted: list[str] = []
        original = CellView.on_mount

        def on_mount(view: CellView) -> None:
            original(view)
            mounted.append(view.state)

        CellView.on_mount = on_mount  # type: ignore[method-assign]
        try:
            for code in ("1+1", "2+2", "3+3"):
                screen.editor.load_text(code)
                await pilot.press("ctrl+j")
                await settle(pilot)
        finally:
            CellView.on_mount = original  # type: ignore[method-assign]
        views = screen.cell_views()
        assert [v.state for v in views] == ["succeeded"] * 3
        assert [v.cell.execution.value_text for v in views if v.cell and v.cell.execution] == ["2", "4", "6"]
        # Each cell was put on screen once; a run shorter than the delay never
        # showed as running (on a slow machine one may, and then it finished).
        assert len(mounted) == 3


async def test_a_long_run_shows_as_running_then_finishes(pool_settings):
    async with _connected(pool_settings) as (pilot, screen):
        assert screen.engine is not None
        screen.editor.load_text("await new Promise(r => setTimeout(r, 1500)); 'slept'")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: screen.cell_views() and screen.cell_views()[-1].running, "a running cell")
        assert "running" in str(screen.query_one("#mode-line").render())
        await settle(pilot)
        view = screen.cell_views()[-1]
        assert view.state == "succeeded" and len(screen.cell_views()) == 1
        assert not screen.query_one("#mode-line").display


async def test_type_ahead_cells_keep_their_order(pool_settings):
    async with _connected(pool_settings) as (pilot, screen):
        assert screen.engine is not None
        for code in ("await new Promise(r => setTimeout(r, 300)); 'a'", "'b'", "'c'"):
            screen.editor.load_text(code)
            await pilot.press("ctrl+j")
        await settle(pilot)
        values = [v.cell.execution.value_text for v in screen.cell_views() if v.cell and v.cell.execution]
        assert values == ["'a'", "'b'", "'c'"]
        assert [v.n for v in screen.cell_views()] == [1, 2, 3]


async def test_follow_up_requests_wait_for_the_result_on_screen(pool_settings):
    async with _connected(pool_settings) as (pilot, screen):
        assert screen.engine is not None
        client = screen.engine.client

        def result_on_screen() -> bool:
            views = screen.cell_views()
            return bool(views) and views[-1].is_mounted and views[-1].cell is not None

        sessions: list[bool] = []
        pools: list[bool] = []
        _spy(client, "get_session", sessions, result_on_screen)
        _spy(client, "pool_status", pools, result_on_screen)
        screen.editor.load_text("6*7")
        await pilot.press("ctrl+j")
        await settle(pilot)
        await screen.engine.settled()
        assert sessions and all(sessions), sessions  # the countdown correction came after the result
        assert pools and all(pools), pools  # and so did the pool status


async def test_a_quick_run_builds_one_view_after_its_request_with_its_own_id(pool_settings, monkeypatch):
    # Building a view styles it, and costs more than the local pool's `1+1`: a
    # run that ends before it would be shown has its view built once, with its
    # result, after the request went out, under the id the run was given.
    async with _connected(pool_settings) as (pilot, screen):
        assert screen.engine is not None
        events: list[str] = []
        built = CellView.__init__

        def counting_init(self: CellView, *args: Any, **kwargs: Any) -> None:
            events.append("view")
            built(self, *args, **kwargs)

        monkeypatch.setattr(CellView, "__init__", counting_init)
        _spy(screen.engine.client, "execute", events, lambda: "request")
        run_ids = []
        original_start = screen._start_cell

        def start_cell(cell: Any) -> None:
            original_start(cell)
            run_ids.append(list(screen._runs)[-1])

        monkeypatch.setattr(screen, "_start_cell", start_cell)
        screen.editor.load_text("6*7")
        await pilot.press("ctrl+j")
        await settle(pilot)
        assert events == ["request", "view"]
        view = screen.cell_views()[-1]
        assert view.id == run_ids[0] and view.state == "succeeded" and not view.running
        assert screen.query_one("#mode-line").display is False
