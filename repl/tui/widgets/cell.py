"""One execution in the transcript: ``In [n]``, the code, its outputs, a status
badge and the timing.

A cell view starts *running* (spinner and elapsed time) and is finished with
the engine's :class:`~repl.transcript.Cell`. A code failure (status Failed)
and a service failure (HTTP, auth, network: ``cell.error``) look different:
the first shows stderr in the error colour under a red rule, the second a
warning-coloured box that says what to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widget import MountError, Widget
from textual.widgets import Static

from repl.terminal_text import plain_text, safe_text
from repl.tui.app import acajs_app
from repl.tui.widgets.output_view import OutputView, cap_text
from repl.vocabulary import ABANDONED_TEXT, DROPPED_TEXT, status_words

if TYPE_CHECKING:
    from repl.transcript import Cell

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

#: severity -> the cell's CSS class (the words come from repl.vocabulary)
SEVERITY_CLASS = {
    "pending": "-running",
    "ok": "-ok",
    "failed": "-failed",
    "service": "-service",
    "abandoned": "-abandoned",
}


def highlighter(app: App[Any]) -> Callable[[str], Text]:
    """A function str -> Text highlighting JavaScript with the current theme."""
    from rich.syntax import Syntax

    theme = acajs_app(app).syntax_theme()

    def highlight(code: str) -> Text:
        text = Syntax(code, "javascript", theme=theme).highlight(code)
        text.rstrip()
        return text

    return highlight


class CellView(Vertical, can_focus=True):
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

    _seq: ClassVar[int] = 0  # numbers the views' ids

    def __init__(
        self, n: int, code: str, *, cell: Cell | None = None, started: float | None = None, queued: bool = False
    ) -> None:
        CellView._seq += 1
        super().__init__(classes="cell", id=f"cell-{CellView._seq}")
        self.n = n
        self.code = code
        self.cell: Cell | None = None
        self._started = time.monotonic() if started is None else started
        self._timer: Timer | None = None
        self._state = "queued" if queued else "running"
        self._pending_cell = cell
        self._badge_class: str | None = None
        #: an abandoned cell this one waits behind on the server (the service
        #: runs one execution at a time per session)
        self.waiting_behind: int | None = None

    # ------------------------------------------------------------ building
    def compose(self) -> ComposeResult:
        yield Static(id="cell-head", classes="cell-head")
        yield Static(id="cell-code", classes="cell-code")
        cell, self._pending_cell = self._pending_cell, None
        if cell is not None:
            # Made with its result (it finished before it was shown): composed
            # whole, so it is laid out once.
            self._take(cell)
            try:
                yield from self._result_widgets(cell)
            except Exception as exc:  # noqa: BLE001 - one cell's drawing must never end the app
                yield self._drawing_error(exc)

    def on_mount(self) -> None:
        self._render_code()
        self._render_head()
        if self._state == "running":
            self._timer = self.set_interval(0.1, self._render_head)

    def start(self, waiting_behind: int | None = None) -> None:
        """A queued cell got the session: it runs now (the clock starts)."""
        self.waiting_behind = waiting_behind
        if self._state != "queued":
            if self.is_mounted:
                self._render_head()
            return
        self._state = "running"
        self._started = time.monotonic()
        if self.is_mounted:
            self._render_head()
            self._timer = self.set_interval(0.1, self._render_head)

    def _render_code(self) -> None:
        hl = highlighter(self.app)
        capped = cap_text(acajs_app(self.app).shown(plain_text(self.code)))
        text = hl(capped.head)
        if capped.capped:  # a pasted megabyte of code must not freeze the screen either
            text.append("\n")
            text.append(f"… {capped.notice()} …", style="italic reverse")
            if capped.tail:
                text.append("\n")
                text.append_text(hl(capped.tail))
        try:
            self.query_one("#cell-code", Static).update(text)
        except NoMatches:  # removed (Ctrl+L) before it was mounted
            return

    def rerender(self) -> None:
        """Draw the cell again (presenter mode switched: what it shows changes)."""
        self._render_code()
        cell = self.cell
        if cell is not None and self.is_attached:
            self.remove_children([child for child in self.children if child.id not in ("cell-head", "cell-code")])
            self.finish(cell)

    def rehighlight(self) -> None:
        self._render_code()
        hl = highlighter(self.app)
        for view in self.query(OutputView):
            if view.kind == "value":
                view.rehighlight(hl)

    @property
    def state(self) -> str:
        return self._state

    @property
    def running(self) -> bool:
        """Running or queued: no result yet."""
        return self._state in ("running", "queued")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _render_head(self) -> None:
        words = status_words(self._state)
        label, cls = words.label, SEVERITY_CLASS[words.severity]
        head = Text()
        head.append(f"In [{self.n}]", style="bold")
        head.append("  ")
        if self._state == "running":
            elapsed = time.monotonic() - self._started
            frame = SPINNER[int(elapsed * 10) % len(SPINNER)]
            head.append(f" {frame} running {elapsed:.1f} s ", style="reverse")
            if self.waiting_behind is not None:
                head.append(f"  waiting for In [{self.waiting_behind}], which is still running on the server",
                            style="italic")
        else:
            head.append(f" {label} ", style="reverse bold")
            timing = self.cell.timing_text() if self.cell is not None else ""
            if timing:
                head.append("  ")
                head.append(timing, style="dim")
        try:
            self.query_one("#cell-head", Static).update(head)
        except NoMatches:  # removed (Ctrl+L) before it was mounted
            return
        if cls != self._badge_class:
            # Only on a state change: the spinner redraws the head ten times a
            # second, and every class change restyles the cell.
            self.remove_class(*set(SEVERITY_CLASS.values()) - {cls})
            self.add_class(cls)
            self._badge_class = cls

    # ------------------------------------------------------------ results
    def finish(self, cell: Cell) -> None:
        """Show the engine's result (execution, or service error). A failure
        to draw it shows in the cell: the app, the pool and the result (kept
        for copy, pager and save) stay."""
        self._take(cell)
        try:
            self._add(*self._result_widgets(cell))
        except Exception as exc:  # noqa: BLE001 - one cell's drawing must never end the app
            self.show_drawing_error(exc)
        self._render_head()

    def _take(self, cell: Cell) -> None:
        self._stop_timer()
        self.cell = cell
        self.n = cell.n
        self._state = cell.status
        self.remove_class("-running")

    def show_drawing_error(self, exc: BaseException) -> None:
        self._add(self._drawing_error(exc))

    @staticmethod
    def _drawing_error(exc: BaseException) -> Static:
        text = (
            f"This cell could not be drawn ({type(exc).__name__}: {exc}). Its result is kept: "
            "y copies it, p opens it in the pager."
        )
        return Static(Text(text), classes="service-error draw-error")

    def _result_widgets(self, cell: Cell) -> list[Static]:
        ex = cell.execution
        shown = acajs_app(self.app).shown  # redacted in presenter mode
        widgets: list[Static] = []
        if cell.notice:  # said first: the session was lost, a replay stopped here
            widgets.append(Static(Text(shown(plain_text(cell.notice))), classes="cell-notice"))
        if ex is not None:
            if ex.stdout:
                widgets.append(OutputView(shown(ex.stdout), "stdout", classes="out-stdout"))
            if ex.stderr:
                widgets.append(OutputView(shown(ex.stderr), "stderr", classes="out-stderr"))
            if ex.has_value:
                prefix, highlight = f"Out[{cell.n}]: ", highlighter(self.app)
                widgets.append(
                    OutputView(shown(ex.value_text), "value", prefix=prefix, highlight=highlight, classes="out-value")
                )
        if cell.error is not None:
            widgets.append(Static(Text(shown(plain_text(cell.error))), classes="service-error"))
        if ex is not None and ex.truncated:
            notes = "; ".join(ex.truncation_notes())
            widgets.append(Static(Text(f"{notes}. See docs/repl.md, Output limits.", style="italic"),
                                  classes="truncation-note"))
        if cell.abandoned:
            widgets.append(Static(ABANDONED_TEXT, classes="abandoned-note"))
        if any(isinstance(w, OutputView) and w.is_capped for w in widgets):
            widgets.append(
                Static(
                    f"[@click=screen.cell_action('{self.id}','pager')]open in pager[/] (p) · "
                    f"[@click=screen.cell_action('{self.id}','save')]save to file[/] (s) · "
                    f"[@click=screen.cell_action('{self.id}','copy_output')]copy[/] (y)",
                    classes="capped-actions",
                )
            )
        return widgets

    def _add(self, *widgets: Widget) -> None:
        """Mount parts of the cell; a cell already gone (cleared, the app
        exiting) takes nothing, and that is no error."""
        if not widgets or not self.is_attached:
            return
        try:
            self.mount_all(widgets)
        except MountError:
            pass

    def abandon(self) -> None:
        """The user stopped waiting (Escape, Ctrl+C): a running cell is
        abandoned, a queued one dropped (it was never sent)."""
        if not self.running:
            return
        self._stop_timer()
        dropped = self._state == "queued"
        self._state = "dropped" if dropped else "abandoned"
        self.remove_class("-running")
        self._add(Static(DROPPED_TEXT if dropped else ABANDONED_TEXT, classes="abandoned-note"))
        self._render_head()

    def fail(self, message: str) -> None:
        """An unexpected error while running (not from the service)."""
        self._stop_timer()
        self._state = "error"
        self.remove_class("-running")
        self._add(Static(Text(acajs_app(self.app).shown(message)), classes="service-error"))
        self._render_head()

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
        cells = list(self.parent.query_children(CellView)) if self.parent else []
        try:
            i = cells.index(self)
        except ValueError:
            return
        j = i + step
        if 0 <= j < len(cells):
            cells[j].focus()
            cells[j].scroll_visible(animate=False)
        elif step > 0:
            self._ask("focus_editor")  # Down on the last cell: back to the editor
