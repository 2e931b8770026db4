"""What a cell shows, as one Rich renderable (no widget per part).

A cell in the transcript is one widget: its head (``In [n]``, status badge,
timing or spinner), code, notice, outputs, service error, notes and the
capped-output actions are *parts* built here from the cell's data, and drawn
as one block with the status bar on the left. Live cells
(:class:`~repl.tui.widgets.cell.CellView`) and archived ones
(:class:`~repl.tui.widgets.cell_archive.CellArchive`) draw with the same
functions, so an archived cell looks exactly like a live one.

Colours are Rich styles taken from the widget's component classes
(:data:`COMPONENTS`, rules in ``app.tcss``): themes, high contrast and the
live theme switch apply. Every remote string goes through ``shown`` (presenter
mode) and the sanitiser (:mod:`repl.terminal_text`) before it is drawn, and
every output is capped with :func:`~repl.tui.widgets.output_view.cap_text`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.box import ROUNDED
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.styled import Styled
from rich.text import Text

from repl.terminal_text import plain_text, rich_text
from repl.tui.widgets.output_view import Capped, cap_text
from repl.vocabulary import ABANDONED_TEXT, DROPPED_TEXT, status_words

if TYPE_CHECKING:
    from textual.widget import Widget

    from repl.transcript import Cell

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

#: severity (repl.vocabulary) -> the name used for the cell's CSS class and
#: its head and bar component classes
SEVERITY_NAME = {
    "pending": "running",
    "ok": "ok",
    "failed": "failed",
    "service": "service",
    "abandoned": "abandoned",
}

#: the left status bar's character per severity (the old CSS borders:
#: outer, double for a service failure, dashed for an abandoned run)
BAR_CHAR = {"service": "║", "abandoned": "╏"}
DEFAULT_BAR = "▌"

#: component classes a widget drawing cells declares (colours in app.tcss)
COMPONENTS: frozenset[str] = frozenset(
    {
        *(f"cell--head-{n}" for n in SEVERITY_NAME.values()),
        *(f"cell--bar-{n}" for n in SEVERITY_NAME.values()), "cell--bar-focus",
        "cell--stderr", "cell--service-error", "cell--abandoned", "cell--actions", "cell--notice",
        "cell--note", "cell--note-error", "cell--note-command",
    }
)

Styles = Mapping[str, Style]
Shown = Callable[[str], str]
Highlight = Callable[[str], Text]


def palette(widget: Widget) -> dict[str, Style]:
    """The styles of :data:`COMPONENTS` for ``widget`` (its theme). Each is a
    whole colour (blended with the widget's background, then the background
    dropped, so a part draws on a focused cell's background too): a part
    takes exactly one, never a sum."""
    return {name: _foreground(widget.get_component_rich_style(name)) for name in COMPONENTS}


def _foreground(style: Style) -> Style:
    return Style(color=style.color, bold=style.bold, dim=style.dim, italic=style.italic,
                 underline=style.underline, reverse=style.reverse, strike=style.strike)


def default_palette() -> dict[str, Style]:
    """No colours: for a cell drawn outside a transcript."""
    return dict.fromkeys(COMPONENTS, Style())


@dataclass(slots=True)
class CellRecord:
    """Everything needed to draw a cell, live or archived, and to revive it."""

    view_id: str
    n: int
    code: str
    state: str = "running"
    cell: Cell | None = None
    started: float = field(default_factory=time.monotonic)
    waiting_behind: int | None = None
    #: parts added after the result: ("abandoned", text), ("service-error", message)
    extra: list[tuple[str, str]] = field(default_factory=list)
    #: the result could not be drawn (the exception, shown in the cell)
    draw_error: str | None = None

    @property
    def severity(self) -> str:
        return status_words(self.state).severity


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """A note of the transcript (a command echo, an error, the help table)."""

    content: RenderableType
    classes: str


@dataclass(slots=True)
class Part:
    """One thing a cell shows. ``text``: as drawn (capped, sanitised,
    redacted); ``full_text``: an output in full (what copy and save give)."""

    kind: str
    text: Text
    indent: int = 2
    full_text: str = ""
    capped: Capped | None = None

    @property
    def plain(self) -> str:
        return self.text.plain


# ------------------------------------------------------------------ parts
def head_part(rec: CellRecord, styles: Styles, now: float | None = None) -> Part:
    words = status_words(rec.state)
    name = SEVERITY_NAME.get(words.severity, "failed")
    head = Text(style=styles[f"cell--head-{name}"])
    head.append(f"In [{rec.n}]", style="bold")
    head.append("  ")
    if rec.state == "running":
        elapsed = (time.monotonic() if now is None else now) - rec.started
        frame = SPINNER[int(elapsed * 10) % len(SPINNER)]
        head.append(f" {frame} running {elapsed:.1f} s ", style="reverse")
        if rec.waiting_behind is not None:
            head.append(
                f"  waiting for In [{rec.waiting_behind}], which is still running on the server", style="italic"
            )
    else:
        head.append(f" {words.label} ", style="reverse bold")
        timing = rec.cell.timing_text() if rec.cell is not None else ""
        if timing:
            head.append("  ")
            head.append(timing, style="dim")
    return Part("head", head, indent=0)


def code_text(code: str, shown: Shown, highlight: Highlight) -> Text:
    capped = cap_text(shown(plain_text(code)))
    text = highlight(capped.head)
    if capped.capped:  # a pasted megabyte of code must not freeze the screen either
        text.append("\n")
        text.append(f"… {capped.notice()} …", style="italic reverse")
        if capped.tail:
            text.append("\n")
            text.append_text(highlight(capped.tail))
    return text


def output_part(kind: str, full: str, *, prefix: str = "", highlight: Highlight | None = None,
                style: Style | None = None, indent: int = 2) -> Part:
    """A capped output: head, "N lines hidden", tail. Remote text keeps its
    colours; every other control sequence is neutralised (repl.terminal_text)."""
    capped = cap_text(full)

    def body(part: str) -> Text:
        if highlight is not None:
            return highlight(plain_text(part))
        return rich_text(part)

    out = Text(style=style or "")
    try:
        if prefix:
            out.append(prefix, style="bold")
        out.append_text(body(capped.head))
        if capped.capped:
            out.append("\n")
            out.append(f"… {capped.notice()} …", style="italic reverse")
            if capped.tail:
                out.append("\n")
                out.append_text(body(capped.tail))
    except Exception as exc:  # noqa: BLE001 - drawing one output must never end the app
        out = Text(f"(could not be drawn: {type(exc).__name__}; shown without highlighting)\n", style="italic")
        out.append(plain_text(capped.head))
    return Part(kind, out, indent=indent, full_text=full, capped=capped)


def result_parts(rec: CellRecord, styles: Styles, shown: Shown, highlight: Highlight) -> list[Part]:
    """The parts under the code: notice, outputs, service error, notes,
    capped-output actions."""
    parts: list[Part] = []
    cell = rec.cell
    if cell is not None:
        ex = cell.execution
        if cell.notice:  # said first: the session was lost, a replay stopped here
            parts.append(Part("notice", Text(shown(plain_text(cell.notice)), style=styles["cell--notice"])))
        if ex is not None:
            if ex.stdout:
                parts.append(output_part("stdout", shown(ex.stdout)))
            if ex.stderr:
                parts.append(output_part("stderr", shown(ex.stderr), style=styles["cell--stderr"]))
            if ex.has_value:
                parts.append(output_part("value", shown(ex.value_text), prefix=f"Out[{cell.n}]: ",
                                         highlight=highlight, indent=0))
        if cell.error is not None:
            parts.append(Part("service-error", Text(shown(plain_text(cell.error))), indent=2))
        if ex is not None and ex.truncated:
            notes = "; ".join(ex.truncation_notes())
            parts.append(Part("truncation", Text(f"{notes}. See docs/repl.md, Output limits.", style="italic"),
                              indent=0))
        if cell.abandoned:
            parts.append(Part("abandoned", Text(ABANDONED_TEXT, style=styles["cell--abandoned"] + Style(italic=True))))
    if rec.draw_error is not None:
        parts.append(Part("draw-error", Text(rec.draw_error)))
    for kind, text in rec.extra:
        if kind == "abandoned":
            parts.append(Part("abandoned", Text(text, style=styles["cell--abandoned"] + Style(italic=True))))
        else:
            parts.append(Part(kind, Text(shown(plain_text(text)))))
    if any(p.capped is not None and p.capped.capped for p in parts):
        parts.append(Part("actions", actions_text(rec.view_id, styles["cell--actions"])))
    return parts


def actions_text(view_id: str, style: Style) -> Text:
    """open in pager (p) · save to file (s) · copy (y), each clickable."""
    text = Text(style=style)
    for i, (label, action, key) in enumerate(
        (("open in pager", "pager", "p"), ("save to file", "save", "s"), ("copy", "copy_output", "y"))
    ):
        if i:
            text.append(" · ")
        text.append(label, style=Style(meta={"@click": f"screen.cell_action('{view_id}','{action}')"}))
        text.append(f" ({key})")
    return text


def drawing_error_text(exc: BaseException) -> str:
    return (
        f"This cell could not be drawn ({type(exc).__name__}: {exc}). Its result is kept: "
        "y copies it, p opens it in the pager."
    )


def dropped_or_abandoned(dropped: bool) -> str:
    return DROPPED_TEXT if dropped else ABANDONED_TEXT


# ------------------------------------------------------------------ drawing
def part_renderable(part: Part, styles: Styles) -> RenderableType:
    if part.kind in ("service-error", "draw-error"):
        style = styles["cell--service-error"]
        panel = Panel(part.text, box=ROUNDED, border_style=style, style=style, padding=(0, 1), expand=True)
        return Padding(panel, (0, 0, 0, part.indent))
    if part.indent:
        return Padding(part.text, (0, 0, 0, part.indent))
    return part.text


class Barred:
    """A renderable with the cell's status bar on its left (bar, space, body)."""

    def __init__(self, body: RenderableType, bar: str, style: Style) -> None:
        self.body = body
        self.bar = Segment(bar, style)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - 2)
        lines = console.render_lines(self.body, options.update(width=width, height=None), pad=True)
        space = Segment(" ")
        new_line = Segment.line()
        for line in lines:
            yield self.bar
            yield space
            yield from line
            yield new_line


def cell_block(rec: CellRecord, parts: Iterable[Part], styles: Styles, *, focused: bool = False) -> Barred:
    """The whole cell: head, code and ``parts`` under the status bar."""
    severity = SEVERITY_NAME.get(rec.severity, "failed")
    bar_style = styles["cell--bar-focus" if focused else f"cell--bar-{severity}"]
    body = Group(*(part_renderable(p, styles) for p in parts))
    return Barred(body, BAR_CHAR.get(rec.severity, DEFAULT_BAR), bar_style)


def note_renderable(note: NoteRecord, styles: Styles) -> RenderableType:
    classes = note.classes.split()
    name = "note-error" if "-error" in classes else "note-command" if "-command" in classes else "note"
    style = styles[f"cell--{name}"]
    return Padding(Styled(note.content, style), (0, 1))


def note_gap(note: NoteRecord) -> bool:
    """A note is followed by an empty line, except a command's echo."""
    return "-command" not in note.classes.split()


def blank_lines(n: int) -> Iterator[Text]:
    for _ in range(n):
        yield Text("")
