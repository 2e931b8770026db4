"""Words and numbers both front ends show the same way.

One home for how a cell's status reads, how a duration is written, how the
cooldown reads at each level and what the exit hint says, so the full-screen
app, line mode and the exports never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from repl.cooldown import Cooldown

EXIT_HINT = "(To exit, press Ctrl+D or type .exit)"

ABANDONED_TEXT = "You stopped waiting. The code may still be running remotely; its result will not be shown."
DROPPED_TEXT = "Dropped from the queue: never sent."

#: Seconds left below which the countdown warns.
WARN_BELOW_S = 60.0

Severity = Literal["ok", "failed", "service", "abandoned", "pending"]


@dataclass(frozen=True, slots=True)
class StatusWords:
    label: str  # "timed out"
    glyph: str  # one character for narrow places (line mode, history list)
    severity: Severity


STATUS: dict[str, StatusWords] = {
    "queued": StatusWords("queued", "…", "pending"),
    "running": StatusWords("running", "…", "pending"),
    "succeeded": StatusWords("ok", "✓", "ok"),
    "failed": StatusWords("failed", "✗", "failed"),
    "timed_out": StatusWords("timed out", "⏱", "failed"),
    "cancelled": StatusWords("cancelled", "✗", "failed"),
    "error": StatusWords("service error", "!", "service"),
    "abandoned": StatusWords("abandoned", "⚠", "abandoned"),
    "dropped": StatusWords("dropped", "·", "abandoned"),
}


def status_words(status: str) -> StatusWords:
    return STATUS.get(status, StatusWords(status.replace("_", " "), "•", "failed"))


def format_ms(value: float) -> str:
    """``41 ms`` below ten seconds, ``12.3 s`` from there."""
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms"


def format_remaining(seconds: float) -> str:
    """``4:05`` (minutes:seconds), rounded up so 0:00 means expired."""
    total = int(seconds + 0.999) if seconds > 0 else 0
    return f"{total // 60}:{total % 60:02d}"


CooldownLevel = Literal["idle", "paused", "ok", "warning", "expired"]


@dataclass(frozen=True, slots=True)
class CooldownReading:
    level: CooldownLevel
    seconds_left: float
    short: str  # for a toolbar or a frame: "session 4:05 left"
    long: str  # for a panel


EXPIRED_LONG = "expired: state lost, the next run starts a fresh session"
PAUSED_LONG = "running: the countdown restarts from the answer"


def read_cooldown(cooldown: Cooldown) -> CooldownReading:
    """How the countdown reads now."""
    if not cooldown.started and not cooldown.paused:
        period = format_remaining(cooldown.period_s)
        return CooldownReading("idle", cooldown.period_s, "", f"{period} (starts with the first run)")
    if cooldown.paused:
        return CooldownReading("paused", cooldown.period_s, "session running", PAUSED_LONG)
    if cooldown.expired:
        return CooldownReading("expired", 0.0, "session expired", EXPIRED_LONG)
    left = cooldown.remaining()
    level: CooldownLevel = "warning" if left < WARN_BELOW_S else "ok"
    return CooldownReading(level, left, f"session {format_remaining(left)} left", f"{format_remaining(left)} left")
