"""What went over the wire for a cell, when it differs from what was typed.

A top-level ``await`` is rewritten before it is sent (the kernel has none);
this dialog shows the rewrite, read-only, so a user can see exactly what the
session ran. Escape closes it, ``y`` copies the code.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea


class SentCodeScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    SentCodeScreen { align: center middle; }
    #sent-code-dialog {
        width: 90%; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    #sent-code-dialog > Label { width: 1fr; color: $text-muted; }
    #sent-code { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", id="sent_code.close"),
        Binding("y", "copy", "Copy", id="sent_code.copy"),
    ]

    def __init__(self, n: int, code: str) -> None:
        super().__init__()
        self.n = n
        self.code = code

    def compose(self) -> ComposeResult:
        with Vertical(id="sent-code-dialog"):
            yield Label(
                f"In [{self.n}] as sent to the session (top-level await rewritten for the kernel)"
                " · y copies · Esc closes"
            )
            yield TextArea(self.code, read_only=True, show_line_numbers=True, id="sent-code")

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.code)
        self.notify(f"Copied the code sent for In [{self.n}].")

    def action_close(self) -> None:
        self.dismiss(None)
