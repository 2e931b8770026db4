"""Finished cells far above the viewport, drawn by one widget.

A long session would otherwise keep one widget per cell: every layout walks
them all and the cyclic GC traverses their objects. The transcript
(:mod:`repl.tui.widgets.transcript`) folds a bounded number of finished cells
and notes into a :class:`CellArchive`, which draws them with the renderer of a
live cell (:mod:`repl.tui.widgets.cell_render`): same parts, same colours,
same gaps, so scrolling up shows every cell as it was. A click on an archive
(or Up from the first live cell) asks the transcript to revive it: its cells
become :class:`~repl.tui.widgets.cell.CellView` again (same ids), focusable,
with copy, pager, save and re-insert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.styled import Styled
from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.message import Message
from textual.widget import Widget

from repl.tui.app import acajs_app
from repl.tui.widgets.cell_render import (
    CellRecord,
    NoteRecord,
    Part,
    cell_block,
    code_text,
    default_palette,
    drawing_error_text,
    head_part,
    note_gap,
    note_renderable,
    result_parts,
)

if TYPE_CHECKING:
    from repl.tui.widgets.cell import CellView

Entry = CellRecord | NoteRecord

#: the meta key on an archived entry's lines: which entry a click hit
ENTRY_META = "archive_entry"


class CellArchive(Widget):
    """Archived cells and notes, oldest first; never focused, revived on click."""

    DEFAULT_CSS = """
    CellArchive { height: auto; }
    """

    class Revive(Message):
        """Make the archive's cells live again; focus entry ``entry`` (a cell) if given."""

        def __init__(self, archive: CellArchive, entry: int | None) -> None:
            super().__init__()
            self.archive = archive
            self.entry = entry

    def __init__(self, entries: list[Entry], *, parts: dict[int, list[Part]] | None = None,
                 styles: dict[str, Style] | None = None) -> None:
        super().__init__(classes="cell cell-archive")
        self.entries = entries
        #: entry index -> its parts under the head (code first), built with ``_styles``
        self._parts: dict[int, list[Part]] = dict(parts or {})
        self._styles = styles

    @classmethod
    def of(cls, items: list[CellView | NoteRecord]) -> CellArchive:
        """An archive of live views (their drawn parts reused) and notes."""
        from repl.tui.widgets.cell import CellView

        entries: list[Entry] = []
        parts: dict[int, list[Part]] = {}
        styles: dict[str, Style] | None = None
        for i, item in enumerate(items):
            if isinstance(item, CellView):
                entries.append(item.record)
                drawn = item.drawn_parts()
                if drawn is not None:
                    if styles is None:
                        styles = drawn[0]
                    if drawn[0] == styles:
                        parts[i] = drawn[1]
            else:
                entries.append(item)
        return cls(entries, parts=parts, styles=styles)

    def records(self) -> list[CellRecord]:
        return [e for e in self.entries if isinstance(e, CellRecord)]

    @property
    def cell_count(self) -> int:
        return sum(1 for e in self.entries if isinstance(e, CellRecord))

    def rerender(self) -> None:
        """Presenter mode or the syntax theme changed: draw every entry again."""
        self._parts.clear()
        self.refresh(layout=True)

    rehighlight = rerender

    def entry_parts(self, i: int) -> list[Part]:
        """Entry ``i`` (a cell) as drawn, head first."""
        styles = self._palette()
        rec = self.entries[i]
        assert isinstance(rec, CellRecord)
        return [head_part(rec, styles), *self._body(i, rec, styles)]

    def _palette(self) -> dict[str, Style]:
        source: Any = self.parent
        styles = source.cell_palette() if hasattr(source, "cell_palette") else default_palette()
        if styles != self._styles:
            self._styles = styles
            self._parts.clear()
        return styles

    def _body(self, i: int, rec: CellRecord, styles: dict[str, Style]) -> list[Part]:
        body = self._parts.get(i)
        if body is None:
            app = acajs_app(self.app)
            from repl.tui.widgets.cell import highlighter

            highlight = highlighter(self.app)
            code = Part("code", code_text(rec.code, app.shown, highlight))
            try:
                results = result_parts(rec, styles, app.shown, highlight)
            except Exception as exc:  # noqa: BLE001 - one cell's drawing must never end the app
                rec.draw_error = drawing_error_text(exc)
                results = [Part("draw-error", Text(rec.draw_error))]
            body = self._parts[i] = [code, *results]
        return body

    def render(self) -> RenderResult:
        styles = self._palette()
        blocks: list[RenderableType] = []
        for i, entry in enumerate(self.entries):
            meta = Style(meta={ENTRY_META: i})
            if isinstance(entry, CellRecord):
                parts = [head_part(entry, styles), *self._body(i, entry, styles)]
                blocks.append(Styled(cell_block(entry, parts, styles), meta))
                blocks.append(Text(""))  # the margin under a live cell
            else:
                blocks.append(Styled(note_renderable(entry, styles), meta))
                if note_gap(entry):
                    blocks.append(Text(""))
        return Group(*blocks)

    def on_click(self, event: events.Click) -> None:
        event.stop()
        entry = event.style.meta.get(ENTRY_META) if event.style else None
        self.post_message(self.Revive(self, entry if isinstance(entry, int) else None))
