"""Session continuity in the full-screen app, on a local pool whose sessions
expire after a few seconds (tests/conftest.py ``short_pool``)."""

from __future__ import annotations

import time

from repl.config import Settings
from repl.tui.app import AcajsApp
from repl.tui.widgets.confirm_screen import ConfirmScreen

from ..conftest import SHORT_COOLDOWN_SECONDS
from .conftest import run_code, settle, until


def _settings(pool, **kw) -> Settings:
    s = Settings(endpoint=pool.endpoint, token=pool.token, timeout=30, **kw)
    s.expiry_warning = 1.0
    return s



def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_warning_expiry_notice_and_replay_through_the_app(short_pool):
    app = AcajsApp(_settings(short_pool))
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "globalThis.k = 42; let keep = 'state'; k")
        await until(pilot, lambda: any("expires in" in n for n in _notes(app)), "the warning")
        await until(pilot, lambda: any("expired at" in n for n in _notes(app)), "the expiry notice")
        assert len(bells) >= 2
        assert any(":" in n and "expired at" in n for n in _notes(app))  # with the clock time
        view = await run_code(pilot, "typeof k + ' ' + typeof keep")
        assert "'undefined undefined'" in view.output_text()
        notice = view.part("notice")
        assert notice is not None and "Session expired at" in notice.plain
        # .replay: asks with what it will send, then runs the lost inputs as cells
        screen.editor.load_text(".replay")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and "globalThis.k = 42" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        await until(pilot, lambda: not screen.waiting, "the replay")
        view = await run_code(pilot, "k + ' ' + keep")
        assert "'42 state'" in view.output_text()


async def test_the_countdown_reads_paused_while_a_long_run_outlasts_the_cooldown(short_pool):
    app = AcajsApp(_settings(short_pool))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        busy_ms = SHORT_COOLDOWN_SECONDS * 1000 + 1500
        screen.editor.load_text(f"const t0 = Date.now(); while (Date.now() - t0 < {busy_ms}) {{}}; 'done'")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: screen.engine.cooldown.paused, "the run")
        start = time.monotonic()
        while time.monotonic() - start < SHORT_COOLDOWN_SECONDS + 0.5:
            countdown = str(screen.query_one("#countdown").render())
            assert "expired" not in countdown
            await pilot.pause(0.2)
        assert "running" in str(screen.query_one("#countdown").render())
        await until(pilot, lambda: not screen.waiting, "the run to end")
        assert not any("expired" in n for n in _notes(app))


async def test_a_run_behind_an_abandoned_one_says_what_it_waits_for(short_pool):
    app = AcajsApp(_settings(short_pool))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text("const t0 = Date.now(); while (Date.now() - t0 < 2500) {}; 'slow'")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: screen.engine.busy, "the run")
        await pilot.press("escape")
        await settle(pilot)
        screen.editor.load_text("'next'")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: screen.cell_views()[-1].waiting_behind is not None, "the note")
        head = screen.cell_views()[-1].head_text
        assert "waiting for In [1], which is still running on the server" in head
        await until(pilot, lambda: not screen.waiting, "the run to end")
        assert "'next'" in screen.cell_views()[-1].output_text()


async def test_keep_alive_holds_the_session_past_three_cooldowns_then_lets_it_go(short_pool):
    settings = _settings(short_pool)
    settings.keep_alive = (SHORT_COOLDOWN_SECONDS * 4) / 60  # idle minutes
    app = AcajsApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        engine = screen.engine
        assert engine.keep_alive is not None
        await run_code(pilot, "globalThis.alive = 'yes'")
        start = time.monotonic()
        while time.monotonic() - start < SHORT_COOLDOWN_SECONDS * 3:
            assert not engine.cooldown.expired
            await pilot.pause(0.2)
        await until(pilot, lambda: engine.cooldown.expired, "keep-alive to stop after the idle limit", 40)
        assert engine.keep_alive.stopped_for_idle
        view = await run_code(pilot, "typeof alive")
        assert "'undefined'" in view.output_text()
