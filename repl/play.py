"""Scripted steps for live demos: a play file split into steps, and the state of a play.

The model is IPython's ``IPython.lib.demo``: prepared code is put into the
editor one step per key press (optionally typed out for the audience), the
presenter runs it with Enter, and can go back, skip, edit a step before running
it, or leave; a step that fails stops the play and says where.

This module is UI-free: the front ends (``--play FILE`` and ``.play FILE`` in
the Textual app and in line mode) own the keys, the editor and the timers; they
drive a :class:`Player` and show its :attr:`Player.progress`.

**Splitting** (:func:`split_steps`):

- A line ``// %%`` (optionally ``// %% Title``) starts a new step, as in the
  "percent" cell format of Jupytext, VS Code and Spyder. Text before the first
  marker is a step of its own. A marker inside a template literal or a block
  comment is text, not a marker.
- A file without markers is split at blank lines, but never inside a statement:
  a group ends at a blank line only when the code so far is complete
  (:func:`repl.js.completeness.needs_more_input`), so a function or a template
  literal with blank lines inside stays one step. A group made only of ``//``
  comments is joined to the group after it (the comment narrates that code).
- Steps hold no leading or trailing blank lines nor trailing spaces, and
  indentation common to all their lines is removed; a step left with nothing but
  blank lines (two markers in a row, a marker at the end) is dropped.
- A UTF-8 BOM is dropped, CRLF and CR line ends become LF; the last line needs
  no newline.

**Typing out** (:func:`typewriter`): yields :class:`Chunk` s (a delay, then the
text to append) at a chosen speed in characters per second; the front end
schedules them (it never sleeps here).
"""

from __future__ import annotations

import enum
import re
import textwrap
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from repl.js.completeness import needs_more_input, scan
from repl.transcript import Cell

DEFAULT_SPEED = 40.0  # characters per second for typing a step out
MAX_FILE_BYTES = 2 * 1024 * 1024  # a play file is a script, not a data set

# `// %%` or `// %% Title`; `//%%` too. `// %%%` and `// %%x` are not markers.
_MARKER = re.compile(r"^[ \t]*//[ \t]*%%(?:[ \t]+(?P<title>.*?))?[ \t]*$")


class PlayError(Exception):
    """A play file cannot be used, or a play operation is not possible now; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a play: the code to put in the editor."""

    code: str  # without the marker line, leading/trailing blank lines; no final newline
    title: str | None = None  # from `// %% Title`
    line: int = 1  # 1-based line of the file where ``code`` starts


@dataclass(frozen=True, slots=True)
class Script:
    """A play file's steps (at least one)."""

    steps: tuple[Step, ...]
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.steps)


def normalise(text: str) -> str:
    """Drop a BOM and turn CRLF and lone CR into LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_script(path: str | Path) -> Script:
    """Read and split a play file. Raises :class:`PlayError` with a clear message."""
    p = Path(path).expanduser()
    try:
        if p.is_dir():
            raise PlayError(f"cannot play {p}: it is a directory, not a file")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PlayError(f"cannot play {p}: {size} bytes is too large for a play file "
                            f"(at most {MAX_FILE_BYTES // 1024 // 1024} MiB)")
        data = p.read_bytes()
    except FileNotFoundError:
        raise PlayError(f"cannot play {p}: no such file") from None
    except PermissionError:
        raise PlayError(f"cannot play {p}: permission denied") from None
    except OSError as err:
        raise PlayError(f"cannot play {p}: {err.strerror or err}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise PlayError(f"cannot play {p}: it is not UTF-8 text (bad byte on line {line})") from None
    steps = split_steps(text)
    if not steps:
        raise PlayError(f"cannot play {p}: it has no code (only blank lines, markers or nothing)")
    return Script(tuple(steps), p)


def split_steps(text: str) -> list[Step]:
    """Split a play file's text into steps (see the module doc)."""
    lines = normalise(text).split("\n")
    if _has_markers(lines):
        return _split_at_markers(lines)
    return _split_at_blank_lines(lines)


def _marker_title(line: str) -> tuple[bool, str | None]:
    m = _MARKER.match(line)
    if m is None:
        return False, None
    return True, (m["title"] or None)


def _inside_literal(code_lines: list[str]) -> bool:
    """Whether the code so far ends inside a template literal or a block comment."""
    if not code_lines:
        return False
    sc = scan("\n".join(code_lines) + "\n")
    return sc.end in ("template", "block_comment") or "`" in sc.stack


def _has_markers(lines: list[str]) -> bool:
    current: list[str] = []
    for line in lines:
        if _MARKER.match(line) and not _inside_literal(current):
            return True
        current.append(line)
    return False


def _make_step(lines: list[str], first_line: int, title: str | None) -> Step | None:
    """A step from raw lines (1-based ``first_line`` of ``lines[0]``), or None if blank."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    if start == end:
        return None
    code = textwrap.dedent("\n".join(line.rstrip() for line in lines[start:end]))
    return Step(code, title, first_line + start)


def _split_at_markers(lines: list[str]) -> list[Step]:
    steps: list[Step] = []
    current: list[str] = []
    first, title = 1, None
    for i, line in enumerate(lines, start=1):
        is_marker, new_title = _marker_title(line)
        if is_marker and not _inside_literal(current):
            step = _make_step(current, first, title)
            if step is not None:
                steps.append(step)
            current, first, title = [], i + 1, new_title
        else:
            current.append(line)
    step = _make_step(current, first, title)
    if step is not None:
        steps.append(step)
    return steps


def _is_comment_only(step: Step) -> bool:
    return all(line.strip().startswith("//") for line in step.code.split("\n") if line.strip())


def _split_at_blank_lines(lines: list[str]) -> list[Step]:
    groups: list[Step] = []
    current: list[str] = []
    first = 1
    for i, line in enumerate(lines, start=1):
        if not line.strip() and any(c.strip() for c in current):
            # Without the blank lines so far: two of them would force "complete" (forced_by_blank_lines).
            code = "\n".join(current).rstrip()
            if not needs_more_input(code):
                step = _make_step(current, first, None)
                if step is not None:
                    groups.append(step)
                current, first = [], i + 1
                continue
        if not current:
            first = i
        current.append(line)
    step = _make_step(current, first, None)
    if step is not None:
        groups.append(step)
    # A comment-only group narrates the code after it: join them.
    steps: list[Step] = []
    pending: Step | None = None
    for step in groups:
        if pending is not None:
            gap = step.line - (pending.line + pending.code.count("\n") + 1)
            step = Step(pending.code + "\n" * (gap + 1) + step.code, None, pending.line)
            pending = None
        if _is_comment_only(step):
            pending = step
        else:
            steps.append(step)
    if pending is not None:
        steps.append(pending)  # a comment at the very end stays a step: it is the presenter's text
    return steps


# --------------------------------------------------------------------- player


class PlayState(enum.Enum):
    PLAYING = "playing"  # steps can be loaded, run, skipped
    FAILED = "failed"  # a step failed: the play stopped there (resume() continues)
    FINISHED = "finished"  # every step was run or skipped
    LEFT = "left"  # the presenter left play mode


class StepStatus(enum.Enum):
    PENDING = "pending"
    RAN = "ran"
    SKIPPED = "skipped"
    FAILED = "failed"


class Player:
    """Where a play is: the current step, what was run, skipped, edited or failed.

    ``index`` is the 0-based current step: the one in the editor (or about to
    be), -1 before the first :meth:`next`. The front end calls :meth:`next` on
    the presenter's key press and puts the returned step's code in the editor,
    :meth:`ran` or :meth:`fail` when the editor's text was run, and shows
    :attr:`progress` in its footer.
    """

    def __init__(self, script: Script) -> None:
        if not script.steps:
            raise PlayError("a play needs at least one step")
        self.script = script
        self.index = -1
        self.state = PlayState.PLAYING
        self.failure: str | None = None  # what fail() said
        self._edits: dict[int, str] = {}
        self._status = [StepStatus.PENDING] * len(script.steps)

    # ----------------------------------------------------------------- reading

    @property
    def total(self) -> int:
        return len(self.script.steps)

    @property
    def active(self) -> bool:
        """True while steps can be loaded and run."""
        return self.state is PlayState.PLAYING

    @property
    def finished(self) -> bool:
        """Every step was run or skipped."""
        return self.state is PlayState.FINISHED

    @property
    def current(self) -> Step | None:
        """The current step with its edit for this run, None before the first or past the last."""
        if 0 <= self.index < self.total:
            return self.step(self.index)
        return None

    def step(self, index: int) -> Step:
        """Step ``index`` (0-based) as it stands in this run (its edit, if any)."""
        step = self.script.steps[index]
        edit = self._edits.get(index)
        return step if edit is None else replace(step, code=edit)

    def status(self, index: int) -> StepStatus:
        return self._status[index]

    def edited(self, index: int) -> bool:
        return index in self._edits

    @property
    def progress(self) -> str:
        """``step 3 of 9`` (and what happened to the play when it is over)."""
        n, total = self.index + 1, self.total
        if self.state is PlayState.FINISHED:
            skipped = self._status.count(StepStatus.SKIPPED)
            return f"play finished: {total} of {total}" + (f" ({skipped} skipped)" if skipped else "")
        if self.state is PlayState.FAILED:
            return f"step {n} of {total} failed"
        if self.state is PlayState.LEFT:
            return f"left play at step {max(n, 0)} of {total}"
        if self.index < 0:
            return f"step 0 of {total}"
        title = self.script.steps[self.index].title
        return f"step {n} of {total}" + (f": {title}" if title else "")

    # ---------------------------------------------------------------- actions

    def _require_active(self, action: str) -> None:
        if self.state is not PlayState.PLAYING:
            raise PlayError(f"cannot {action}: the play is {self.state.value} ({self.progress})")

    def next(self) -> Step | None:
        """Move to the following step and return it; None (and finished) past the last."""
        self._require_active("go to the next step")
        if self.index + 1 >= self.total:
            self.index = self.total
            self.state = PlayState.FINISHED
            return None
        self.index += 1
        return self.current

    def back(self) -> Step:
        """Move to the previous step and return it (the first step stays the first).

        Also after the play finished: the presenter goes back to run the last step again.
        """
        if self.state is PlayState.FINISHED:
            self.state = PlayState.PLAYING
        self._require_active("go back")
        self.index = max(0, min(self.index, self.total) - 1)
        return self.step(self.index)

    def skip(self) -> Step | None:
        """Mark the current step skipped and move to the following one (see :meth:`next`)."""
        self._require_active("skip a step")
        if 0 <= self.index < self.total:
            self._status[self.index] = StepStatus.SKIPPED
            if self.index == self.total - 1:
                self.index = self.total
                self.state = PlayState.FINISHED
                return None
        return self.next()

    def edit(self, text: str) -> None:
        """The presenter changed the current step: keep ``text`` for the rest of this run."""
        self._require_active("edit a step")
        if not 0 <= self.index < self.total:
            raise PlayError("cannot edit a step: no step is loaded (next() first)")
        if text == self.script.steps[self.index].code:
            self._edits.pop(self.index, None)
        else:
            self._edits[self.index] = text

    def ran(self, text: str | None = None) -> None:
        """The current step ran without error (``text``: what actually ran, kept as its edit).

        After the last step the play is finished.
        """
        if text is not None:
            self.edit(text)
        self._require_active("mark a step as run")
        if not 0 <= self.index < self.total:
            raise PlayError("cannot mark a step as run: no step is loaded (next() first)")
        self._status[self.index] = StepStatus.RAN
        if self.index == self.total - 1:
            self.state = PlayState.FINISHED

    def fail(self, at: str, text: str | None = None) -> str:
        """The current step failed (``at``: where, e.g. ``In [5]: TypeError: x is not a function``).

        Stops the play and returns the message to show, which names the step
        and its line in the file.
        """
        if text is not None:
            self.edit(text)
        self._require_active("mark a step as failed")
        if not 0 <= self.index < self.total:
            raise PlayError("cannot mark a step as failed: no step is loaded (next() first)")
        self._status[self.index] = StepStatus.FAILED
        self.state = PlayState.FAILED
        step = self.script.steps[self.index]
        where = f"{self.script.path.name}:{step.line}" if self.script.path is not None else f"line {step.line}"
        label = f"step {self.index + 1} of {self.total}" + (f" ({step.title})" if step.title else "")
        self.failure = f"play stopped: {label} failed at {where}" + (f": {at}" if at else "")
        return self.failure

    def record(self, cell: Cell) -> str | None:
        """The current step was run as ``cell``: :meth:`ran` if it succeeded, else
        :meth:`fail` with what went wrong. Returns the failure message, None on success.

        The one call a front end makes after running a step (the cell's code is
        kept as the step's edit when the presenter changed it).
        """
        if cell.ok:
            self.ran(cell.code)
            return None
        return self.fail(describe_failure(cell), cell.code)

    def resume(self) -> Step:
        """After a failure: play again from the failed step (to fix and rerun it)."""
        if self.state is not PlayState.FAILED:
            raise PlayError(f"cannot resume: the play is {self.state.value}, not stopped by a failure")
        self.state = PlayState.PLAYING
        self.failure = None
        self._status[self.index] = StepStatus.PENDING
        return self.step(self.index)

    def leave(self) -> str:
        """Leave play mode (from any state); returns the message to show."""
        if self.state is PlayState.PLAYING:
            self.state = PlayState.LEFT
        return self.progress


_ERROR_LINE = re.compile(r"^(?:[A-Z]\w*(?:Error|Exception)|Error|Uncaught \w+)\b.*$", re.MULTILINE)
_MAX_FAILURE = 200


def describe_failure(cell: Cell) -> str:
    """``In [5]: ReferenceError: x is not defined``: what a failed cell says, on one line.

    The error line of the stack trace in stderr when there is one (Node prints
    the source line and a caret first), else the first line of stderr, else the
    service error, else the status (``timed_out``, ``abandoned``).
    """
    text = ""
    ex = cell.execution
    if ex is not None and ex.stderr.strip():
        errors = _ERROR_LINE.findall(ex.stderr)
        text = errors[-1].strip() if errors else next(line.strip() for line in ex.stderr.splitlines() if line.strip())
    elif cell.error:
        text = cell.error.strip().splitlines()[0]
    status = cell.status.replace("_", " ")
    if status != "failed":
        text = f"{status}: {text}" if text else status
    if len(text) > _MAX_FAILURE:
        text = text[: _MAX_FAILURE - 1] + "…"
    return f"In [{cell.n}]: {text}"


# ----------------------------------------------------------------- typewriter


@dataclass(frozen=True, slots=True)
class Chunk:
    delay: float  # seconds to wait before appending ``text``
    text: str


def typewriter(text: str, speed: float = DEFAULT_SPEED, *, frame: float = 1 / 30) -> Iterator[Chunk]:
    """The chunks that type ``text`` out at ``speed`` characters per second.

    Joined, the chunks are ``text``. Each chunk is about one frame's worth of
    characters (``frame`` seconds; at most 30 updates a second by default), its
    ``delay`` what those characters take to type. A line's indentation comes
    with its first character (an editor indents by itself), a chunk never runs
    past a newline, and a combining mark stays with its base character.
    ``speed`` 0, negative or infinite: one chunk, no delay.
    """
    if not text:
        return
    if not speed > 0 or speed == float("inf"):
        yield Chunk(0.0, text)
        return
    per_frame = max(1, round(speed * frame))
    i, n = 0, len(text)
    while i < n:
        j, typed = i, 0
        while j < n and typed < per_frame:
            if text[j] in " \t" and (j == 0 or text[j - 1] == "\n"):
                while j < n and text[j] in " \t":  # indentation: instant
                    j += 1
                continue
            ch = text[j]
            j += 1
            typed += 1
            while j < n and unicodedata.combining(text[j]):
                j += 1
            if ch == "\n":
                break
        yield Chunk(typed / speed, text[i:j])
        i = j


def typing_time(text: str, speed: float = DEFAULT_SPEED) -> float:
    """Seconds that :func:`typewriter` takes for ``text`` at ``speed``."""
    return sum(c.delay for c in typewriter(text, speed))
