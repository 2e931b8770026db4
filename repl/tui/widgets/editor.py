"""The input editor: a TextArea with JavaScript highlighting (tree-sitter).

What Enter, a closing bracket and the indentation do is decided by
:mod:`repl.input_rules` (the same rules as line mode); this widget carries them
out. Ctrl+J / Alt+Enter (ESC CR too) / Ctrl+Enter always run. Up on the first
line and Down on the last line walk the history. Escape never moves focus out
of the editor (the screen gives it its REPL meaning). Ctrl+D on an empty
editor asks to exit.

A submission takes the submitted text out of the editor at once, in the same
key handler: keys typed after it (type-ahead, a keystroke paste) stay, never
wiped by a later clear.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from repl.input_rules import CLOSERS, closer_dedent, enter_action, newline_indent

if TYPE_CHECKING:
    from textual.widgets.text_area import SyntaxAwareDocument
    from tree_sitter import Language, Query

#: (id of the language, query text) -> (the language, kept alive with its query; the query)
_QUERIES: dict[tuple[int, str], tuple[Language, Query | None]] = {}
_queries_kept_alive = False


def _keep_queries_alive() -> None:
    """Work around a crash in tree-sitter 0.26: freeing a ``Query`` can segfault.

    Textual prepares the highlight query again on every ``load_text``; cache the
    prepared queries (one per language and query text) so none is ever freed.
    """
    global _queries_kept_alive
    if _queries_kept_alive:
        return
    try:
        from textual.widgets.text_area import SyntaxAwareDocument
    except ImportError:  # no tree-sitter support in Textual
        return
    original = SyntaxAwareDocument.prepare_query

    def prepare_query(self: SyntaxAwareDocument, query: str) -> Query | None:
        key = (id(self.language), query)
        prepared = _QUERIES.get(key)
        if prepared is None:
            prepared = _QUERIES[key] = (self.language, original(self, query))
        return prepared[1]

    # Replacing a method of Textual's (private) document class: no typed way to patch it.
    SyntaxAwareDocument.prepare_query = prepare_query  # type: ignore[method-assign]
    _queries_kept_alive = True


def prepare_highlighting() -> None:
    """Load tree-sitter's JavaScript and prepare its highlight query (~10 ms),
    for a thread: ``enable_highlighting`` on the event loop then finds them
    ready. Does nothing without tree-sitter."""
    try:
        language, query = _javascript_language()
        from tree_sitter import Query
    except Exception:
        return
    key = (id(language), query)
    if key not in _QUERIES:
        _QUERIES[key] = (language, Query(language, query))


@lru_cache(maxsize=1)
def _javascript_language() -> tuple[Language, str]:
    """tree-sitter JavaScript and the highlight query the package ships."""
    from importlib.resources import files

    import tree_sitter_javascript
    from tree_sitter import Language

    query = (files(tree_sitter_javascript) / "queries" / "highlights.scm").read_text()
    return Language(tree_sitter_javascript.language()), query


PLACEHOLDER = "JavaScript here · Enter runs · .help lists the commands · F1 help"


class InputEditor(TextArea):
    HELP = """\
## Input editor

Type JavaScript. **Enter** runs a complete program; an unfinished one
(open bracket, string, template literal, comment) gets a new indented line.
Two blank lines at the end force a run. **Ctrl+J** or **Alt+Enter** always run.

**Up** on the first line / **Down** on the last line walk the history,
**Ctrl+R** searches it, **F2** opens the history browser.
**Ctrl+O** edits the input in `$EDITOR`. **Tab** completes.
Lines starting with a dot are commands: try `.help`.
"""

    BINDINGS = [
        # Not a priority binding: those run when the key reaches the app, ahead of
        # keys typed before it that the editor has not taken yet (type-ahead under
        # load ran "fu" of "function g() {" + Alt+Enter). This one is checked when
        # the key has gone through the editor, in order.
        Binding("ctrl+j,alt+enter,ctrl+enter", "run", "Run", id="editor.run"),
        Binding("ctrl+o", "external_editor", "$EDITOR", id="editor.external"),
        Binding("tab", "complete", "Complete", show=False, id="editor.complete"),
        # (replaces TextArea's own ctrl+d; in order with typed keys, as above)
        Binding("ctrl+d", "exit_or_delete", "Exit", show=False, id="editor.exit"),
    ]

    class Submitted(Message):
        def __init__(self, editor: InputEditor, text: str) -> None:
            super().__init__()
            self.editor = editor
            self.text = text

    class HistoryStep(Message):
        """Up on the first line (-1) / Down on the last line (+1)."""

        def __init__(self, editor: InputEditor, step: int) -> None:
            super().__init__()
            self.editor = editor
            self.step = step

    class ExitRequested(Message):
        """Ctrl+D on an empty editor."""

        def __init__(self, editor: InputEditor) -> None:
            super().__init__()
            self.editor = editor

    class ExternalEdit(Message):
        def __init__(self, editor: InputEditor) -> None:
            super().__init__()
            self.editor = editor

    class CompleteRequested(Message):
        def __init__(self, editor: InputEditor, source: str, cursor: int) -> None:
            super().__init__()
            self.editor = editor
            self.source = source
            self.cursor = cursor

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None, disabled: bool = False
    ) -> None:
        super().__init__(
            "",
            soft_wrap=True,
            tab_behavior="indent",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder=PLACEHOLDER,
            name=name,
            id=id,
            classes=classes,
            disabled=disabled,
        )
        self.editor_mode = False
        self._highlighting_tried = False

    # Highlighting (tree-sitter's parser and query, ~10 ms) is not switched on
    # at mount: an empty editor does not need it, and the screen's start-up
    # (first frame, then the connection) should not wait for it. The screen
    # switches it on once the header names the session; a key pressed sooner
    # switches it on first.
    def enable_highlighting(self) -> None:
        if self._highlighting_tried:
            return
        self._highlighting_tried = True
        _keep_queries_alive()
        try:
            language, query = _javascript_language()
        except Exception:  # no tree-sitter: plain text, still usable
            return
        self.register_language("javascript", language, query)
        # Switching the language rebuilds the document and puts the cursor at the
        # start: it happens after start-up now, when text may be there (a paste,
        # a play's step being typed), so the selection is put back.
        selection = self.selection
        self.language = "javascript"
        self.selection = selection

    def _build_highlight_map(self) -> None:
        # tree-sitter returns overlapping captures in no fixed order; sort them
        # so the same text is always drawn the same way (wider spans first,
        # narrower ones on top).
        super()._build_highlight_map()
        for spans in self._highlights.values():
            spans.sort(key=lambda h: (h[0], -(h[1] if h[1] is not None else 1 << 30), h[2]))

    # ---------------------------------------------------------- submission
    def set_text(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    @property
    def cursor_offset(self) -> int:
        """The cursor as an offset into ``text``."""
        row, col = self.cursor_location
        return sum(len(self.document.get_line(r)) + 1 for r in range(row)) + col

    def action_run(self) -> None:
        self._submit()

    def action_exit_or_delete(self) -> None:
        if not self.text:
            self.post_message(self.ExitRequested(self))
        else:
            self.action_delete_right()

    def _submit(self) -> None:
        text = self.text
        self.load_text("")
        if text.strip():
            self.post_message(self.Submitted(self, text))

    # Set by repl.tui.completer: while its list is open it takes Up/Down/Enter/
    # Tab/Escape first (True: the key is used); the editor keeps the focus.
    completion_keys: Callable[[events.Key], bool] | None = None

    async def _on_key(self, event: events.Key) -> None:
        self.enable_highlighting()
        if self.completion_keys is not None and self.completion_keys(event):
            event.stop()
            event.prevent_default()
            return
        if event.key == "escape":
            # Escape never leaves the editor (TextArea's indent mode would move
            # focus on, and later letters would become cell actions); the
            # screen's binding gives it its meaning (close a list, stop waiting).
            event.stop()
            event.prevent_default()
            return
        if event.key == "tab" and not self.read_only and self._tab_completes():
            event.stop()
            event.prevent_default()
            self.action_complete()
            return
        if event.key == "enter" and not self.read_only:
            event.stop()
            event.prevent_default()
            self._enter()
            return
        if event.character in CLOSERS and not self.read_only and not self.selected_text:
            self._dedent_current_line()
        await super()._on_key(event)

    def _text_before_cursor(self) -> str:
        return self.text[: self.cursor_offset]

    def _dedent_current_line(self) -> None:
        width = closer_dedent(self._text_before_cursor())
        if width:
            row, column = self.cursor_location
            self.delete((row, column - width), (row, column))

    def _enter(self) -> None:
        action = enter_action(self.text, self.cursor_offset, editor_mode=self.editor_mode)
        if action == "run":
            self._submit()
        elif action == "newline":
            self.insert("\n" + newline_indent(self._text_before_cursor()))
        elif action == "break":
            self.clear()

    # ---------------------------------------------------------- history
    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == 0 and not self.selected_text:
            self.post_message(self.HistoryStep(self, -1))
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        last = self.document.line_count - 1
        if not select and self.cursor_location[0] == last and not self.selected_text:
            self.post_message(self.HistoryStep(self, 1))
            return
        super().action_cursor_down(select)

    # ---------------------------------------------------------- other
    def action_external_editor(self) -> None:
        self.post_message(self.ExternalEdit(self))

    def _tab_completes(self) -> bool:
        """Tab asks for completion unless it is remapped (then it indents)."""
        try:
            keys = self.app._keymap.get("editor.complete")
        except Exception:
            keys = None
        return keys is None or "tab" in keys.split(",")

    def indent(self) -> None:
        self.insert(" " * self.indent_width)

    def action_complete(self) -> None:
        row, col = self.cursor_location
        lines = self.text.split("\n")
        offset = sum(len(line) + 1 for line in lines[:row]) + col
        self.post_message(self.CompleteRequested(self, self.text, offset))
