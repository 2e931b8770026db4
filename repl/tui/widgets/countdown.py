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

if TYPE_CHECKING:
    from repl.cooldown import Cooldown

WARN_BELOW_S = 60.0
EXPIRED_TEXT = "expired: state lost, the next run starts a fresh session"
BAR_WIDTH = 20


def format_remaining(seconds: float) -> str:
    s = int(seconds + 0.999) if seconds > 0 else 0  # ceil: 0 only when really expired
    return f"{s // 60}:{s % 60:02d}"


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
        cd = self.cooldown
        self.remove_class("-warning", "-expired", "-idle")
        if cd is None:
            self.add_class("-idle")
            self.update("not connected")
            self._summarise("", "idle")
            return
        text = Text()
        if not cd.started:
            self.add_class("-idle")
            text.append(f"{format_remaining(cd.period_s)} (starts with the first run)")
            self.update(text)
            self._summarise("", "idle")
            return
        if cd.expired:
            self.add_class("-expired")
            text.append(EXPIRED_TEXT, style="bold")
            self.update(text)
            self._summarise("session expired", "expired")
            return
        left = cd.remaining()
        if left < WARN_BELOW_S:
            self.add_class("-warning")
        filled = round(cd.fraction * BAR_WIDTH)
        text.append(f"{format_remaining(left)} left ({int(left + 0.999)} s)\n", style="bold")
        text.append("█" * filled)
        text.append("░" * (BAR_WIDTH - filled), style="dim")
        self.update(text)
        self._summarise(f"session {format_remaining(left)} left", "warning" if left < WARN_BELOW_S else "ok")
