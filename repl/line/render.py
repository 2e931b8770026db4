"""How line mode prints: cells, command results and notices.

Everything is built as prompt-toolkit fragments ``(style, text)`` with the class
names of :data:`STYLE`; :class:`Printer` writes them in colour, or, when colour
is off (``NO_COLOR``, ``TERM=dumb``), as plain text with no escape codes at all.

Text that came from the remote session (output, values, service errors) goes
through :mod:`repl.terminal_text` first: its colours (SGR) become fragments of
their own, ``\r`` progress and ``\b`` are applied, and every other control
sequence is dropped, so remote output cannot drive the terminal. (prompt-toolkit's
``Output.write`` would also turn a stray ESC into ``?``: a second line of defence.)
What the pool cut from a stream is said right after that stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from prompt_toolkit.formatted_text import ANSI, FormattedText, to_formatted_text, to_plain_text
from prompt_toolkit.output import Output
from prompt_toolkit.shortcuts import print_formatted_text
from prompt_toolkit.styles import Style

from repl.terminal_text import plain_text, safe_text
from repl.transcript import Cell
from repl.vocabulary import status_words

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



def colour_enabled(environ: Mapping[str, str]) -> bool:
    """False when ``NO_COLOR`` is set to anything non-empty (no-color.org) or ``TERM=dumb``."""
    if environ.get("NO_COLOR", ""):
        return False
    return environ.get("TERM", "").lower() != "dumb"


def _block(text: str, style: str) -> Fragments:
    """Our own text as fragments, capped at MAX_LINES, ending with a newline."""
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


def remote_block(text: str, style: str) -> Fragments:
    """Remote text (stdout, stderr, a value) as fragments: sanitised, its own colours
    kept on top of ``style``, capped at MAX_LINES like :func:`_block`."""
    if not text:
        return []
    frags: Fragments = []
    state = ""  # the SGR sequences in effect since the last reset
    for i, part in enumerate(_SGR.split(safe_text(text))):
        if i % 2:
            reset = part in ("\x1b[m", "\x1b[0m")
            state = "" if reset else (part if len(state) > 512 else state + part)
        elif part:
            frags.append((f"{style} {_sgr_style(state)}".rstrip(), part))
    # Cap by lines on the fragments (a line may span several colour runs).
    out: Fragments = []
    seen = 0
    for i, (st, chunk) in enumerate(frags):
        newlines = chunk.count("\n")
        if seen + newlines >= MAX_LINES:
            keep = chunk.split("\n")[:MAX_LINES - seen]
            out.append((st, "\n".join(keep) + "\n"))
            rest = sum(c.count("\n") for _, c in frags[i:]) - (MAX_LINES - seen)
            if not frags[-1][1].endswith("\n"):
                rest += 1
            if rest > 0:
                out.append(("class:hidden", f"… {rest} more lines hidden (.export FILE.md keeps them all)\n"))
                return out
            return out if out[-1][1] else out[:-1]
        seen += newlines
        out.append((st, chunk))
    if not out or not out[-1][1].endswith("\n"):
        out.append((style, "\n"))
    return out


_SGR = re.compile(r"(\x1b\[[0-9;:]*m)")


@lru_cache(maxsize=256)
def _sgr_style(sgr: str) -> str:
    """The prompt-toolkit style of a run of SGR sequences ("" for none)."""
    if not sgr:
        return ""
    return str(to_formatted_text(ANSI(sgr + "x"))[0][0])


def truncation_fragment(what: str, dropped: int, limit: int | None) -> Fragments:
    """``… stdout was cut by the pool: 1,200 more characters not shown (limit …)``."""
    if not dropped:
        return []
    cap = f" (limit {limit:,} characters)" if limit else ""
    return [("class:hidden", f"… {what} was cut by the pool: {dropped:,} more characters not shown{cap}\n")]


def status_line(cell: Cell) -> Fragments:
    """``✓ succeeded · server 3 ms · round trip 41 ms`` and its failure variants."""
    status = cell.status
    glyph = status_words(status).glyph  # the shared vocabulary (repl.vocabulary)
    timing = cell.timing_text()
    if status == "abandoned":
        return [
            ("class:status.abandoned", f"{glyph} stopped waiting"),
            ("class:timing", ": the code may still be running remotely"
             " (the session runs one execution at a time, so the next run may wait for it)\n"),
        ]
    if status == "error":
        return [("class:status.service", f"{glyph} service error"),
                ("class:timing", f" · {timing}\n" if timing else "\n")]
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
        frags += remote_block(ex.stdout, "class:stdout")
        frags += truncation_fragment("stdout", ex.stdout_dropped, ex.output_limit)
        frags += remote_block(ex.stderr, "class:stderr")
        frags += truncation_fragment("stderr", ex.stderr_dropped, ex.output_limit)
        if ex.has_value:
            frags += remote_block(ex.value_text, "class:value")
        frags += truncation_fragment("the value", ex.value_dropped, ex.output_limit)
    if cell.error is not None and not cell.abandoned:
        frags += _block(plain_text(cell.error), "class:message.error")
    frags += status_line(cell)
    return frags


def message_fragments(message: str, kind: str = "info") -> Fragments:
    style = {
        "error": "class:message.error",
        "warning": "class:message.warning",
        "warn": "class:message.warning",
        "notice": "class:notice",
    }.get(kind, "class:message")
    return _block(plain_text(message), style)


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
