"""Key sequences that terminals send and Textual's parser does not name.

xterm, tmux and most terminals send Alt+Enter as ESC CR (``\\x1b\\r``). Textual
8 has no entry for it: after its escape delay it reports a plain ``enter``, so
"Alt+Enter always runs" would continue an unfinished block instead. Adding the
sequence to the parser's table (a private part of Textual: the version is
pinned to the 8.x series in pyproject.toml for this and the editor's
highlighting) makes it the ``alt+enter`` key the editor binds.
"""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from textual._ansi_sequences import ANSI_SEQUENCES_KEYS


class ExtraKey(StrEnum):
    ALT_ENTER = "alt+enter"


#: sequence -> key name
EXTRA_SEQUENCES: dict[str, ExtraKey] = {"\x1b\r": ExtraKey.ALT_ENTER}


def install() -> None:
    """Teach Textual's input parser the sequences above (idempotent)."""
    # Textual declares the table a read-only Mapping of its own ``Keys``; it is
    # a dict, and the parser only reads ``.value`` of each key in a tuple.
    table = cast("dict[str, object]", ANSI_SEQUENCES_KEYS)
    for sequence, key in EXTRA_SEQUENCES.items():
        table.setdefault(sequence, (key,))
