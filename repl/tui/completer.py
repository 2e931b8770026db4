"""Tab completion in the Textual editor: the adapter over ``engine.completer``.

:class:`CompletionController` connects three things: the input editor (which
keeps the focus all along), the :class:`~repl.tui.widgets.completion.CompletionList`
view, and the engine's :class:`repl.js.completion.Completer` (the candidates,
the property cache, the probe). It holds no completion logic of its own.

Tab (``request``):

* the local answer comes at once (names, cached properties, dot-command words
  and local paths); only a property context with nothing cached asks the
  session, in a worker, while the editor goes on taking keys;
* nothing to complete on blank space or in text: Tab indents;
* one candidate is inserted; several with a longer common prefix insert the
  prefix; otherwise the list opens under the cursor.

When the probe's answer arrives after the user typed on, it is re-filtered
for the text as it is now (``Completer.refine``) and the list opens filtered;
nothing is inserted behind the user's back, and an answer for a word the
cursor has left is dropped.

While the list is open the editor's keys drive it (``handle_key``, which the
editor asks first): Up/Down/Page Up/Page Down move, Enter and Tab choose (the
``completion.choose`` keys), Escape closes (``completion.close``). Every other
key goes to the editor as usual; each change of the editor's cursor re-filters
the list locally (``refine``: no new probe), and the list closes when nothing
matches, when the only candidate is what is typed, or when the cursor leaves
the word.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from textual import events
from textual.screen import Screen
from textual.widgets.text_area import Selection

from repl.js.completion import PROBE_TIMEOUT, Completion, Completions
from repl.tui.widgets.completion import MAX_ROWS, CompletionList
from repl.tui.widgets.editor import InputEditor

if TYPE_CHECKING:
    from repl.engine import ReplEngine

__all__ = ["CompletionController"]

_MOVES = {"up": -1, "down": 1, "pageup": -MAX_ROWS, "pagedown": MAX_ROWS}
_INDENT_CONTEXTS = frozenset({"code", "none"})  # where Tab with nothing to offer indents


def _location(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n"), len(before) - (before.rfind("\n") + 1)


def _offset(editor: InputEditor) -> int:
    row, col = editor.cursor_location
    lines = editor.text.split("\n")
    return sum(len(line) + 1 for line in lines[:row]) + col


class CompletionController:
    """Tab completion for one editor on one screen (see the module docstring)."""

    def __init__(
        self,
        screen: Screen[Any],
        editor: InputEditor,
        engine: Callable[[], ReplEngine | None],
        *,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        self.screen = screen
        self.editor = editor
        self._engine = engine
        keys = dict(keymap or {})
        self._choose_keys = set(keys.get("completion.choose", "enter,tab").split(","))
        self._close_keys = set(keys.get("completion.close", "escape").split(","))
        self._menu: CompletionList | None = None
        self._shown: Completions | None = None
        self._request: tuple[str, int] | None = None  # (source, cursor) of the Tab awaiting the session
        self._applying = False
        editor.completion_keys = self.handle_key
        editor.watch(editor, "selection", self._editor_moved, init=False)

    # ------------------------------------------------------------------ state
    @property
    def menu(self) -> CompletionList:
        if self._menu is None:
            self._menu = CompletionList(id="completions")
            self._menu.on_choose = self.choose
            self.screen.mount(self._menu)
        return self._menu

    @property
    def is_open(self) -> bool:
        return self._menu is not None and self._menu.is_open

    @property
    def pending(self) -> bool:
        """A Tab waits for the session's answer."""
        return self._request is not None

    def close(self) -> bool:
        """Close the list and forget a pending Tab; True when the list was open."""
        self._request = None
        was_open = self.is_open
        if self._menu is not None:
            self._menu.close()
        self._shown = None
        return was_open

    # ------------------------------------------------------------------ Tab
    def request(self, source: str, cursor: int) -> None:
        """Tab in the editor at ``cursor`` of ``source``."""
        engine = self._engine()
        if engine is None:
            self.editor.indent()  # not connected yet: Tab indents
            return
        local = engine.completer.complete_locally(source, cursor)
        if local.context == "property" and local.properties is None:
            self._request = (source, cursor)
            self.screen.run_worker(self._fetch(engine, source, cursor), group="complete", exclusive=True)
            return
        self._request = None
        self._apply(local, source, cursor)

    async def _fetch(self, engine: ReplEngine, source: str, cursor: int) -> None:
        try:
            # The editor takes keys meanwhile, so wait as long as the probe may run.
            result = await engine.completer.complete(source, cursor, timeout=PROBE_TIMEOUT)
        except Exception as exc:  # completion is a nicety: never an error
            self.screen.log(f"completion failed: {exc}")
            return
        if self._request != (source, cursor):
            return  # closed (Escape) or replaced by a newer Tab
        self._request = None
        text, now = self.editor.text, _offset(self.editor)
        if text == source and now == cursor:
            self._apply(result, source, cursor)
            return
        # The user typed on while the session answered: filter for what is
        # there now, insert nothing.
        refined = engine.completer.refine(result, text, now)
        if refined.items and text[: refined.start] == source[: refined.start]:
            self._open(refined, text, now)

    def _apply(self, result: Completions, source: str, cursor: int) -> None:
        items = result.items
        if not items:
            if result.context in _INDENT_CONTEXTS:
                self.editor.indent()  # nothing to complete (blank space): Tab indents
            return
        start = max(0, min(result.start, cursor))
        typed = source[start:cursor]
        if len(items) == 1:
            self._replace(start, cursor, items[0].text)
            return
        common = os.path.commonprefix([i.text for i in items])
        if len(common) > len(typed):
            self._replace(start, cursor, common)
            return
        self._open(result, source, cursor)

    def _open(self, result: Completions, source: str, cursor: int) -> None:
        if self._finished(result, source, cursor):
            self.close()
            return
        self._shown = result
        x, y = self.editor.cursor_screen_offset
        self.menu.show_completions(result, at=(x, y + 1))

    @staticmethod
    def _finished(result: Completions, source: str, cursor: int) -> bool:
        """Nothing left to offer: no candidate, or only what is typed."""
        items = result.items
        return not items or (len(items) == 1 and items[0].text == source[result.start : cursor])

    # ------------------------------------------------------------------ keys
    def handle_key(self, event: events.Key) -> bool:
        """The editor asks first: True when the open list took the key."""
        if not self.is_open:
            return False
        key = event.key
        if key in _MOVES:
            self.menu.move(_MOVES[key])
            return True
        if key in self._choose_keys:
            item = self.menu.highlighted_item()
            if item is None:
                self.close()
            else:
                self.choose(item)
            return True
        if key in self._close_keys:
            self.close()
            return True
        return False  # the editor edits; the list follows the cursor (below)

    def choose(self, item: Completion) -> None:
        """Insert ``item`` for the word the list completes."""
        shown = self._shown
        self.close()
        if shown is None:
            return
        cursor = _offset(self.editor)
        start = max(0, min(shown.start, cursor))
        self._replace(start, cursor, item.text)

    def _replace(self, start: int, end: int, text: str) -> None:
        editor = self.editor
        source = editor.text
        self._applying = True
        try:
            editor.replace(text, _location(source, start), _location(source, end))
            editor.move_cursor(_location(editor.text, start + len(text)))
        finally:
            self._applying = False

    def _editor_moved(self, _selection: Selection) -> None:
        """The editor's text or cursor changed: re-filter the open list."""
        if self._applying or not self.is_open or self._shown is None:
            return
        engine = self._engine()
        if engine is None:
            self.close()
            return
        text, cursor = self.editor.text, _offset(self.editor)
        refined = engine.completer.refine(self._shown, text, cursor)
        if self._finished(refined, text, cursor):
            self.close()
            return
        self._shown = refined
        self.menu.show_completions(refined)
