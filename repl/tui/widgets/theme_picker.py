"""Switch theme with a live preview: moving through the list applies each
theme; Enter keeps it, Escape restores the previous one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class ThemePicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "revert", "Cancel", id="theme.cancel")]

    def __init__(self, names: list[str], current: str) -> None:
        super().__init__()
        self.names = names
        self.original = current

    def compose(self) -> ComposeResult:
        with Vertical(id="theme-dialog"):
            yield Label("Theme — Up/Down previews, Enter keeps, Esc reverts", id="theme-title")
            yield OptionList(*[Option(n, id=n) for n in self.names], id="theme-list")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        if self.original in self.names:
            ol.highlighted = self.names.index(self.original)
        ol.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name and self.app.theme != name:
            self.app.theme = name

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_revert(self) -> None:
        if self.app.theme != self.original:
            self.app.theme = self.original
        self.dismiss(None)
