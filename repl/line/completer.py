"""prompt-toolkit completion over the shared core (``repl.js.completion``).

``JsCompleter(engine)`` is a :class:`prompt_toolkit.completion.Completer`:

* ``get_completions_async`` (what ``PromptSession`` calls) asks the core; the
  session's property names (after a ``.``) are fetched only when the user
  pressed Tab (``complete_event.completion_requested``), never while typing,
  because that execution resets the session's cooldown.  The request is
  bounded (``timeout``, default ``repl.js.completion.DEFAULT_REMOTE_TIMEOUT``)
  so a slow session never blocks typing.
* ``get_completions`` (synchronous, e.g. from a thread) offers the local
  candidates only: keywords, globals, declared names and cached properties.

Each ``Completion`` carries the kind (keyword, global, declared, property) as
``display_meta``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from repl.js import completion as core

__all__ = ["JsCompleter", "make_completer"]


def _to_pt(result: core.Completions, cursor: int) -> list[Completion]:
    start = result.start - cursor  # <= 0: replace the word typed so far
    return [Completion(item.text, start_position=start, display_meta=item.kind) for item in result.items]


class JsCompleter(Completer):
    def __init__(self, engine: Any, *, timeout: float | None = None) -> None:
        self.engine = engine
        self.timeout = timeout

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        cursor = document.cursor_position
        ctx = core.completion_context(document.text, cursor)
        if ctx is None:
            return []
        properties = None
        if ctx.object_expr is not None:
            properties = core.cached_properties(self.engine, ctx.object_expr)  # no network here
        result = core.complete_locally(document.text, cursor, core.declared_names(self.engine), properties)
        return _to_pt(result, cursor)

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        cursor = document.cursor_position
        try:
            result = await core.complete(
                self.engine,
                document.text,
                cursor,
                remote=bool(complete_event.completion_requested),
                timeout=self.timeout,
            )
        except Exception:  # completion is a nicety: never break the prompt
            return
        for item in _to_pt(result, cursor):
            yield item


def make_completer(engine: Any) -> JsCompleter:
    """The completer ``repl.line.prompt`` installs (``complete_while_typing=False``)."""
    return JsCompleter(engine)
