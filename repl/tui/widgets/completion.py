"""The completion list of the Textual editor: a view, never focused.

``CompletionList`` is an :class:`~textual.widgets.OptionList` drawn as an
overlay (it floats above the other widgets and never changes the layout). It
shows a :class:`repl.js.completion.Completions` result, one row per candidate
with its kind (keyword, global, declared, property, command, directory, file)
dimmed on the right.

It cannot take the focus: the input editor keeps it, so no key typed while the
list is open is lost. :class:`repl.tui.completer.CompletionController` drives
it from the editor's keys (Up/Down/Page Up/Page Down move, Enter/Tab choose,
Escape closes; any other key edits the input and the list re-filters). A click
on a row calls ``on_choose``.

``BINDINGS`` only declare the ids of its keys (``completion.choose``,
``completion.close``) so they can be remapped in the config's ``[keys]``
table; the controller reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
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


class CompletionList(OptionList, can_focus=False):
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
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,tab", "choose", "Choose", show=False, id="completion.choose"),
        Binding("escape", "dismiss", "Close", show=False, id="completion.close"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.completions: Completions | None = None
        self.on_choose: Callable[[Completion], None] | None = None

    # ------------------------------------------------------------------ api
    @property
    def is_open(self) -> bool:
        return bool(self.display)

    @property
    def items(self) -> list[Completion]:
        return list(self.completions.items) if self.completions is not None else []

    def show_completions(self, completions: Completions, *, at: tuple[int, int] | None = None) -> None:
        """Fill the list and open it (at screen offset ``at``); empty results close it.

        The highlighted candidate stays highlighted when it is still listed."""
        previous = self.highlighted_item() if self.is_open else None
        self.completions = completions
        self.clear_options()
        if not completions.items:
            self.close()
            return
        width = max(len(c.label) + len(c.kind) + 3 for c in completions.items)
        options = []
        for i, item in enumerate(completions.items):
            label = Text(item.label)
            label.append(" " * (width - len(item.label) - len(item.kind)))
            label.append(item.kind, style="dim")
            options.append(Option(label, id=str(i)))
        self.add_options(options)
        self.styles.max_height = min(len(options), MAX_ROWS) + 2
        if at is not None:
            self.styles.offset = (max(0, at[0]), max(0, at[1]))
        self.display = True
        keep = completions.items.index(previous) if previous in completions.items else 0
        self.highlighted = keep

    def close(self) -> None:
        self.display = False
        self.completions = None

    def highlighted_item(self) -> Completion | None:
        if self.highlighted is None or self.completions is None:
            return None
        if not 0 <= self.highlighted < len(self.completions.items):
            return None
        return self.completions.items[self.highlighted]

    def move(self, step: int) -> None:
        """Move the highlight by ``step`` rows: by one it wraps around, by a
        page it stops at the first or last row."""
        count = self.option_count
        if not count:
            return
        current = self.highlighted or 0
        if abs(step) == 1:
            self.highlighted = (current + step) % count
        else:
            self.highlighted = max(0, min(count - 1, current + step))

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # A click selects a row.
        event.stop()
        if self.completions is None or event.option.id is None or self.on_choose is None:
            return
        self.on_choose(self.completions.items[int(event.option.id)])
