"""The shared key-sequence table (tests/key_sequences.py) through Pilot."""

from __future__ import annotations

import pytest
from textual import events

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


@pytest.mark.parametrize("run_key", ["alt+enter", "ctrl+j", "ctrl+enter"])
async def test_keys_that_arrive_at_once_are_taken_in_order(run_key: str, pool_settings) -> None:
    """One terminal read can hold a whole line and then Alt+Enter: the app gets
    the keys before the editor has taken the first ones. The run key must run
    all that was typed before it (a priority binding ran what the editor held
    then: "fu" of "function g() {", the rest left in the editor)."""
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        engine = screen.engine
        typed = "21 * 2 // all of it"
        for ch in typed:  # as the driver posts them, without waiting in between
            app.post_message(events.Key("space" if ch == " " else ch, ch))
        app.post_message(events.Key(run_key, None))
        await until(pilot, lambda: any(not c.running for c in engine.transcript), "the run")
        await settle(pilot)
        cells = list(engine.transcript)
        assert [c.code for c in cells] == [typed]
        assert cells[0].execution is not None and cells[0].execution.value_text == "42"
        assert screen.editor.text == ""


def _arriving(*items: str) -> list[events.Event]:
    """Events as one terminal read brings them: ``"paste:..."`` a paste, else a key."""
    made: list[events.Event] = []
    for item in items:
        if item.startswith("paste:"):
            made.append(events.Paste(item.removeprefix("paste:")))
        else:
            made.append(events.Key(item, item if len(item) == 1 else None))
    return made


@pytest.mark.parametrize(
    ("arriving", "left"),
    [
        (("a", "b", "left", "ctrl+d"), "a"),  # Ctrl+D exits on an empty editor: here it deletes
        (("paste:const pasted = 1", "x", "ctrl+c"), ""),  # Ctrl+C clears the paste too
    ],
    ids=["ctrl+d-deletes-what-came-before", "ctrl+c-clears-a-paste-that-came-before"],
)
async def test_a_key_that_arrives_with_what_came_before_it_sees_it(arriving, left: str, pool_settings) -> None:
    app = AcajsApp(pool_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        for event in _arriving(*arriving):  # as the driver posts them, without waiting in between
            app.post_message(event)
        await settle(pilot)
        assert app.is_running
        assert screen.editor.text == left
