"""One output pane of a cell (stdout, stderr or the value), capped for huge output.

The full text is kept on the widget (``full_text``); only a bounded head and
tail are rendered, with a "N lines hidden" line between them, so a 10 MB or
200,000-line output costs about as much to show as a small one. The cell offers
the full text through the pager, save and copy actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from repl.terminal_text import plain_text, rich_text

HEAD_LINES = 30
TAIL_LINES = 10
MAX_LINE_CHARS = 1_000
MAX_SHOWN_CHARS = 16_000


@dataclass(frozen=True, slots=True)
class Capped:
    head: str
    tail: str
    total_lines: int
    hidden_lines: int
    hidden_chars: int

    @property
    def capped(self) -> bool:
        return self.hidden_lines > 0 or self.hidden_chars > 0

    def notice(self) -> str:
        parts = []
        if self.hidden_lines:
            parts.append(f"{self.hidden_lines:,} line{'s' if self.hidden_lines != 1 else ''} hidden")
        if self.hidden_chars:
            parts.append(f"{self.hidden_chars:,} characters not shown")
        return " · ".join(parts)


def count_lines(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _clip_line(line: str) -> tuple[str, int]:
    if len(line) <= MAX_LINE_CHARS:
        return line, 0
    return line[:MAX_LINE_CHARS] + "…", len(line) - MAX_LINE_CHARS


def cap_text(
    text: str,
    *,
    head_lines: int = HEAD_LINES,
    tail_lines: int = TAIL_LINES,
    max_chars: int = MAX_SHOWN_CHARS,
) -> Capped:
    """Split ``text`` into a shown head and tail; never scans more than needed
    beyond one ``count`` over the whole text."""
    body = text[:-1] if text.endswith("\n") else text
    total = count_lines(text)
    if total <= head_lines + tail_lines and len(body) <= max_chars and all(
        len(line) <= MAX_LINE_CHARS for line in body.split("\n")
    ):
        return Capped(body, "", total, 0, 0)
    # Head: first lines, bounded in characters too.
    head: list[str] = []
    hidden_chars = 0
    shown_chars = 0
    pos = 0
    while len(head) < head_lines and pos <= len(body):
        end = body.find("\n", pos)
        if end == -1:
            end = len(body)
        line, clipped = _clip_line(body[pos:end])
        if head and shown_chars + len(line) > max_chars:
            break
        head.append(line)
        hidden_chars += clipped
        shown_chars += len(line)
        pos = end + 1
        if end == len(body):
            break
    shown = len(head)
    tail: list[str] = []
    remaining = total - shown
    if remaining > 0 and tail_lines > 0:
        # Tail: last lines, read backwards from the end.
        end = len(body)
        while len(tail) < min(tail_lines, remaining):
            start = body.rfind("\n", 0, end)
            line, clipped = _clip_line(body[start + 1 : end])
            if tail and shown_chars + len(line) > max_chars * 2:
                break
            tail.append(line)
            hidden_chars += clipped
            shown_chars += len(line)
            if start == -1:
                break
            end = start
        tail.reverse()
    hidden_lines = max(0, total - shown - len(tail))
    return Capped("\n".join(head), "\n".join(tail), total, hidden_lines, hidden_chars)


class OutputView(Static):
    """A capped view of one output stream. ``kind``: stdout | stderr | value."""

    DEFAULT_CSS = """
    OutputView { height: auto; }
    """

    def __init__(
        self,
        text: str,
        kind: str,
        *,
        prefix: str = "",
        highlight: Callable[[str], Text] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__("", id=id, classes=classes)
        self.full_text = text
        self.kind = kind
        self.prefix = prefix
        self._highlight = highlight  # for values
        self.capped = cap_text(text)
        self.add_class(f"-{kind}")

    @property
    def is_capped(self) -> bool:
        return self.capped.capped

    def on_mount(self) -> None:
        self._draw()

    def rehighlight(self, highlight: Callable[[str], Text] | None = None) -> None:
        if highlight is not None:
            self._highlight = highlight
        self._draw()

    def _draw(self) -> None:
        """Render the capped text; a failure (a highlighter bug, text Rich
        cannot lay out) shows as plain text with a note, never ends the app."""
        try:
            self.update(self._renderable())
        except Exception as exc:  # noqa: BLE001 - drawing one output must never end the app
            fallback = Text(f"(could not be drawn: {type(exc).__name__}; shown without highlighting)\n",
                            style="italic")
            fallback.append(plain_text(self.capped.head))
            self.update(fallback)

    def _renderable(self) -> Text:
        c = self.capped

        def body(part: str) -> Text:
            # Remote text: colours and styles kept, every other control sequence
            # neutralised (repl.terminal_text) before anything reaches the screen.
            if self._highlight is not None:
                return self._highlight(plain_text(part))
            return rich_text(part)

        out = Text()
        if self.prefix:
            out.append(self.prefix, style="bold")
        out.append_text(body(c.head))
        if c.capped:
            out.append("\n")
            out.append(f"… {c.notice()} …", style="italic reverse")
            if c.tail:
                out.append("\n")
                out.append_text(body(c.tail))
        return out
