"""The transcript: cells, newest at the bottom, pinned to the bottom unless the
user scrolled up (Textual's scroll anchor)."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.visual import VisualType
from textual.widgets import Static

from repl.tui.widgets.cell import CellView


class TranscriptView(VerticalScroll, can_focus=False):
    HELP = """\
## Transcript

One cell per execution, newest at the bottom. The view follows new output
unless you scroll up; scroll back to the bottom to follow again.
Click a cell (or Shift+Tab from the editor) to focus it, then use its keys.
"""

    def on_mount(self) -> None:
        self.anchor()

    def cells(self) -> list[CellView]:
        return list(self.query_children(CellView))

    def add_cell(self, view: CellView) -> CellView:
        self.mount(view)
        return view

    def add_note(self, text: VisualType, classes: str = "note") -> Static:
        note = Static(text, classes=classes)
        self.mount(note)
        return note

    def clear(self, keep: set[str] | None = None) -> None:
        """Remove every cell and note, except the cells whose ids are in ``keep``
        (a running or queued cell survives Ctrl+L and shows its result)."""
        keep = keep or set()
        self.remove_children([child for child in self.children if child.id not in keep])
