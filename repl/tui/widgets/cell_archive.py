"""Finished cells far above the viewport, drawn by one widget.

A long session would otherwise keep one widget per cell: every layout walks
them all and the cyclic GC traverses their objects. The transcript
(:mod:`repl.tui.widgets.transcript`) folds a bounded number of finished cells
and notes into a :class:`CellArchive`, which draws them with the renderer of a
live cell (:mod:`repl.tui.widgets.cell_render`): same parts, same colours,
same gaps, so scrolling up shows every cell as it was.

An archive keeps its entries' *data*, not their drawing: it draws line by
line (Textual's line API), renders an entry when one of its lines is shown
and keeps only the last :data:`DRAWN_ENTRIES` entries drawn. Whole rendered
transcripts held as strips were most of the objects the cyclic GC had to
traverse in a long session. A click on an archive
(or Up from the first live cell) asks the transcript to revive it: its cells
become :class:`~repl.tui.widgets.cell.CellView` again (same ids), focusable,
with copy, pager, save and re-insert.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.styled import Styled
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
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
#: entries whose drawing (parts and lines) an archive keeps (about a screen's worth)
DRAWN_ENTRIES = 12


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
        #: how many entries are cells, kept with ``entries``: the transcript and
        #: its callers count cells at every run, and an archive can hold a thousand
        self._cells = _cells_in(entries)
        #: entry index -> its parts under the head (code first), built with ``_styles``;
        #: seeded by the views it replaces, then only the entries drawn last
        self._parts: OrderedDict[int, list[Part]] = OrderedDict(parts or {})
        self._styles = styles
        #: entry index -> its lines at ``_width``, the entries drawn last
        self._lines: OrderedDict[int, list[Strip]] = OrderedDict()
        self._width = -1
        #: first line of each entry, and the total, at ``_width``
        self._starts: list[int] = []

    @classmethod
    def of(cls, items: list[CellView | NoteRecord]) -> CellArchive:
        """An archive of live views (their drawn parts reused) and notes."""
        archive = cls([])
        archive.extend(items)
        return archive

    def extend(self, items: list[CellView | NoteRecord]) -> None:
        """Take more views (their drawn parts reused) and notes, at the end."""
        from repl.tui.widgets.cell import CellView

        for item in items:
            i = len(self.entries)
            if isinstance(item, CellView):
                self.entries.append(item.record)
                self._cells += 1
                drawn = item.drawn_parts()
                if drawn is not None:
                    if self._styles is None:
                        self._styles = drawn[0]
                    if drawn[0] == self._styles:
                        self._parts[i] = drawn[1]
            else:
                self.entries.append(item)
        self._lay_out_new()
        self.refresh(layout=True)

    def _lay_out_new(self) -> None:
        """Line counts for the entries added since the last layout (if there was one)."""
        if self._starts:
            for i in range(len(self._starts) - 1, len(self.entries)):
                self._starts.append(self._starts[-1] + len(self._draw(i, self._width)))

    def absorb(self, other: CellArchive) -> None:
        """Take every entry of ``other`` (the archive right below) at the end. The
        line counts already known are kept: nothing is drawn again to merge."""
        self.entries.extend(other.entries)
        self._cells += other._cells
        if self._starts and other._starts and other._width == self._width:
            total = self._starts[-1]
            self._starts.extend(total + start for start in other._starts[1:])
        else:
            self._lay_out_new()
        self.refresh(layout=True)

    def split(self, start: int, stop: int) -> tuple[list[Entry], CellArchive | None]:
        """Take out entries ``start:stop`` (to make them live again): this archive
        keeps the entries before them, the entries after go into a new archive
        (returned, to be mounted right after them), their line counts kept."""
        taken = self.entries[start:stop]
        after: CellArchive | None = None
        if stop < len(self.entries):
            after = CellArchive(self.entries[stop:], styles=self._styles)
            if self._starts:
                base = self._starts[stop]
                after._starts = [line - base for line in self._starts[stop:]]
                after._width = self._width
        self.entries = self.entries[:start]
        self._cells = _cells_in(self.entries)
        if self._starts:
            self._starts = self._starts[: start + 1]
        for cache in (self._parts, self._lines):
            for i in [i for i in cache if i >= start]:
                del cache[i]
        self.refresh(layout=True)
        return taken, after

    def records(self) -> list[CellRecord]:
        return [e for e in self.entries if isinstance(e, CellRecord)]

    @property
    def cell_count(self) -> int:
        return self._cells

    def rerender(self) -> None:
        """Presenter mode or the syntax theme changed: draw every entry again."""
        self._forget()
        self.refresh(layout=True)

    rehighlight = rerender

    def forget_drawing(self) -> None:
        """Far from the view: keep the entries' data only (their lines, and
        Textual's cache of this widget's lines, go)."""
        self._parts.clear()
        self._lines.clear()
        self.refresh()

    def _forget(self) -> None:
        self._parts.clear()
        self._lines.clear()
        self._width = -1
        self._starts = []

    # ------------------------------------------------------------ parts
    def entry_parts(self, i: int) -> list[Part]:
        """Entry ``i`` (a cell) as drawn, head first."""
        styles = self._palette()
        rec = self.entries[i]
        assert isinstance(rec, CellRecord)
        return [head_part(rec, styles), *self._body(i, rec, styles)]

    def _palette(self) -> dict[str, Style]:
        source: Any = self.parent
        styles = source.cell_palette() if hasattr(source, "cell_palette") else default_palette()
        if styles != self._styles:  # a theme switch: colours change, lines do not move
            self._styles = styles
            self._parts.clear()
            self._lines.clear()
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
        else:
            self._parts.move_to_end(i)
        while len(self._parts) > DRAWN_ENTRIES:
            self._parts.popitem(last=False)
        return body

    def _renderable(self, i: int, styles: dict[str, Style]) -> RenderableType:
        """Entry ``i`` as drawn, with the empty line a live one has under it."""
        entry = self.entries[i]
        meta = Style(meta={ENTRY_META: i})
        if isinstance(entry, CellRecord):
            parts = [head_part(entry, styles), *self._body(i, entry, styles)]
            return Group(Styled(cell_block(entry, parts, styles), meta), Text(""))
        note = Styled(note_renderable(entry, styles), meta)
        return Group(note, Text("")) if note_gap(entry) else note

    # ------------------------------------------------------------ lines
    def _draw(self, i: int, width: int) -> list[Strip]:
        lines = self._lines.get(i)
        if lines is not None:
            self._lines.move_to_end(i)
            return lines
        styles = self._palette()
        app = self.app
        options = app.console_options.update(highlight=False, width=width, height=None)
        renderable = self.post_render(self._renderable(i, styles), self.visual_style.rich_style)
        segments = app.console.render(renderable, options)
        lines = [Strip(line) for line in Segment.split_and_crop_lines(segments, width, include_new_lines=False,
                                                                      pad=False)]
        self._lines[i] = lines
        while len(self._lines) > DRAWN_ENTRIES:
            self._lines.popitem(last=False)
        return lines

    def _layout(self, width: int) -> list[int]:
        """The first line of every entry at ``width``, then the total."""
        if width != self._width or not self._starts:
            self._lines.clear()
            heights = [len(self._draw(i, width)) for i in range(len(self.entries))]
            self._width = width
            self._starts = [0, *accumulate(heights)]
        return self._starts

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._layout(width)[-1]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        starts = self._layout(width)
        i = bisect_right(starts, y) - 1
        if not 0 <= i < len(self.entries):
            return Strip.blank(width)
        lines = self._draw(i, width)
        offset = y - starts[i]
        return lines[offset] if offset < len(lines) else Strip.blank(width)

    def on_unmount(self) -> None:
        self.forget_drawing()  # see CellView.on_unmount

    def on_click(self, event: events.Click) -> None:
        event.stop()
        entry = event.style.meta.get(ENTRY_META) if event.style else None
        self.post_message(self.Revive(self, entry if isinstance(entry, int) else None))


def _cells_in(entries: list[Entry]) -> int:
    return sum(1 for e in entries if isinstance(e, CellRecord))
