"""Key bindings of the line-mode prompt.

- Enter runs the input when it is complete (``needs_more_input`` is False, the
  same check as the Textual app) and otherwise inserts a newline with the
  continuation indent; two blank lines at the end force a run; a dot-command
  line always runs.
- Alt+Enter, Escape then Enter (the same key sequence to a terminal) and Ctrl+J
  always run.
- ``.editor`` mode: Enter inserts a newline (except after a one-line
  dot-command); Alt+Enter / Ctrl+J run.
- ``)``, ``]`` or ``}`` typed on an indent-only line removes one indent level
  first, so the closer lines up with the line that opened the block.

Ctrl+C (cancel the input), Ctrl+D (exit on an empty line) and Ctrl+R (reverse
history search) are prompt-toolkit's own bindings of ``PromptSession``.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import has_focus
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from repl.dotcommands import is_dot_command
from repl.js.completeness import INDENT, continuation_indent, needs_more_input, scan

PROMPT = "js> "
CONTINUATION = "... "


def enter_action(text: str, *, editor_mode: bool = False) -> str:
    """What Enter does with ``text`` in the editor: ``"run"`` or ``"newline"``."""
    if is_dot_command(text):  # one line; also in editor mode, so `.editor` leaves it
        return "run"
    if editor_mode:
        return "newline"
    if not text.strip():
        return "run"
    try:
        incomplete = needs_more_input(text)  # two blank lines at the end: False (forced run)
    except Exception:  # a parser problem must not trap the user in the editor
        incomplete = False
    return "newline" if incomplete else "run"


def _in_code(text: str) -> bool:
    """Whether the end of ``text`` is code (not string or template content)."""
    try:
        sc = scan(text)
    except Exception:
        return False
    return not sc.error and sc.end == "code" and not (sc.stack and sc.stack[-1] == "`")


def build_key_bindings(editor_mode: Callable[[], bool] = lambda: False, *,
                       dumb_echo: Callable[[str], None] | None = None) -> KeyBindings:
    """``dumb_echo``: on a dumb terminal prompt-toolkit echoes only the last
    character of each change, so the continuation prompt is written through it."""
    kb = KeyBindings()
    focused = has_focus(DEFAULT_BUFFER)

    def run(buf: Buffer) -> None:
        buf.validate_and_handle()

    @kb.add("enter", filter=focused)
    def _enter(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        doc = buf.document
        action = enter_action(doc.text, editor_mode=editor_mode())
        if action == "run":
            run(buf)
            return
        try:
            indent = continuation_indent(doc.text_before_cursor)
        except Exception:
            indent = ""
        if dumb_echo is None:
            buf.insert_text("\n" + indent)
            return
        buf.insert_text("\n")  # each insert echoes its last character
        dumb_echo(CONTINUATION)
        for ch in indent:
            buf.insert_text(ch)

    if dumb_echo is None:  # a dumb terminal would not show the deletion

        def _closer(event: KeyPressEvent) -> None:
            """A closing bracket typed on an indent-only line goes back one level
            (as in the full-screen editor), lining up with the line that opened it."""
            buf = event.current_buffer
            before = buf.document.current_line_before_cursor
            if before and not before.strip() and not buf.selection_state and _in_code(buf.document.text_before_cursor):
                buf.delete_before_cursor(min(len(before), len(INDENT)))
            buf.insert_text(event.data)

        for ch in ")]}":
            kb.add(ch, filter=focused)(_closer)

    @kb.add("escape", "enter", filter=focused)
    @kb.add("c-j", filter=focused)
    def _force_run(event: KeyPressEvent) -> None:
        run(event.current_buffer)

    return kb

