"""prompt-toolkit completion over the engine's :class:`repl.js.completion.Completer`.

``JsCompleter(engine)`` is a :class:`prompt_toolkit.completion.Completer` with
no completion logic of its own:

* ``get_completions_async`` (what ``PromptSession`` calls) asks
  ``engine.completer``; the session's property names (after a ``.``) are
  probed only when the user pressed Tab (``complete_event.completion_requested``),
  never while typing, because a probe is an execution that resets the
  session's cooldown. The wait is bounded (``timeout``, default
  ``Completer.timeout``) so a slow session never blocks typing; keys typed
  meanwhile are kept by prompt-toolkit, which asks again for the new text.
* While typing, only local candidates are offered: keywords, globals,
  declared names, cached properties, dot-command words and local paths
  (``.load de`` offers files, never JavaScript names).
* ``while_typing`` is the filter for ``PromptSession(complete_while_typing=...)``:
  true from a Tab that found candidates while the text up to the cursor
  extends the text at that Tab, until the cursor leaves that word or nothing
  matches (a new prompt starts afresh). So prompt-toolkit's menu filters as you type after Tab
  (with the answer the Tab's probe cached), and no menu pops up on its own
  otherwise. (Backspace closes prompt-toolkit's menu; Tab opens it again.)
* ``get_completions`` (synchronous, e.g. from a thread) offers the local
  candidates only.

Each ``Completion`` carries the kind (keyword, global, declared, property,
command, directory, file) as ``display_meta``, and a path's last part as its
``display``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING

from prompt_toolkit.application.current import get_app
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition

from repl.js import completion as core

if TYPE_CHECKING:
    from repl.engine import ReplEngine

__all__ = ["JsCompleter", "make_completer"]


def _to_pt(result: core.Completions, cursor: int) -> list[Completion]:
    start = result.start - cursor  # <= 0: replace the word typed so far
    return [
        Completion(item.text, start_position=start, display=item.display or None, display_meta=item.kind)
        for item in result.items
    ]


class JsCompleter(Completer):
    def __init__(self, engine: ReplEngine, *, timeout: float | None = None) -> None:
        self.engine = engine
        self.timeout = timeout
        # The word a Tab found candidates for: (text before it, start, context,
        # member chain), and the text up to the cursor at that Tab.
        self._live: tuple[str, int, str, str | None] | None = None
        self._live_typed = ""
        self.while_typing = Condition(self._typing_on)

    def _typing_on(self) -> bool:
        """Still typing the word a Tab completed? (Not after a new prompt started.)"""
        if self._live is None:
            return False
        if get_app().current_buffer.document.text_before_cursor.startswith(self._live_typed):
            return True
        self._live = None
        return False

    def _follow(self, document: Document, result: core.Completions, *, tab: bool) -> None:
        """Track the word a Tab found candidates for (see ``while_typing``)."""
        key = (document.text[: result.start], result.start, result.context, result.object_expr)
        if tab:
            self._live = key if result.items else None
            self._live_typed = document.text_before_cursor
        elif self._live != key or not result.items:
            self._live = None  # the cursor left the word, or nothing matches: the menu is done

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        cursor = document.cursor_position
        result = self.engine.completer.complete_locally(document.text, cursor)  # no network here
        return _to_pt(result, cursor)

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        cursor = document.cursor_position
        tab = bool(complete_event.completion_requested)
        try:
            result = await self.engine.completer.complete(document.text, cursor, remote=tab, timeout=self.timeout)
        except Exception:  # completion is a nicety: never break the prompt
            return
        self._follow(document, result, tab=tab)
        for item in _to_pt(result, cursor):
            yield item


def make_completer(engine: ReplEngine) -> JsCompleter:
    """The completer ``repl.line.prompt`` installs, with
    ``complete_while_typing=completer.while_typing``."""
    return JsCompleter(engine)
