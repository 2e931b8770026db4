"""Recording: the whole transcript as an asciinema cast (``.export FILE.cast``).

Why asciicast v2 and not SVG: a demo is shared after the talk to be *replayed*.
A ``.cast`` file plays with ``asciinema play FILE.cast`` in any terminal, with
the asciinema-player JavaScript/CSS in any web page (a ``<div>`` and one
script), and on asciinema.org; viewers can pause, seek, change the speed and
copy the code out of the player as text. Its format is a documented, stable,
line-per-event JSON file (a header line, then ``[time, "o", text]`` events)
that needs no tool of ours. An SVG is a picture of one screen (Textual's
``save_screenshot``): animating a whole transcript in SVG needs a custom
renderer, cannot be paused or copied from reliably, and grows with every frame.

What the cast shows is what a terminal REPL would: for each cell the prompt
``In [n]:`` and the code (continuation lines with ``...:``) at the moment the
cell started, then at the moment it finished its stdout, its stderr (red), the
value as ``Out[n]: ...``, a service error or an abandoned wait, and the status
and timing line (dim). Times are the cells' own ``started_at``/``finished_at``
relative to the first cell; long pauses between cells are kept in the file and
shortened by the player (``idle_time_limit`` in the header).

Everything that came from the session (output, values, errors) is untrusted
and is written to the viewer's terminal by ``asciinema play``: it goes through
:func:`sanitise` first, which keeps only text and colour (SGR) sequences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from repl.transcript import Cell, Transcript

DEFAULT_HEIGHT = 30
MIN_WIDTH, MAX_WIDTH = 80, 160
IDLE_TIME_LIMIT = 2.0  # seconds: the player shortens longer pauses to this

# SGR styles (standard 16 colours: they look right in any player theme).
_PROMPT = "\x1b[1;32m"
_OUT = "\x1b[1;31m"
_ERR = "\x1b[31m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"

# lead: use the shared sanitiser instead of this local one once it is merged:
# `from repl.terminal_text import safe_text as sanitise` (branch `client`, not on
# main when this was written). Same contract (printable text, \n, \t and SGR
# kept, every other control dropped); safe_text also applies \r and \b within a
# line, where this drops them, so test_sanitise_keeps_text_and_colour_only's
# "a\rb..." case then changes (tests/test_terminal_text.py covers it there).
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI (cursor moves, erase, queries, ...)
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (title, clipboard, hyperlinks), to BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # other escapes (charset switches, ESC c reset, ...)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI; other C1 introducers are dropped alone (_CONTROL)
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def sanitise(text: str) -> str:
    """Untrusted text made safe for a terminal: printable text, ``\\n``, ``\\t`` and SGR only."""
    out: list[str] = []
    pos = 0
    for m in _ESCAPE.finditer(text):
        out.append(_CONTROL.sub("", text[pos:m.start()]))
        if _SGR.fullmatch(m.group()):
            out.append(m.group())
        pos = m.end()
    out.append(_CONTROL.sub("", text[pos:]))
    return "".join(out)


def _terminal(text: str) -> str:
    """LF to CRLF, as a terminal's output post-processing (onlcr) does."""
    return text.replace("\n", "\r\n")


def _block(text: str, style: str = "") -> str:
    text = sanitise(text)
    if text.endswith("\n"):
        text = text[:-1]
    return f"{style}{text}{_RESET}\n" if style else text + "\n"


def _prompt_lines(cell: Cell) -> str:
    head = f"In [{cell.n}]: "
    cont = " " * (len(head) - 5) + "...: "
    lines = sanitise(cell.code).rstrip("\n").split("\n") or [""]
    out = [f"{_PROMPT}{head}{_RESET}{lines[0]}"]
    out.extend(f"{_PROMPT}{cont}{_RESET}{line}" for line in lines[1:])
    return "\n".join(out) + "\n"


def _result_text(cell: Cell) -> str:
    parts: list[str] = []
    ex = cell.execution
    if ex is not None:
        if ex.stdout:
            parts.append(_block(ex.stdout))
        if ex.stderr:
            parts.append(_block(ex.stderr, _ERR))
        if ex.has_value:
            head = f"Out[{cell.n}]: "
            value = sanitise(ex.value_text).rstrip("\n").replace("\n", "\n" + " " * len(head))
            parts.append(f"{_OUT}{head}{_RESET}{value}\n")
    if cell.error is not None:
        parts.append(_block(f"service error: {cell.error}", _ERR))
    if cell.abandoned:
        parts.append(_block("stopped waiting: the code may still be running remotely", _ERR))
    meta = [cell.status]
    timing = cell.timing_text()
    if timing:
        meta.append(timing)
    parts.append(_block(" · ".join(meta), _DIM))
    return "".join(parts) + "\n"


def _seconds(moment: datetime, origin: datetime) -> float:
    return max(0.0, (moment - origin).total_seconds())


def _width(cells: Iterable[Cell]) -> int:
    longest = 0
    for cell in cells:
        texts = [cell.code]
        if cell.execution is not None:
            texts += [cell.execution.stdout, cell.execution.stderr, cell.execution.value_text]
        for text in texts:
            for line in text.split("\n"):
                longest = max(longest, len(line) + 10)  # + the prompt
    return max(MIN_WIDTH, min(MAX_WIDTH, longest))


def cast_events(transcript: Transcript, *, redact: Callable[[str], str] | None = None) -> list[tuple[float, str]]:
    """``(seconds since the first cell started, terminal output)`` for every cell, in order."""
    cells = list(transcript)
    if not cells:
        return []
    origin = cells[0].started_at
    show = redact or (lambda text: text)
    events: list[tuple[float, str]] = []
    last = 0.0
    for cell in cells:
        started = max(last, _seconds(cell.started_at, origin))
        events.append((started, _terminal(show(_prompt_lines(cell)))))
        last = started
        finished = cell.finished_at
        if finished is None and cell.abandoned:
            finished = cell.started_at
        if finished is not None or cell.abandoned:
            done = max(last, _seconds(finished, origin)) if finished is not None else last
            events.append((done, _terminal(show(_result_text(cell)))))
            last = done
    return events


def to_cast(
    transcript: Transcript,
    *,
    title: str | None = "acajs-repl",
    width: int | None = None,
    height: int = DEFAULT_HEIGHT,
    redact: Callable[[str], str] | None = None,
    idle_time_limit: float | None = IDLE_TIME_LIMIT,
) -> str:
    """The transcript as an asciicast v2 file's text (one JSON document per line).

    ``redact``: applied to every text written (presenter mode passes its
    redactor); ``width``: default from the longest line (80-160 columns).
    """
    cells = list(transcript)
    start = cells[0].started_at if cells else datetime.now(UTC)
    header: dict[str, Any] = {
        "version": 2,
        "width": width or _width(cells),
        "height": height,
        "timestamp": int(start.timestamp()),
        "env": {"TERM": "xterm-256color"},
    }
    if idle_time_limit is not None:
        header["idle_time_limit"] = idle_time_limit
    if title:
        header["title"] = redact(title) if redact else title
    lines = [json.dumps(header, ensure_ascii=False)]
    for t, text in cast_events(transcript, redact=redact):
        lines.append(json.dumps([round(t, 6), "o", text], ensure_ascii=False))
    return "\n".join(lines) + "\n"


def write_cast(path: str | Path, transcript: Transcript, **options: Any) -> Path:
    """Write :func:`to_cast` to ``path`` (UTF-8); returns the path written.

    Raises ``OSError`` as writing any file does; the caller reports it.
    """
    p = Path(path).expanduser()
    p.write_text(to_cast(transcript, **options), encoding="utf-8")
    return p
