"""A completion dropdown for the Textual editor.

``CompletionList`` is an :class:`~textual.widgets.OptionList` drawn as an
overlay (it floats above the other widgets and never changes the layout).  It
shows a :class:`repl.js.completion.Completions` result, one row per candidate
with its kind (keyword, global, declared, property) dimmed on the right.

How to wire it (the screen that owns the ``InputEditor``)::

    from repl.tui.widgets.completion import CompletionList, apply_completion

    # compose(): yield it once, hidden, next to the editor
    yield CompletionList(id="completions")

    # after `await complete(engine, source, cursor)` returned `result`:
    menu = self.query_one(CompletionList)
    if len(result.items) == 1:                 # a single candidate: insert at once
        text, cursor = apply_completion(source, cursor, result, result.items[0])
        ...
    else:
        x, y = editor.cursor_screen_offset     # place it under the cursor
        menu.show_completions(source, cursor, result, at=(x, y + 1))
        # menu has the focus now: Up/Down move, Enter/Tab choose, Escape closes

    # handle what the user chose
    def on_completion_list_chosen(self, event: CompletionList.Chosen) -> None:
        editor.text = event.text                # or replace only the word:
        # editor.replace(event.item.text, start_location, end_location)
        editor.move_cursor(location_of(event.cursor))
        editor.focus()

    def on_completion_list_dismissed(self, event: CompletionList.Dismissed) -> None:
        editor.focus()

``Chosen`` carries the full new text and cursor (``apply_completion``), plus
``start``/``end`` (the character range of the typed word to replace) and the
chosen :class:`~repl.js.completion.Completion`.  The list hides itself on
choosing, on Escape and when it loses the focus; typing a printable key while
it is open closes it and hands the key back (``Dismissed.key``) so the editor
can insert it.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from repl.js.completion import Completion, Completions

__all__ = ["CompletionList", "apply_completion"]

MAX_ROWS = 10


def apply_completion(source: str, cursor: int, completions: Completions, item: Completion) -> tuple[str, int]:
    """The text after replacing the typed word with ``item``, and the new cursor."""
    start = max(0, min(completions.start, cursor))
    text = source[:start] + item.text + source[cursor:]
    return text, start + len(item.text)


class CompletionList(OptionList):
    """An overlay list of completion candidates (see the module docstring)."""

    DEFAULT_CSS = """
    CompletionList {
        overlay: screen;
        constrain: inside inside;
        display: none;
        width: auto;
        min-width: 16;
        max-width: 60;
        height: auto;
        max-height: 12;
        border: round $accent;
        background: $surface;
        padding: 0;
    }
    CompletionList:focus {
        border: round $accent;
    }
    """

    BINDINGS = [
        Binding("enter,tab", "choose", "Choose", show=False, id="completion.choose"),
        Binding("escape", "dismiss", "Close", show=False, id="completion.close"),
    ]

    class Chosen(Message):
        """The user chose ``item``: the editor becomes ``text`` with the cursor at ``cursor``."""

        def __init__(self, menu: CompletionList, item: Completion, text: str, cursor: int, start: int, end: int) -> None:
            super().__init__()
            self.menu = menu
            self.item = item
            self.text = text
            self.cursor = cursor
            self.start = start
            self.end = end

        @property
        def control(self) -> CompletionList:
            return self.menu

    class Dismissed(Message):
        """Closed without a choice; ``key`` is a printable key to hand back to the editor."""

        def __init__(self, menu: CompletionList, key: str | None = None) -> None:
            super().__init__()
            self.menu = menu
            self.key = key

        @property
        def control(self) -> CompletionList:
            return self.menu

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.source = ""
        self.cursor = 0
        self.completions: Completions | None = None

    # ------------------------------------------------------------------ api
    @property
    def is_open(self) -> bool:
        return self.display

    @property
    def items(self) -> list[Completion]:
        return list(self.completions.items) if self.completions is not None else []

    def show_completions(
        self,
        source: str,
        cursor: int,
        completions: Completions,
        *,
        at: tuple[int, int] | None = None,
        focus: bool = True,
    ) -> None:
        """Fill the list and open it (at screen offset ``at``); empty results close it."""
        self.source = source
        self.cursor = cursor
        self.completions = completions
        self.clear_options()
        if not completions.items:
            self.close()
            return
        width = max(len(c.text) + len(c.kind) + 3 for c in completions.items)
        options = []
        for i, item in enumerate(completions.items):
            label = Text(item.text)
            label.append(" " * (width - len(item.text) - len(item.kind)))
            label.append(item.kind, style="dim")
            options.append(Option(label, id=str(i)))
        self.add_options(options)
        self.styles.max_height = min(len(options), MAX_ROWS) + 2
        if at is not None:
            self.styles.offset = (max(0, at[0]), max(0, at[1]))
        self.display = True
        self.highlighted = 0
        if focus:
            self.focus()

    def close(self) -> None:
        self.display = False

    def highlighted_item(self) -> Completion | None:
        if self.highlighted is None or self.completions is None:
            return None
        return self.completions.items[self.highlighted]

    # ------------------------------------------------------------------ actions
    def action_choose(self) -> None:
        item = self.highlighted_item()
        if item is None:
            self.action_dismiss()
            return
        self._choose(item)

    def action_dismiss(self) -> None:
        self.close()
        self.post_message(self.Dismissed(self))

    def _choose(self, item: Completion) -> None:
        assert self.completions is not None
        text, cursor = apply_completion(self.source, self.cursor, self.completions, item)
        start = max(0, min(self.completions.start, self.cursor))
        self.close()
        self.post_message(self.Chosen(self, item, text, cursor, start, self.cursor))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # A click (or OptionList's own Enter handling) selects a row.
        event.stop()
        if self.completions is not None and event.option.id is not None:
            self._choose(self.completions.items[int(event.option.id)])

    def on_key(self, event: events.Key) -> None:
        if self.display and event.is_printable and event.character is not None:
            event.stop()
            event.prevent_default()
            self.close()
            self.post_message(self.Dismissed(self, event.character))

    def on_blur(self, _event: events.Blur) -> None:
        if self.display:
            self.close()
