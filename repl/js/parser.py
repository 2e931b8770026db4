"""The shared tree-sitter JavaScript language and parser (built lazily, once).

``language()`` and ``parser()`` return process-wide singletons; ``parse(source)``
parses text (str or bytes). tree-sitter parsers are not thread-safe: use
``new_parser()`` from another thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tree_sitter

_lock = threading.Lock()
_language: tree_sitter.Language | None = None
_parser: tree_sitter.Parser | None = None


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
    global _parser
    if _parser is None:
        p = new_parser()
        with _lock:
            if _parser is None:
                _parser = p
    return _parser


def parse(source: str | bytes) -> tree_sitter.Tree:
    data = source.encode("utf-8") if isinstance(source, str) else source
    return parser().parse(data)


def has_error(source: str | bytes) -> bool:
    """True when tree-sitter finds a syntax error (ERROR or MISSING node)."""
    return parse(source).root_node.has_error
