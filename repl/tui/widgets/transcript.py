"""The transcript: cells, newest at the bottom, pinned to the bottom unless the
user scrolled up (Textual's scroll anchor).

Its cost stays flat however long the session: after a cell settles (and after
the next paint, never between Enter and the request) finished cells and notes
more than a screen above the visible range are folded, :data:`ARCHIVE_STEP`
cells per step, into :class:`~repl.tui.widgets.cell_archive.CellArchive`s of
up to :data:`ARCHIVE_CHUNK` cells that draw them the same way; beyond
:data:`MAX_ARCHIVES` archives the two oldest neighbours are merged, so a
layout walks about as many widgets at 1,000 cells as at 200. Running and
queued cells, and the focused one, are never archived. A click on an
archive, or Up / Down from the nearest live cell, revives the
:data:`ARCHIVE_CHUNK` entries around it (the rest stays archived).
"""

from __future__ import annotations

from typing import ClassVar
from weakref import WeakSet

from rich.console import ConsoleRenderable
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Static

from repl.tui import collector
from repl.tui.widgets.cell import CellView
from repl.tui.widgets.cell_archive import CellArchive
from repl.tui.widgets.cell_render import COMPONENTS, CellRecord, NoteRecord, palette

#: cells per archive while it is filled, and entries revived at a time
ARCHIVE_CHUNK = 25
#: archives kept apart; beyond it the two oldest neighbours merge (a layout
#: walks every widget of the transcript: at 1,000 cells, 40 archives cost a
#: run ~40% more than 8 do)
MAX_ARCHIVES = 8
#: cells archived per step (each step's removed widgets are collected after it)
ARCHIVE_STEP = 5
#: seconds after the last archive (or clear) before collecting garbage, when nothing runs
COLLECT_AFTER_S = 0.2


class TranscriptView(VerticalScroll, can_focus=False):
    HELP = """\
## Transcript

One cell per execution, newest at the bottom. The view follows new output
unless you scroll up; scroll back to the bottom to follow again.
Click a cell (or Shift+Tab from the editor) to focus it, then use its keys.
Cells far above are drawn together; click them (or press Up on the first
cell) to focus them again.
"""

    #: Textual's switch for a large scrolling container with no border and no
    #: content of its own: its lines are the background, one blank strip,
    #: instead of lines drawn through the styles cache. A run adds to the
    #: virtual size, which clears that cache: with a full transcript every run
    #: drew the ~40 background lines again under the cells (~0.6 ms a run).
    BLANK = True

    #: the colours of every cell's parts (rules in app.tcss), live or archived
    COMPONENT_CLASSES: ClassVar[set[str]] = set(COMPONENTS)

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._archive_scheduled = False
        self._palette: dict[str, Style] | None = None
        self._collect_timer: Timer | None = None
        #: archived widgets Textual has not pruned yet (still among the children)
        self._leaving: WeakSet[Widget] = WeakSet()

    def cell_palette(self) -> dict[str, Style]:
        """The styles cells draw with (cell_render.COMPONENTS), for the theme
        in force; computed again after a restyle."""
        if self._palette is None:
            self._palette = palette(self)
        return self._palette

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._palette is None:
            return
        old, self._palette = self._palette, None
        if self.cell_palette() != old:  # a theme switch: every cell draws again
            for child in self.children:
                if isinstance(child, (CellView, CellArchive)):
                    child.refresh(layout=True)

    def on_mount(self) -> None:
        self.anchor()

    def cells(self) -> list[CellView]:
        """The live cell views, in order (archived cells are not among them)."""
        return [child for child in self.children if isinstance(child, CellView) and child not in self._leaving]

    def view(self, view_id: str) -> CellView | None:
        """The live cell view with this id. Not ``query_one``: its cache
        would keep archived views alive."""
        for child in self.children:
            if child.id == view_id and isinstance(child, CellView):
                return child
        return None

    def archives(self) -> list[CellArchive]:
        return [c for c in self.children if isinstance(c, CellArchive) and c not in self._leaving]

    def records(self) -> list[CellRecord]:
        """Every cell of the transcript, archived or live, in order."""
        out: list[CellRecord] = []
        for child in self.children:
            if child in self._leaving:  # archived already, not pruned yet
                continue
            if isinstance(child, CellView):
                out.append(child.record)
            elif isinstance(child, CellArchive):
                out.extend(child.records())
        return out

    def cell_count(self) -> int:
        return sum(
            1 if isinstance(child, CellView) else child.cell_count if isinstance(child, CellArchive) else 0
            for child in self.children
            if child not in self._leaving
        )

    def add_cell(self, view: CellView) -> CellView:
        self.mount(view)
        return view

    def add_note(self, text: VisualType, classes: str = "note") -> Static:
        note = Static(text, classes=classes)
        self.mount(note)
        return note

    def clear(self, keep: set[str] | None = None) -> None:
        """Remove every cell, archive and note, except the cells whose ids are
        in ``keep`` (a running or queued cell survives Ctrl+L and shows its result)."""
        keep = keep or set()
        gone = [child for child in self.children if child.id not in keep]
        self._leaving.update(gone)
        self.remove_children(gone)
        self._collect_soon()

    def rerender(self) -> None:
        """Presenter mode switched: every cell, live or archived, drawn again."""
        for child in self.children:
            if isinstance(child, (CellView, CellArchive)):
                child.rerender()

    def rehighlight(self) -> None:
        for child in self.children:
            if isinstance(child, (CellView, CellArchive)):
                child.rehighlight()

    # ------------------------------------------------------------ archiving
    def on_cell_view_settled(self, message: CellView.Settled) -> None:
        message.stop()
        self.schedule_archive()

    def schedule_archive(self) -> None:
        """Archive what is far above, after the next paint."""
        if not self._archive_scheduled:
            self._archive_scheduled = True
            self.call_after_refresh(self._archive_step)

    def _archive_step(self) -> None:
        """Fold a few cells: the first :data:`ARCHIVE_STEP` archivable cells
        (with the notes among them) whose bottom is more than a screen above
        the top of the view go into the last archive (a new one when it holds
        :data:`ARCHIVE_CHUNK`). Small steps keep each one, and the collection
        of the widgets it removes, short. Another step follows after the next
        paint if there is more."""
        self._archive_scheduled = False
        if not self.is_attached:
            return
        limit = self.scroll_offset.y - self.size.height
        last: CellArchive | None = None
        batch: list[Widget] = []
        cells = 0
        for child in self.children:
            if child in self._leaving:  # removed (archived, merged, revived), not pruned yet
                continue
            if isinstance(child, CellArchive) and not batch:
                last = child
                continue
            if cells == 0 and last is not None and last.cell_count >= ARCHIVE_CHUNK:
                last = None  # full: this step starts a new archive
            want = ARCHIVE_STEP if last is None else min(ARCHIVE_STEP, ARCHIVE_CHUNK - last.cell_count)
            if not _archivable(child) or child.virtual_region.bottom > limit:
                break
            batch.append(child)
            if isinstance(child, CellView):
                cells += 1
                if cells >= want:
                    break
        else:
            return
        if cells < want:
            return
        items: list[CellView | NoteRecord] = []
        for child in batch:
            if isinstance(child, CellView):
                items.append(child)
            elif isinstance(child, Static):
                record = _note_record(child)
                if record is None:
                    return
                items.append(record)
        if last is not None:
            last.extend(items)
        else:
            self.mount(CellArchive.of(items), before=batch[0])
        self._leaving.update(batch)
        self.remove_children(batch)
        self._merge_archives()
        self.schedule_archive()
        # The removed widgets are garbage once Textual has pruned them: collect
        # them after the next paint, a step's worth at a time (repl.tui.collector).
        self.call_after_refresh(self._collect)

    def _merge_archives(self) -> None:
        """Beyond :data:`MAX_ARCHIVES`, fold the oldest archive that has an archive
        right below it into it (one merge per step, like the folding)."""
        children = [c for c in self.children if c not in self._leaving]
        archives = [c for c in children if isinstance(c, CellArchive)]
        if len(archives) <= MAX_ARCHIVES:
            return
        for upper, lower in zip(children, children[1:], strict=False):
            if isinstance(upper, CellArchive) and isinstance(lower, CellArchive):
                upper.absorb(lower)
                self._leaving.add(lower)
                lower.remove()
                return

    def _collect_soon(self) -> None:
        """Collect the removed widgets once Textual has pruned them (see repl.tui.collector)."""
        if self._collect_timer is not None:
            self._collect_timer.stop()
        self._collect_timer = self.set_timer(COLLECT_AFTER_S, self._collect)

    def _collect(self) -> None:
        if self._collect_timer is not None:
            self._collect_timer.stop()
            self._collect_timer = None
        # Archives far from the view keep their data only, not their drawing.
        top, bottom = self.scroll_offset.y - self.size.height, self.scroll_offset.y + 2 * self.size.height
        for archive in self.archives():
            region = archive.virtual_region
            if region.bottom < top or region.y > bottom:
                archive.forget_drawing()
        # Textual caches the displayed children until the next layout, which an
        # empty transcript may never do: refresh it, so the removed cells can go.
        _ = self.displayed_children
        collector.collect_garbage()

    # ------------------------------------------------------------ reviving
    def on_cell_archive_revive(self, message: CellArchive.Revive) -> None:
        message.stop()
        views = self.revive(message.archive, message.entry)
        target = views.get(message.entry) if message.entry is not None else None
        if target is None and views:
            target = list(views.values())[-1]
        if target is not None:
            self._focus_later(target)

    def on_cell_view_archive_wanted(self, message: CellView.ArchiveWanted) -> None:
        message.stop()
        children = list(self.children)
        try:
            i = children.index(message.view)
        except ValueError:
            return
        around = reversed(children[:i]) if message.step < 0 else iter(children[i + 1 :])
        archive = next((c for c in around if isinstance(c, CellArchive)), None)
        if archive is None:
            return
        views = list(self.revive(archive, -1 if message.step < 0 else 0).values())
        if views:
            self._focus_later(views[-1] if message.step < 0 else views[0])

    def revive(self, archive: CellArchive, around: int | None = None) -> dict[int, CellView]:
        """Make entries of ``archive`` live widgets again (cells with their ids):
        all of them when it holds up to :data:`ARCHIVE_CHUNK`, else the chunk of
        that many around entry ``around`` (-1: the last ones), the rest staying
        archived above and below them. Returns the new views by entry index
        (in the archive as it was)."""
        count = len(archive.entries)
        if count <= ARCHIVE_CHUNK:
            start, stop = 0, count
        else:
            at = count - 1 if around is None or around < 0 else min(around, count - 1)
            start = min(max(0, at - ARCHIVE_CHUNK // 2), count - ARCHIVE_CHUNK)
            stop = start + ARCHIVE_CHUNK
        widgets: list[Widget] = []
        views: dict[int, CellView] = {}
        entries, after = archive.split(start, stop) if (start, stop) != (0, count) else (archive.entries, None)
        for i, entry in enumerate(entries, start):
            if isinstance(entry, CellRecord):
                view = CellView(entry.n, entry.code, record=entry)
                views[i] = view
                widgets.append(view)
            else:
                widgets.append(Static(entry.content, classes=entry.classes))
        if after is not None:
            widgets.append(after)
        if start > 0:  # the archive keeps the entries above
            self.mount_all(widgets, after=archive)
        else:
            self.mount_all(widgets, before=archive)
            self._leaving.add(archive)
            archive.remove()
        return views

    def _focus_later(self, view: CellView) -> None:
        def focus() -> None:
            if view.is_attached:
                view.focus()
                view.scroll_visible(animate=False)

        self.call_after_refresh(focus)


def _archivable(child: Widget) -> bool:
    if isinstance(child, CellView):
        return not child.running and not child.has_focus and child.is_mounted
    if isinstance(child, Static):
        return child.has_class("note") and _note_record(child) is not None
    return False


def _note_record(note: Static) -> NoteRecord | None:
    """A note as an archive keeps it (Rich text or a table), or None for
    content only Textual can draw (such a note stays live)."""
    content = note.content
    if isinstance(content, str):
        content = Text(content)
    if not isinstance(content, ConsoleRenderable):
        return None
    return NoteRecord(content, " ".join(sorted(note.classes)))
