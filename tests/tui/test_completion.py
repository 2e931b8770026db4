"""The Textual completion dropdown, driven by Pilot in a minimal app whose
candidates come from the real completion core and a real local pool."""

from __future__ import annotations


from textual.app import App, ComposeResult
from textual.widgets import TextArea

from repl.js.completion import Completion, Completions, complete
from repl.tui.widgets.completion import CompletionList, apply_completion


class MiniApp(App):
    """An editor and the dropdown, wired the way the module docstring says."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.chosen: list[CompletionList.Chosen] = []
        self.dismissed: list[CompletionList.Dismissed] = []

    def compose(self) -> ComposeResult:
        yield TextArea(id="editor")
        yield CompletionList(id="completions")

    async def open_completions(self) -> Completions:
        editor = self.query_one(TextArea)
        row, col = editor.cursor_location
        lines = editor.text.split("\n")
        cursor = sum(len(line) + 1 for line in lines[:row]) + col
        result = await complete(self.engine, editor.text, cursor, timeout=10)
        x, y = editor.cursor_screen_offset
        self.query_one(CompletionList).show_completions(editor.text, cursor, result, at=(x, y + 1))
        return result

    def on_completion_list_chosen(self, event: CompletionList.Chosen) -> None:
        self.chosen.append(event)
        editor = self.query_one(TextArea)
        editor.text = event.text
        editor.move_cursor((0, event.cursor))
        editor.focus()

    def on_completion_list_dismissed(self, event: CompletionList.Dismissed) -> None:
        self.dismissed.append(event)
        editor = self.query_one(TextArea)
        editor.focus()
        if event.key:
            editor.insert(event.key)


def test_apply_completion_replaces_the_typed_word() -> None:
    result = Completions(5, [Completion("floor", "property")])
    assert apply_completion("Math.fl + 1", 7, result, result.items[0]) == ("Math.floor + 1", 10)


async def test_dropdown_lists_session_properties_and_enter_inserts(engine) -> None:
    cell = await engine.run("const tuiObject = { alpha: 1, alpine: 2, beta: 3 }")
    assert cell.ok
    app = MiniApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.query_one(TextArea)
        editor.text = "tuiObject.al"
        editor.move_cursor((0, 12))
        result = await app.open_completions()
        await pilot.pause()
        menu = app.query_one(CompletionList)
        assert result.texts == ["alpha", "alpine"]
        assert menu.is_open and menu.has_focus
        assert menu.option_count == 2
        assert "property" in str(menu.get_option_at_index(0).prompt)
        # the overlay sits below the cursor, not in the layout flow
        assert menu.region.y >= editor.cursor_screen_offset[1] + 1
        await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert not menu.is_open
        assert [e.item.text for e in app.chosen] == ["alpine"]
        assert editor.text == "tuiObject.alpine"
        assert app.chosen[0].start == 10 and app.chosen[0].end == 12
        assert editor.has_focus


async def test_tab_chooses_and_escape_or_typing_dismisses(engine) -> None:
    app = MiniApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.query_one(TextArea)
        menu = app.query_one(CompletionList)
        editor.text = "Math.m"
        editor.move_cursor((0, 6))
        result = await app.open_completions()
        await pilot.pause()
        assert result.texts == ["max", "min"]
        await pilot.press("tab")
        await pilot.pause()
        assert editor.text == "Math.max"

        editor.text = "Math.m"
        editor.move_cursor((0, 6))
        await app.open_completions()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not menu.is_open and app.dismissed[-1].key is None
        assert editor.text == "Math.m" and editor.has_focus

        await app.open_completions()
        await pilot.pause()
        assert menu.is_open
        await pilot.press("i")
        await pilot.pause()
        assert not menu.is_open
        assert app.dismissed[-1].key == "i"
        assert editor.text == "Math.mi"  # the key went back to the editor


async def test_empty_result_keeps_the_dropdown_closed(engine) -> None:
    app = MiniApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.query_one(TextArea)
        editor.text = "'inside a string Math."
        editor.move_cursor((0, len(editor.text)))
        result = await app.open_completions()
        await pilot.pause()
        assert result.items == []
        assert not app.query_one(CompletionList).is_open
        assert not engine.cooldown.started  # nothing was asked of the session
