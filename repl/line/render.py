"""How line mode prints: cells, command results and notices.

Everything is built as prompt-toolkit fragments ``(style, text)`` with the class
names of :data:`STYLE`; :class:`Printer` writes them in colour, or, when colour
is off (``NO_COLOR``, ``TERM=dumb``), as plain text with no escape codes at all.
Text that came from the remote session goes through ``Output.write``, which
neutralises escape characters, so remote output cannot drive the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prompt_toolkit.formatted_text import FormattedText, to_plain_text
from prompt_toolkit.output import Output
from prompt_toolkit.shortcuts import print_formatted_text
from prompt_toolkit.styles import Style

from repl.transcript import Cell

Fragments = list[tuple[str, str]]

STYLE = Style.from_dict(
    {
        # output of a cell
        "stdout": "",
        "stderr": "ansired",
        "value": "ansicyan",
        "status.ok": "ansigreen",
        "status.failed": "ansired bold",
        "status.service": "ansimagenta bold",
        "status.abandoned": "ansiyellow bold",
        "timing": "ansibrightblack",
        "hidden": "ansibrightblack italic",
        # messages
        "notice": "ansibrightblack",
        "message": "",
        "message.error": "ansired",
        "message.warning": "ansiyellow",
        # prompt and toolbar
        "prompt": "ansigreen bold",
        "prompt.continuation": "ansibrightblack",
        "bottom-toolbar": "noreverse bg:ansiblack fg:ansiwhite",
        "toolbar.key": "fg:ansibrightblack",
        "toolbar.warn": "fg:ansiyellow bold",
        "toolbar.expired": "fg:ansired bold",
    }
)

#: Lines of one stream printed before the rest is summarised (the transcript keeps all).
MAX_LINES = 2000

GLYPHS = {
    "succeeded": "✓",
    "failed": "✗",
    "timed_out": "⏱",
    "cancelled": "✗",
    "error": "✗",
    "abandoned": "⚠",
    "running": "…",
}


def colour_enabled(environ: Mapping[str, str]) -> bool:
    """False when ``NO_COLOR`` is set to anything non-empty (no-color.org) or ``TERM=dumb``."""
    if environ.get("NO_COLOR", ""):
        return False
    return environ.get("TERM", "").lower() != "dumb"


def _block(text: str, style: str) -> Fragments:
    """A stream's text as fragments, capped at MAX_LINES, ending with a newline."""
    if not text:
        return []
    lines = text.splitlines(keepends=True)
    frags: Fragments = []
    if len(lines) > MAX_LINES:
        hidden = len(lines) - MAX_LINES
        frags.append((style, "".join(lines[:MAX_LINES])))
        if not frags[-1][1].endswith("\n"):
            frags.append((style, "\n"))
        frags.append(("class:hidden", f"… {hidden} more lines hidden (.export FILE.md keeps them all)\n"))
        return frags
    frags.append((style, text if text.endswith("\n") else text + "\n"))
    return frags


def status_line(cell: Cell) -> Fragments:
    """``✓ succeeded · server 3 ms · round trip 41 ms`` and its failure variants."""
    status = cell.status
    glyph = GLYPHS.get(status, "•")
    timing = cell.timing_text()
    if status == "abandoned":
        return [
            ("class:status.abandoned", f"{glyph} stopped waiting"),
            ("class:timing", ": the code may still be running remotely"
             " (the session runs one execution at a time, so the next run may wait for it)\n"),
        ]
    if status == "error":
        return [("class:status.service", f"{glyph} service error"), ("class:timing", f" · {timing}\n" if timing else "\n")]
    style = "class:status.ok" if status == "succeeded" else "class:status.failed"
    label = status.replace("_", " ")
    frags: Fragments = [(style, f"{glyph} {label}")]
    if timing:
        frags.append(("class:timing", f" · {timing}"))
    frags.append(("", "\n"))
    return frags


def cell_fragments(cell: Cell) -> Fragments:
    """Stdout, stderr, the value and the status line of one finished cell."""
    frags: Fragments = []
    ex = cell.execution
    if ex is not None:
        frags += _block(ex.stdout, "class:stdout")
        frags += _block(ex.stderr, "class:stderr")
        if ex.has_value:
            frags += _block(ex.value_text, "class:value")
    if cell.error is not None and not cell.abandoned:
        frags += _block(cell.error, "class:message.error")
    frags += status_line(cell)
    return frags


def message_fragments(message: str, kind: str = "info") -> Fragments:
    style = {
        "error": "class:message.error",
        "warning": "class:message.warning",
        "warn": "class:message.warning",
        "notice": "class:notice",
    }.get(kind, "class:message")
    return _block(message, style)


class Printer:
    """Writes fragments to a prompt-toolkit ``Output`` in colour or as plain text."""

    def __init__(self, output: Output, *, colour: bool) -> None:
        self.output = output
        self.colour = colour
        #: what every printed text goes through (presenter mode redacts identifiers)
        self.redact: Callable[[str], str] = lambda text: text

    def print(self, frags: Iterable[tuple[str, str]]) -> None:
        frags = [(style, self.redact(text)) for style, text in frags]
        if not frags:
            return
        if self.colour:
            print_formatted_text(
                FormattedText(frags), style=STYLE, output=self.output, end="",
                include_default_pygments_style=False,
            )
        else:
            self.output.write(to_plain_text(FormattedText(frags)))
            self.output.flush()

    def cell(self, cell: Cell) -> None:
        self.print(cell_fragments(cell))

    def message(self, message: str, kind: str = "info") -> None:
        self.print(message_fragments(message, kind))

    def notice(self, text: str) -> None:
        """A dim one-liner (the line-mode reason, the banner, hints)."""
        self.print([("class:notice", text.rstrip("\n") + "\n")])

    def write_plain(self, text: str) -> None:
        """Unstyled text with no line ending added (the wait indicator)."""
        self.output.write(text)
        self.output.flush()

    def echo_input(self, prompt: str, continuation: str, text: str) -> None:
        """An input typed ahead, shown after the prompt as if typed there when
        its turn comes."""
        lines = text.split("\n")
        frags = [("class:prompt", prompt), ("", lines[0] + "\n")]
        for line in lines[1:]:
            frags += [("class:prompt.continuation", continuation), ("", line + "\n")]
        self.print(frags)

    def status_note(self, text: str) -> None:
        """A dim line said while an execution runs (over the wait indicator)."""
        self.write_plain("\r")
        self.print([("class:notice", text.rstrip("\n").ljust(40) + "\n")])
