"""The shared tree-sitter JavaScript language and parser (built lazily, once).

``language()`` is a process-wide singleton; ``parser()`` returns one parser per
thread (tree-sitter parsers are not thread-safe), so it is safe from workers;
``new_parser()`` makes a private one. ``parse(source)`` parses str or bytes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tree_sitter

_lock = threading.Lock()
_language: tree_sitter.Language | None = None
_local = threading.local()


def language() -> tree_sitter.Language:
    global _language
    if _language is None:
        with _lock:
            if _language is None:
                import tree_sitter
                import tree_sitter_javascript

                _language = tree_sitter.Language(tree_sitter_javascript.language())
    return _language


def new_parser() -> tree_sitter.Parser:
    import tree_sitter

    return tree_sitter.Parser(language())


def parser() -> tree_sitter.Parser:
    p = getattr(_local, "parser", None)
    if p is None:
        p = _local.parser = new_parser()
    return p


def parse(source: str | bytes) -> tree_sitter.Tree:
    data = source.encode("utf-8") if isinstance(source, str) else source
    return parser().parse(data)


def has_error(source: str | bytes) -> bool:
    """True when tree-sitter finds a syntax error (ERROR or MISSING node)."""
    return parse(source).root_node.has_error
