"""Key sequences that terminals send and Textual's parser does not name.

xterm, tmux and most terminals send Alt+Enter as ESC CR (``\\x1b\\r``). Textual
8 has no entry for it: after its escape delay it reports a plain ``enter``, so
"Alt+Enter always runs" would continue an unfinished block instead. Adding the
sequence to the parser's table (a private part of Textual: the version is
pinned to the 8.x series in pyproject.toml for this and the editor's
highlighting) makes it the ``alt+enter`` key the editor binds.
"""

from __future__ import annotations

from enum import Enum

from textual._ansi_sequences import ANSI_SEQUENCES_KEYS


class ExtraKey(str, Enum):
    ALT_ENTER = "alt+enter"


#: sequence -> key name
EXTRA_SEQUENCES: dict[str, ExtraKey] = {"\x1b\r": ExtraKey.ALT_ENTER}


def install() -> None:
    """Teach Textual's input parser the sequences above (idempotent)."""
    table: dict[str, object] = ANSI_SEQUENCES_KEYS  # type: ignore[assignment]
    for sequence, key in EXTRA_SEQUENCES.items():
        table.setdefault(sequence, (key,))
