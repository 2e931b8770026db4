"""prompt-toolkit ``History`` over the shared :class:`repl.history.History` file.

Entries are whole blocks (multi-line strings); Up/Down and Ctrl+R walk them.
The engine appends each executed block with its session, status and timing, so
:meth:`SharedHistory.store_string` writes nothing: prompt-toolkit still keeps the
accepted string in memory for this session (dot-commands included, which the
file does not keep).
"""

from __future__ import annotations

from collections.abc import Iterable

from prompt_toolkit.history import History as PtHistory

from repl.engine import strip_trailing_blank_lines
from repl.history import History


class SharedHistory(PtHistory):
    def __init__(self, history: History) -> None:
        super().__init__()
        self.core = history

    def load_history_strings(self) -> Iterable[str]:
        previous: str | None = None
        for code in reversed(self.core.codes()):  # newest first
            if code != previous:  # collapse consecutive duplicates
                yield code
            previous = code

    def append_string(self, string: str) -> None:
        """Kept in memory as the engine keeps it: without trailing blank lines."""
        super().append_string(strip_trailing_blank_lines(string))

    def store_string(self, string: str) -> None:
        """The engine records executed blocks itself (with status and timing)."""
