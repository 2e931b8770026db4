"""The transcript: one :class:`Cell` per execution, exportable as Markdown or JavaScript.

A cell records what the user typed (``code``), what went over the wire
(``sent_code``: differs from ``code`` after the top-level-await rewrite), the
normalised :class:`~repl.api.models.Execution` or, for a service failure
(HTTP, auth, network), the ``error`` text; ``abandoned`` means the user stopped
waiting and the code may still be running remotely.

Exports hold no control sequence: the Markdown export is plain text
(:func:`repl.terminal_text.plain_text` on everything remote, so a pager or an
editor showing the file cannot be driven by it), and the JavaScript export
writes any control character of the inputs as a ``\\uXXXX`` escape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from repl.terminal_text import plain_text
from repl.vocabulary import format_ms

if TYPE_CHECKING:
    # (annotations only: importing repl.api imports the HTTP client, which the
    # TUI's first frame does not need)
    from repl.api.models import Execution
    from repl.continuity import ReplayBatch

def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Cell:
    n: int
    code: str
    sent_code: str | None = None
    execution: Execution | None = None
    error: str | None = None
    started_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None
    abandoned: bool = False
    dropped: bool = False  # typed ahead, then dropped from the queue: never sent
    session: str | None = None  # identifier the code was sent to
    notice: str | None = None  # said before the output: the session was lost, a replay stopped here
    waiting_behind: int | None = None  # the n of an abandoned cell still running on the server
    replay: ReplayBatch | None = field(default=None, repr=False, compare=False)  # part of a .replay
    play_step: bool = False  # the step of a .play that was in the input

    @property
    def running(self) -> bool:
        return self.finished_at is None and not self.abandoned and not self.dropped

    @property
    def status(self) -> str:
        """``running`` | ``abandoned`` | ``dropped`` | ``error`` (service failure) | an ExecutionStatus value."""
        if self.dropped:
            return "dropped"
        if self.abandoned:
            return "abandoned"
        if self.error is not None:
            return "error"
        if self.execution is not None:
            return self.execution.status.value
        return "running"

    @property
    def ok(self) -> bool:
        return self.execution is not None and self.execution.ok and self.error is None

    @property
    def elapsed_ms(self) -> float | None:
        """Wall time from start to finish as seen by the engine."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000

    @property
    def rewritten(self) -> bool:
        return self.sent_code is not None and self.sent_code != self.code

    def timing_text(self) -> str:
        """``server 3 ms · round trip 41 ms`` (the parts that are known)."""
        if self.abandoned:
            waited = self.elapsed_ms
            return f"abandoned after {_ms(waited)}" if waited is not None else "abandoned"
        parts: list[str] = []
        ex = self.execution
        if ex is not None and ex.server_ms is not None:
            parts.append(f"server {_ms(ex.server_ms)}")
        rt = ex.round_trip_ms if ex is not None and ex.round_trip_ms is not None else self.elapsed_ms
        if rt is not None:
            parts.append(f"round trip {_ms(rt)}")
        return " · ".join(parts)


_ms = format_ms  # one way to write a duration (repl.vocabulary)


_JS_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def js_source_text(code: str) -> str:
    """``code`` with CR/CRLF line ends as LF and every other control character
    written as a ``\\uXXXX`` escape: the same program (inside a string, template
    or regex literal the escape means the same character; in a comment it does
    not matter; anywhere else the raw character was a syntax error already),
    and a file that cannot drive the terminal showing it."""
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    return _JS_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", code)


def _fence(text: str, lang: str = "") -> str:
    """A Markdown code fence long enough not to be closed by the text itself."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{ticks}{lang}\n{body}{ticks}\n"


class Transcript:
    def __init__(self) -> None:
        self.cells: list[Cell] = []

    def add(self, cell: Cell) -> Cell:
        self.cells.append(cell)
        return cell

    def clear(self) -> None:
        self.cells.clear()

    def __len__(self) -> int:
        return len(self.cells)

    def __iter__(self) -> Iterator[Cell]:
        return iter(self.cells)

    def to_javascript(self) -> str:
        """The inputs, in order, as a .js file (what the user typed, not the rewrite)."""
        out = ["// acajs-repl session inputs\n"]
        for cell in self.cells:
            out.append(f"\n// In [{cell.n}]\n")
            code = js_source_text(cell.code)
            out.append(code if code.endswith("\n") else code + "\n")
        return "".join(out)

    def to_markdown(self, title: str = "acajs-repl transcript") -> str:
        lines: list[str] = [f"# {title}\n"]
        for cell in self.cells:
            lines.append(f"\n## In [{cell.n}]\n\n")
            lines.append(_fence(js_source_text(cell.code), "javascript"))
            if cell.rewritten:
                lines.append("\nSent (rewritten for top-level await):\n\n")
                lines.append(_fence(js_source_text(cell.sent_code or ""), "javascript"))
            ex = cell.execution
            if ex is not None:
                if ex.stdout:
                    lines.append("\nstdout:\n\n")
                    lines.append(_fence(plain_text(ex.stdout), "text"))
                if ex.stderr:
                    lines.append("\nstderr:\n\n")
                    lines.append(_fence(plain_text(ex.stderr), "text"))
                if ex.has_value:
                    lines.append(f"\nOut[{cell.n}]:\n\n")
                    lines.append(_fence(plain_text(ex.value_text), "javascript"))
                for note in ex.truncation_notes():
                    lines.append(f"\n_{note}_\n")
            if cell.error is not None:
                lines.append("\nService error:\n\n")
                lines.append(_fence(plain_text(cell.error), "text"))
            meta = [f"status: **{cell.status}**"]
            timing = cell.timing_text()
            if timing:
                meta.append(timing)
            meta.append(f"started {cell.started_at.isoformat(timespec='seconds')}")
            if cell.abandoned:
                meta.append("abandoned: the code may still be running remotely")
            lines.append("\n" + " · ".join(meta) + "\n")
        return "".join(lines)
