"""History browser and search (Ctrl+R / F2): a filter box, the matching entries
(newest first, one per distinct block) and a preview; Enter re-inserts the
entry into the editor, Escape closes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from repl.history import History, HistoryEntry
from repl.vocabulary import status_words

MAX_SHOWN = 500


def _first_line(code: str, width: int = 60) -> str:
    line = code.strip().split("\n", 1)[0]
    more = "\n" in code.strip()
    if len(line) > width:
        line = line[: width - 1] + "…"
    return line + (" ⏎…" if more else "")


#: severity (repl.vocabulary) -> the mark's colour
SEVERITY_COLOUR = {"ok": "green", "failed": "red", "service": "yellow", "abandoned": "yellow", "pending": "default"}


def entry_label(entry: HistoryEntry) -> Text:
    """One line per entry, never wrapped: status mark, time, then the code's
    first line (cut with an ellipsis where the list is narrow)."""
    label = Text(no_wrap=True, overflow="ellipsis", end="")
    if entry.status:
        words = status_words(entry.status)
        mark, colour = words.glyph, SEVERITY_COLOUR[words.severity]
    else:
        mark, colour = "·", "default"
    label.append(f"{mark} ", style=colour)
    when = entry.timestamp
    if when is not None:
        when = when.astimezone()
        today = when.date() == datetime.now().astimezone().date()
        label.append(when.strftime("%H:%M" if today else "%m-%d %H:%M") + "  ", style="dim")
    label.append(_first_line(entry.code, 200))
    return label


class HistoryScreen(ModalScreen[str | None]):
    HELP = """\
## History

Type to filter (case-insensitive substring), **Up/Down** to choose,
**Enter** to put the entry into the editor, **Escape** to close.
"""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Close", id="history.close"),
        Binding("down", "move(1)", "Next", show=False, id="history.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="history.previous"),
        Binding("ctrl+r", "move(1)", "Older match", show=False, id="history.older"),
    ]

    def __init__(
        self, history: History, *, query: str = "", highlight: Callable[[str], Text] | None = None
    ) -> None:
        super().__init__()
        self.history = history
        self.initial_query = query
        self._highlight = highlight
        self._entries: list[HistoryEntry] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog"):
            yield Label("History — type to search, Enter inserts, Esc closes", id="history-title")
            yield Input(value=self.initial_query, placeholder="search history", id="history-search")
            with Horizontal(id="history-body"):
                yield OptionList(id="history-list")
                yield Static(id="history-preview")

    def on_mount(self) -> None:
        self._filter(self.initial_query)
        self.query_one("#history-search", Input).focus()

    def _filter(self, text: str) -> None:
        try:
            entries = self.history.search(text)[:MAX_SHOWN]
        except Exception as exc:  # unreadable file: say so, keep the app
            entries = []
            self.notify(f"Cannot read history: {exc}", severity="error")
        self._entries = entries
        options = []
        for entry in entries:
            options.append(Option(entry_label(entry)))
        ol = self.query_one("#history-list", OptionList)
        ol.clear_options()
        ol.add_options(options)
        if options:
            ol.highlighted = 0
        self._preview(0 if options else None)

    def _preview(self, index: int | None) -> None:
        preview = self.query_one("#history-preview", Static)
        if index is None or index >= len(self._entries):
            preview.update(Text("no matching entries", style="dim italic"))
            return
        code = self._entries[index].code
        preview.update(self._highlight(code) if self._highlight else Text(code))

    @property
    def selected_code(self) -> str | None:
        ol = self.query_one("#history-list", OptionList)
        if ol.highlighted is None or ol.highlighted >= len(self._entries):
            return None
        return self._entries[ol.highlighted].code

    def on_input_changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self.selected_code)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._preview(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._entries[event.option_index].code)

    def action_move(self, step: int) -> None:
        ol = self.query_one("#history-list", OptionList)
        if not self._entries:
            return
        current = ol.highlighted if ol.highlighted is not None else -1
        ol.highlighted = max(0, min(len(self._entries) - 1, current + step))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
