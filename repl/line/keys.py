"""Key bindings of the line-mode prompt: adapters over :mod:`repl.input_rules`.

- Enter does what :func:`repl.input_rules.enter_action` says for the text and
  the cursor: run, continue with the indentation of
  :func:`~repl.input_rules.newline_indent`, insert a line inside a block, or
  drop the block (``.break``).
- Alt+Enter, Escape then Enter (the same key sequence to a terminal) and Ctrl+J
  always run.
- ``)``, ``]`` or ``}`` typed on an indent-only line removes what
  :func:`~repl.input_rules.closer_dedent` says.

Ctrl+C (clear the input), Ctrl+D (exit on an empty line) and Ctrl+R (reverse
history search) are prompt-toolkit's own bindings of ``PromptSession``.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.buffer import Buffer
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import has_focus
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from repl.input_rules import CLOSERS, closer_dedent, enter_action, newline_indent

PROMPT = "js> "
CONTINUATION = "... "


def build_key_bindings(
    editor_mode: Callable[[], bool] = lambda: False, *, dumb_echo: Callable[[str], None] | None = None
) -> KeyBindings:
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
        action = enter_action(doc.text, doc.cursor_position, editor_mode=editor_mode())
        if action in ("run", "ignore"):
            run(buf)
            return
        if action == "break":
            buf.reset()
            return
        indent = newline_indent(doc.text_before_cursor)
        if dumb_echo is None:
            buf.insert_text("\n" + indent)
            return
        buf.insert_text("\n")  # each insert echoes its last character
        dumb_echo(CONTINUATION)
        for ch in indent:
            buf.insert_text(ch)

    if dumb_echo is None:  # a dumb terminal would not show the deletion

        def _closer(event: KeyPressEvent) -> None:
            buf = event.current_buffer
            if not buf.selection_state:
                width = closer_dedent(buf.document.text_before_cursor)
                if width:
                    buf.delete_before_cursor(width)
            buf.insert_text(event.data)

        for ch in sorted(CLOSERS):
            kb.add(ch, filter=focused)(_closer)

    @kb.add("escape", "enter", filter=focused)
    @kb.add("c-j", filter=focused)
    def _force_run(event: KeyPressEvent) -> None:
        run(event.current_buffer)

    return kb
