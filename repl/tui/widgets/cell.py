"""One execution in the transcript: ``In [n]``, the code, its outputs, a status
badge and the timing.

A cell view starts *running* (spinner and elapsed time) and is finished with
the engine's :class:`~repl.transcript.Cell`. A code failure (status Failed)
and a service failure (HTTP, auth, network: ``cell.error``) look different:
the first shows stderr in the error colour under a red bar, the second a
warning-coloured box that says what to do.

A cell is *one* widget: what it shows is one renderable built by
:mod:`repl.tui.widgets.cell_render` (a widget per part made every layout of a
long transcript walk thousands of widgets). :meth:`CellView.parts` gives the
parts as shown, for tests and tools.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App, RenderResult
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget

from repl.terminal_text import plain_text, safe_text
from repl.tui.app import acajs_app
from repl.tui.widgets.cell_render import (
    SEVERITY_NAME,
    CellRecord,
    Part,
    cell_block,
    code_text,
    default_palette,
    drawing_error_text,
    dropped_or_abandoned,
    head_part,
    result_parts,
)

if TYPE_CHECKING:
    from rich.style import Style

    from repl.transcript import Cell

#: severity -> the cell's CSS class (the words come from repl.vocabulary)
SEVERITY_CLASS = {severity: f"-{name}" for severity, name in SEVERITY_NAME.items()}


def highlighter(app: App[Any]) -> Callable[[str], Text]:
    """A function str -> Text highlighting JavaScript with the current theme."""
    from rich.syntax import Syntax

    theme = acajs_app(app).syntax_theme()

    def highlight(code: str) -> Text:
        text = Syntax(code, "javascript", theme=theme).highlight(code)
        text.rstrip()
        return text

    return highlight


def new_record(n: int, code: str, *, queued: bool = False) -> CellRecord:
    """The record of a new cell, with the id its view will have."""
    CellView._seq += 1
    return CellRecord(f"cell-{CellView._seq}", n, code, "queued" if queued else "running")


def start_record(record: CellRecord, waiting_behind: int | None) -> bool:
    """A queued cell got the session: it runs from now. True if it was queued."""
    record.waiting_behind = waiting_behind
    if record.state != "queued":
        return False
    record.state = "running"
    record.started = time.monotonic()
    return True


class CellView(Widget, can_focus=True):
    """A cell in the transcript. Focus it (click, or Shift+Tab from the editor)
    to copy, page, save or re-insert it."""

    HELP = """\
## Cell

A cell is one execution: the code you sent (`In [n]`), what it printed
(stdout, then stderr in the error colour), its value (`Out[n]`), a status
badge and the timing (server time and round trip).

Large outputs are capped on screen ("N lines hidden"); the full text is kept:
open it in the pager, save it to a file or copy it.
"""

    DEFAULT_CSS = """
    CellView { height: auto; }
    """

    BINDINGS = [
        Binding("y", "copy_output", "Copy output", id="cell.copy"),
        Binding("p", "pager", "Pager", id="cell.pager"),
        Binding("s", "save", "Save output", id="cell.save"),
        Binding("e", "reinsert", "Edit again", id="cell.reinsert"),
        Binding("u", "curl", "Copy as curl", id="cell.curl"),
        Binding("up,k", "focus_neighbour(-1)", "Previous", show=False, id="cell.previous"),
        Binding("down,j", "focus_neighbour(1)", "Next", show=False, id="cell.next"),
    ]

    class Action(Message):
        """A cell asks the screen to do something with it (copy, pager, ...)."""

        def __init__(self, view: CellView, action: str) -> None:
            super().__init__()
            self.view = view
            self.action = action

    class Settled(Message):
        """A cell got its result (or was stopped): the transcript may archive."""

    class ArchiveWanted(Message):
        """Up / Down with an archive next in that direction: the transcript
        revives it and focuses its nearest cell."""

        def __init__(self, view: CellView, step: int) -> None:
            super().__init__()
            self.view = view
            self.step = step

    _seq: ClassVar[int] = 0  # numbers the views' ids

    def __init__(
        self,
        n: int,
        code: str,
        *,
        cell: Cell | None = None,
        started: float | None = None,
        queued: bool = False,
        record: CellRecord | None = None,
    ) -> None:
        if record is None:
            record = new_record(n, code, queued=queued)
            if started is not None:
                record.started = started
        if cell is not None:  # finished before it was shown: drawn once, with its result
            record.cell, record.n, record.state = cell, cell.n, cell.status
        # The status class is given here, not added: a class added before the
        # mount restyles a widget that the mount styles again.
        badge = SEVERITY_CLASS.get(record.severity, "-failed")
        super().__init__(classes=f"cell {badge}", id=record.view_id)
        self.record = record
        self._timer: Timer | None = None
        self._settle_on_mount = cell is not None
        self._badge_class: str | None = badge
        self._styles: dict[str, Style] | None = None
        self._code: Text | None = None
        self._results: list[Part] | None = None

    # ------------------------------------------------------------ the record
    @property
    def n(self) -> int:
        return self.record.n

    @n.setter
    def n(self, value: int) -> None:
        self.record.n = value

    @property
    def code(self) -> str:
        return self.record.code

    @property
    def cell(self) -> Cell | None:
        return self.record.cell

    @property
    def waiting_behind(self) -> int | None:
        """An abandoned cell this one waits behind on the server (the service
        runs one execution at a time per session)."""
        return self.record.waiting_behind

    @property
    def state(self) -> str:
        return self.record.state

    @property
    def running(self) -> bool:
        """Running or queued: no result yet."""
        return self.record.state in ("running", "queued")

    # ------------------------------------------------------------ building
    def on_mount(self) -> None:
        if self._settle_on_mount:
            self._settle_on_mount = False
            self.post_message(self.Settled())
        elif self.record.state == "running":
            self._timer = self.set_interval(0.1, self.refresh)

    def start(self, waiting_behind: int | None = None) -> None:
        """A queued cell got the session: it runs now (the clock starts)."""
        if start_record(self.record, waiting_behind):
            if self.is_mounted:
                self._timer = self.set_interval(0.1, self.refresh)
            self._set_badge()
        self.refresh()

    def rerender(self) -> None:
        """Draw the cell again (presenter mode switched: what it shows changes)."""
        self._code = None
        self._results = None
        self.refresh(layout=True)

    def rehighlight(self) -> None:
        """The syntax theme changed: highlight the code and value again."""
        self.rerender()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _set_badge(self) -> None:
        cls = SEVERITY_CLASS.get(self.record.severity, "-failed")
        if cls != self._badge_class:
            # Only on a state change: every class change restyles the cell.
            self.remove_class(*set(SEVERITY_CLASS.values()) - {cls})
            self.add_class(cls)
            self._badge_class = cls

    # ------------------------------------------------------------ drawing
    def _palette(self) -> dict[str, Style]:
        # The colours are the transcript's component classes: one place to
        # restyle on a theme switch, and a cell's class change (-running ->
        # -ok) restyles no component of its own.
        source: Any = self.parent
        styles = source.cell_palette() if hasattr(source, "cell_palette") else default_palette()
        if styles != self._styles:  # theme, focus: the parts are coloured again
            self._styles = styles
            self._results = None
        return styles

    def parts(self) -> list[Part]:
        """What the cell shows, part by part (head, code, notice, stdout,
        stderr, value, service-error, truncation, abandoned, draw-error,
        actions), as drawn: capped, sanitised, redacted in presenter mode."""
        styles = self._palette()
        rec = self.record
        app = acajs_app(self.app)
        if self._code is None:
            self._code = code_text(rec.code, app.shown, highlighter(self.app))
        if self._results is None:
            try:
                self._results = result_parts(rec, styles, app.shown, highlighter(self.app))
            except Exception as exc:  # noqa: BLE001 - one cell's drawing must never end the app
                self.record.draw_error = drawing_error_text(exc)
                self._results = [Part("draw-error", Text(self.record.draw_error))]
        return [head_part(rec, styles), Part("code", self._code), *self._results]

    def drawn_parts(self) -> tuple[dict[str, Style], list[Part]] | None:
        """The styles and parts under the head as last drawn (for an archive
        to reuse), or None when nothing is drawn yet."""
        if self._styles is None or self._code is None or self._results is None:
            return None
        return self._styles, [Part("code", self._code), *self._results]

    def part(self, kind: str) -> Part | None:
        """The first part of ``kind`` the cell shows, or None."""
        return next((p for p in self.parts() if p.kind == kind), None)

    @property
    def head_text(self) -> str:
        return self.parts()[0].plain

    def shown_text(self) -> str:
        """All the cell shows, as plain text."""
        return "\n".join(p.plain for p in self.parts())

    def render(self) -> RenderResult:
        parts = self.parts()
        return cell_block(self.record, parts, self._styles or {}, focused=self.has_focus)

    def on_unmount(self) -> None:
        # Drop the lines Textual cached for this widget: a memoised function
        # of Textual's keeps the last 1,024 widgets' line caches alive, which
        # in a long session was most of what the cyclic GC had to traverse.
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ------------------------------------------------------------ results
    def finish(self, cell: Cell) -> None:
        """Show the engine's result (execution, or service error). A failure
        to draw it shows in the cell: the app, the pool and the result (kept
        for copy, pager and save) stay."""
        self._stop_timer()
        rec = self.record
        rec.cell = cell
        rec.n = cell.n
        rec.state = cell.status
        self._results = None
        self._set_badge()
        self.refresh(layout=True)
        self.post_message(self.Settled())

    def show_drawing_error(self, exc: BaseException) -> None:
        self.record.draw_error = drawing_error_text(exc)
        self._results = None
        self.refresh(layout=True)

    def abandon(self) -> None:
        """The user stopped waiting (Escape, Ctrl+C): a running cell is
        abandoned, a queued one dropped (it was never sent)."""
        if not self.running:
            return
        self._stop_timer()
        dropped = self.record.state == "queued"
        self.record.state = "dropped" if dropped else "abandoned"
        self.record.extra.append(("abandoned", dropped_or_abandoned(dropped)))
        self._results = None
        self._set_badge()
        self.refresh(layout=True)
        self.post_message(self.Settled())

    def fail(self, message: str) -> None:
        """An unexpected error while running (not from the service)."""
        self._stop_timer()
        self.record.state = "error"
        self.record.extra.append(("service-error", message))
        self._results = None
        self._set_badge()
        self.refresh(layout=True)
        self.post_message(self.Settled())

    # ------------------------------------------------------------ data for actions
    def output_text(self, *, colours: bool = False) -> str:
        """Everything the cell printed and returned, in full (not capped), safe
        to copy or save: no control sequence at all (``colours``: SGR kept,
        for the pager), redacted in presenter mode."""
        cell = self.cell
        if cell is None:
            return ""
        parts: list[str] = []
        ex = cell.execution
        if ex is not None:
            parts.extend(p for p in (ex.stdout, ex.stderr) if p)
            if ex.has_value:
                parts.append(ex.value_text)
        if cell.error:
            parts.append(cell.error)
        raw = "\n".join(p.rstrip("\n") for p in parts) + ("\n" if parts else "")
        return acajs_app(self.app).shown(safe_text(raw) if colours else plain_text(raw))

    # ------------------------------------------------------------ actions
    def _ask(self, action: str) -> None:
        self.post_message(self.Action(self, action))

    def action_copy_output(self) -> None:
        self._ask("copy_output")

    def action_pager(self) -> None:
        self._ask("pager")

    def action_save(self) -> None:
        self._ask("save")

    def action_reinsert(self) -> None:
        self._ask("reinsert")

    def action_curl(self) -> None:
        self._ask("curl")

    def action_focus_neighbour(self, step: int) -> None:
        from repl.tui.widgets.cell_archive import CellArchive

        siblings = list(self.parent.children) if self.parent else []
        try:
            i = siblings.index(self)
        except ValueError:
            return
        around = reversed(siblings[:i]) if step < 0 else iter(siblings[i + 1 :])
        for widget in around:  # the nearest cell, live or archived, notes skipped
            if isinstance(widget, CellView):
                widget.focus()
                widget.scroll_visible(animate=False)
                return
            if isinstance(widget, CellArchive):
                self.post_message(self.ArchiveWanted(self, step))
                return
        if step > 0:
            self._ask("focus_editor")  # Down on the last cell: back to the editor
