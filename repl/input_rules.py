"""What the keys of the input editor mean: one set of rules for both front ends.

The full-screen editor (``repl.tui.widgets.editor``) and the line-mode prompt
(``repl.line.keys``) are adapters: they ask these functions and carry out the
answer. Nothing here knows about Textual or prompt-toolkit.

- :func:`enter_action`: Enter runs, continues or inserts a line
  (the Node REPL's rule at the end of the input, IPython's inside a block).
- :func:`newline_indent`: the indentation of the line Enter opens.
- :func:`closer_dedent`: how much a ``)``, ``]`` or ``}`` typed on an
  indent-only line takes back, so the closer lines up with its opener.
- :func:`split_typeahead`: keys typed while an execution ran, cut into the
  inputs Enter would have submitted, plus what is left for the editor.
"""

from __future__ import annotations

from typing import Literal

from repl.dotcommands import is_dot_command
from repl.js.completeness import INDENT, continuation_indent, needs_more_input, scan

__all__ = [
    "INDENT_UNIT",
    "CLOSERS",
    "EnterAction",
    "enter_action",
    "newline_indent",
    "closer_dedent",
    "split_typeahead",
    "is_break",
]

INDENT_UNIT = INDENT
CLOSERS = frozenset(")]}")

#: ``"run"``: submit the input; ``"newline"``: insert a line break (with
#: :func:`newline_indent`); ``"break"``: drop the pending block (``.break`` on
#: its last line, as in the Node REPL); ``"ignore"``: nothing to do (blank input).
EnterAction = Literal["run", "newline", "break", "ignore"]


def is_break(text: str) -> bool:
    """``.break`` (or ``.break`` as the last line of a block): drop the input."""
    last = text.rstrip().rsplit("\n", 1)[-1].strip()
    return last == ".break"


def enter_action(text: str, cursor: int | None = None, *, editor_mode: bool = False) -> EnterAction:
    """What Enter does with ``text`` when the cursor is at offset ``cursor``
    (``None``: at the end).

    - blank input: ``"ignore"``;
    - ``.break`` on the last line: ``"break"``;
    - a one-line dot-command: ``"run"`` (also in editor mode, so ``.editor``
      leaves it);
    - editor mode: ``"newline"``;
    - the cursor inside a block of several lines (text after it on any line):
      ``"newline"``, so a line can be added in the middle of a function, as in
      IPython; Ctrl+J or Alt+Enter run from anywhere;
    - otherwise ``"run"`` when the input is complete
      (:func:`repl.js.completeness.needs_more_input`; two blank lines at the end
      force a run), else ``"newline"``.
    """
    if not text.strip():
        return "ignore"
    if is_break(text):
        return "break"
    if is_dot_command(text):
        return "run"
    if editor_mode:
        return "newline"
    at_end = cursor is None or not text[cursor:].strip()
    if not at_end and "\n" in text.strip():
        return "newline"
    try:
        incomplete = needs_more_input(text)
    except Exception:  # a checker bug must never trap the user: the server judges
        incomplete = False
    return "newline" if incomplete else "run"


def newline_indent(text_before_cursor: str) -> str:
    """Indentation for the line Enter opens after ``text_before_cursor``."""
    if not text_before_cursor.strip():
        return ""
    try:
        return continuation_indent(text_before_cursor)
    except Exception:  # keep the current line's indentation
        last = text_before_cursor.rsplit("\n", 1)[-1]
        return last[: len(last) - len(last.lstrip())]


def closer_dedent(text_before_cursor: str) -> int:
    """How many characters before the cursor a typed closing bracket removes.

    On a line holding only indentation, in code (not inside a string, a
    template literal or a comment), one indent unit goes, so ``}`` lines up
    with the line that opened the block, as in the Node REPL and every code
    editor. Elsewhere: 0.
    """
    line = text_before_cursor.rsplit("\n", 1)[-1]
    if not line or line.strip():
        return 0
    try:
        sc = scan(text_before_cursor)
    except Exception:
        return 0
    if sc.error or sc.end != "code" or (sc.stack and sc.stack[-1] == "`"):
        return 0
    return min(len(line), len(INDENT_UNIT))


def split_typeahead(typed: str, *, editor_mode: bool = False) -> tuple[list[str], str]:
    """Cut keys typed ahead (``\\n`` for each Enter) into submitted inputs.

    Each Enter is judged as :func:`enter_action` would judge it at the end of
    the text typed so far: a complete input is submitted, an incomplete one
    continues on the next line (the typed indentation is kept as typed; no
    automatic indent is added, since a pasted block brings its own), ``.break``
    drops the block, a blank line is skipped. Returns the inputs in order and
    the text after the last Enter that submitted (for the editor).
    """
    inputs: list[str] = []
    block: list[str] = []
    lines = typed.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        block.append(line)
        if i == len(lines) - 1:
            break  # no Enter after the last line: it stays in the editor
        text = "\n".join(block)
        action = enter_action(text, editor_mode=editor_mode)
        if action == "run":
            inputs.append(text)
            block = []
        elif action in ("break", "ignore"):
            block = []
    return inputs, "\n".join(block)
