"""How much of one output (stdout, stderr or the value) a cell shows.

The full text is kept with the cell; only a bounded head and tail are drawn
(repl.tui.widgets.cell_render), with a "N lines hidden" line between them, so
a 10 MB or 200,000-line output costs about as much to show as a small one.
The cell offers the full text through the pager, save and copy actions.
"""

from __future__ import annotations

from dataclasses import dataclass

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
