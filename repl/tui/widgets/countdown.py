"""The session cooldown countdown: seconds left, a bar, a warning colour under
60 s, and at zero "expired: state lost, the next run starts a fresh session".

It reads a :class:`repl.cooldown.Cooldown` (whose clock the engine owns, so
tests drive time) once a second, or when :meth:`tick` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from repl.vocabulary import EXPIRED_LONG, read_cooldown

if TYPE_CHECKING:
    from repl.cooldown import Cooldown

EXPIRED_TEXT = EXPIRED_LONG
BAR_WIDTH = 20


class Countdown(Static):
    HELP = """\
## Cooldown countdown

A session is destroyed (with its variables and files) when no request names it
for the pool's cooldown period. The countdown restarts with every request sent
for the session and is corrected from the server's `expireAt` after each run.
Pool status polling never touches the session.
"""

    class Changed(Message):
        """The one-line summary changed (for a compact countdown elsewhere).

        ``level``: idle | ok | warning | expired."""

        def __init__(self, summary: str, level: str) -> None:
            super().__init__()
            self.summary = summary
            self.level = level

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.cooldown: Cooldown | None = None
        self.summary: tuple[str, str] = ("", "idle")

    def _summarise(self, summary: str, level: str) -> None:
        if (summary, level) != self.summary:
            self.summary = (summary, level)
            self.post_message(self.Changed(summary, level))

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)
        self.tick()

    def attach(self, cooldown: Cooldown) -> None:
        self.cooldown = cooldown
        self.tick()

    def tick(self) -> None:
        """Redraw from the countdown; the words and levels are the core's
        (repl.vocabulary.read_cooldown), shared with line mode."""
        cd = self.cooldown
        self.remove_class("-warning", "-expired", "-idle")
        if cd is None:
            self.add_class("-idle")
            self.update("not connected")
            self._summarise("", "idle")
            return
        reading = read_cooldown(cd)
        text = Text()
        if reading.level in ("idle", "paused"):
            self.add_class("-idle")
            text.append(reading.long)
        elif reading.level == "expired":
            self.add_class("-expired")
            text.append(reading.long, style="bold")
        else:
            if reading.level == "warning":
                self.add_class("-warning")
            left = reading.seconds_left
            filled = round(cd.fraction * BAR_WIDTH)
            text.append(f"{reading.long} ({int(left + 0.999)} s)\n", style="bold")
            text.append("█" * filled)
            text.append("░" * (BAR_WIDTH - filled), style="dim")
        self.update(text)
        self._summarise(reading.short, reading.level)
