"""Tab completion in the full-screen app, driven by Pilot, on the real local
pool: the editor keeps the focus, keys typed in a burst after Tab all land in
the editor, the list filters as you type, and dot-command files complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from repl.js.completion import Completion, Completions
from repl.tui.app import AcajsApp
from repl.tui.widgets.completion import CompletionList, apply_completion

from .conftest import run_code, settle


def menu_of(app: AcajsApp) -> CompletionList:
    return app.screen.query_one(CompletionList)


def listed(app: AcajsApp) -> list[str]:
    if not app.screen.query(CompletionList):
        return []  # mounted at the first list shown
    menu = menu_of(app)
    return [item.text for item in menu.items] if menu.is_open else []


def test_apply_completion_replaces_the_typed_word() -> None:
    result = Completions(5, [Completion("floor", "property")])
    assert apply_completion("Math.fl + 1", 7, result, result.items[0]) == ("Math.floor + 1", 10)


async def test_a_burst_after_tab_lands_in_the_editor_and_narrows_the_list(pool_settings) -> None:
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        cell = await run_code(pilot, "const shelf = { apple: 1, apricot: 2, avocado: 3, banana: 4 }")
        assert cell.state == "succeeded"
        await pilot.press(*"shelf.a")
        # Tab asks the session; the keys typed right after it, without a pause,
        # go to the editor whenever the answer comes.
        await pilot.press("tab", *"pr")
        await settle(pilot)
        assert screen.editor.text == "shelf.apr"
        assert screen.editor.has_focus
        assert listed(app) == ["apricot"]
        await pilot.press("backspace")  # widens again, without a new probe
        await settle(pilot)
        assert screen.editor.text == "shelf.ap"
        assert listed(app) == ["apple", "apricot"]
        assert menu_of(app).highlighted_item() == Completion("apricot", "property")  # kept
        await pilot.press("up", "down", "enter")
        await settle(pilot)
        assert screen.editor.text == "shelf.apricot"
        assert not menu_of(app).is_open
        assert screen.editor.has_focus
        assert len(screen.cell_views()) == 1  # Enter chose; it did not run


async def test_typing_filters_an_open_list_and_tab_accepts(pool_settings) -> None:
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await run_code(pilot, "let appleOne = 1, appleTwo = 2, appleThree = 3")
        await pilot.press(*"appl", "tab")
        await settle(pilot)
        assert screen.editor.text == "apple"  # the common prefix first
        await pilot.press("tab")
        await pilot.pause()
        assert listed(app) == ["appleOne", "appleThree", "appleTwo"]
        await pilot.press(*"T")
        await pilot.pause()
        assert listed(app) == ["appleThree", "appleTwo"]
        # Up/Down move in the list, not through the history
        await pilot.press("down")
        assert screen.editor.text == "appleT"
        assert menu_of(app).highlighted_item() == Completion("appleTwo", "declared")
        await pilot.press("tab")
        await pilot.pause()
        assert screen.editor.text == "appleTwo"
        assert not menu_of(app).is_open


async def test_escape_closes_the_list_and_keeps_the_text(pool_settings) -> None:
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"Math.m", "tab")
        await settle(pilot)
        assert listed(app) == ["max", "min"]
        await pilot.press("escape")
        await pilot.pause()
        assert not menu_of(app).is_open
        assert screen.editor.text == "Math.m" and screen.editor.has_focus
        # the letters typed after Escape are text, not commands
        await pilot.press(*"in")
        await pilot.pause()
        assert screen.editor.text == "Math.min"
        assert not menu_of(app).is_open


async def test_the_list_closes_when_nothing_matches_or_the_word_ends(pool_settings) -> None:
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"Math.m", "tab")
        await settle(pilot)
        assert menu_of(app).is_open
        await pilot.press(*"q")
        await pilot.pause()
        assert not menu_of(app).is_open
        assert screen.editor.text == "Math.mq"
        screen.editor.load_text("Math.m")
        screen.editor.move_cursor(screen.editor.document.end)
        await pilot.press("tab")
        await settle(pilot)
        assert menu_of(app).is_open
        await pilot.press(*"ax(")  # `max` typed in full, then a call: the list is done
        await pilot.pause()
        assert not menu_of(app).is_open
        assert screen.editor.text == "Math.max("


async def test_load_completes_a_local_file(pool_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo-script.js").write_text("1 + 1\n")
    (tmp_path / "data dir").mkdir()
    monkeypatch.chdir(tmp_path)
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*".load de", "tab")
        await settle(pilot)
        assert screen.editor.text == ".load demo-script.js"
        screen.editor.load_text(".load ")
        screen.editor.move_cursor(screen.editor.document.end)
        await pilot.press("tab")
        await settle(pilot)
        assert listed(app) == ['"data dir/', "demo-script.js"]
        assert [item.label for item in menu_of(app).items] == ["data dir/", "demo-script.js"]
        await pilot.press("d", "a")
        await pilot.pause()
        assert listed(app) == ['"data dir/']
        await pilot.press("enter")
        await pilot.pause()
        assert screen.editor.text == '.load "data dir/'
        assert not screen.engine.cooldown.started  # local paths ask nothing of the session


async def test_tab_in_a_string_indents_and_asks_nothing(pool_settings) -> None:
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"'text Math.", "tab")
        await settle(pilot)
        assert screen.editor.text.startswith("'text Math.") and screen.editor.text.endswith(" ")
        assert listed(app) == []
        assert not screen.engine.cooldown.started


async def test_keys_typed_while_the_session_answers_are_kept(pool_settings, local_pool, tmp_path: Path) -> None:
    """The probe is held at the pool (behind an execution sent around the
    engine) until the test releases it: the keys typed meanwhile are in the
    editor, and the late answer opens the list filtered for them."""
    import asyncio

    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        engine = screen.engine
        await run_code(pilot, "const shelf = { apple: 1, apricot: 2, avocado: 3, banana: 4 }")
        session = local_pool.pool.get(engine.identifier)
        hold = asyncio.create_task(
            engine.client.execute(
                "const fs = require('fs'); const t0 = Date.now();"
                " while (!fs.existsSync('/mnt/data/go') && Date.now() - t0 < 20000) {}",
                identifier=engine.identifier,
                timeout=30,
            )
        )
        while session.pending < 1:
            await asyncio.sleep(0.01)
        await pilot.press(*"shelf.a", "tab")
        while session.pending < 2:  # the probe is queued behind the held execution
            await asyncio.sleep(0.01)
        await pilot.press(*"pr")
        assert screen.editor.text == "shelf.apr"
        assert screen.completion.pending and listed(app) == []
        go = tmp_path / "go"
        go.write_text("")
        await engine.client.upload(engine.identifier, go, name="go")
        await hold
        await settle(pilot)
        assert screen.editor.text == "shelf.apr"  # nothing inserted behind the user's back
        assert listed(app) == ["apricot"]
        await pilot.press("enter")
        await pilot.pause()
        assert screen.editor.text == "shelf.apricot"
