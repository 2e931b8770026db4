"""Session continuity: never lose a session's state silently, and get it back.

A session lives as long as the pool keeps it: after ``cooldown`` seconds with
no request naming it, the pool recycles it and its variables and files are
gone. This module holds the UI-free parts the engine and both front ends use:

- :class:`ExpiryAlarm`: fires once at a lead time before expiry and once at
  expiry (the front ends turn each into a notification, a bell, a line);
- :class:`SessionEpoch`: what the current session was built from (the inputs
  that succeeded in it, the files uploaded into it), so a lost one can be
  replayed;
- :class:`ReplayBatch`: a replay in progress; it stops at the first failure;
- :class:`KeepAlive`: when to send the cheapest request that resets the
  cooldown, and when to stop (the user has been idle too long).

Timeline of one session (cooldown 300 s, lead 60 s)::

    run   run            idle ...............................
    |-----|--------------|--------------------|-------------|
    0     20 s           20 s                 260 s         320 s
                         countdown restarts   warning       expired: state gone
                         from the answer      ("60 s left")  (next run: fresh session,
                                                             .replay rebuilds it)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from repl.cooldown import Cooldown
    from repl.transcript import Cell

#: Seconds before expiry at which the warning fires, unless configured.
DEFAULT_LEAD_S = 60.0
#: Keep-alive sends its request when less than this (or a third of the period) is left.
KEEP_ALIVE_MARGIN_S = 5.0


def clock_time(when: datetime | None) -> str:
    """``14:02:10`` in local time (what a person compares with their clock)."""
    if when is None:
        return "now"
    return when.astimezone().strftime("%H:%M:%S")


@dataclass(frozen=True, slots=True)
class Alarm:
    kind: Literal["warning", "expired"]
    at: datetime  # the expiry time
    text: str


class ExpiryAlarm:
    """Fires :class:`Alarm` s for one countdown: ``check()`` from a timer
    (about once a second). Each fires once per deadline; a request that
    restarts the countdown re-arms both."""

    def __init__(
        self, cooldown: Cooldown, *, lead_s: float = DEFAULT_LEAD_S, describe: Callable[[], str] = str
    ) -> None:
        self.cooldown = cooldown
        self.lead_s = lead_s
        self.describe = describe  # the session, as the front end names it
        self._armed_for: datetime | None = None
        self._warned = False
        self._expired = False

    def check(self, now_wall: datetime | None = None) -> Alarm | None:
        cd = self.cooldown
        at = cd.expires_at(now_wall)
        if at is None:  # not started, or a request in flight
            return None
        if self._armed_for is None or abs((at - self._armed_for).total_seconds()) > 1.0:
            self._armed_for, self._warned, self._expired = at, False, False
        if cd.expired:
            if self._expired:
                return None
            self._expired = self._warned = True
            return Alarm(
                "expired",
                at,
                f"{self.describe()} expired at {clock_time(at)}: its variables and files are gone. "
                "The next run starts a fresh session; .replay rebuilds it.",
            )
        lead = min(self.lead_s, cd.period_s / 2)
        if not self._warned and cd.remaining() <= lead:
            self._warned = True
            return Alarm(
                "warning",
                at,
                f"{self.describe()} expires in {cd.remaining():.0f} s (at {clock_time(at)}) unless something "
                "runs: its variables and files go then. Run something, or turn keep-alive on.",
            )
        return None


@dataclass(slots=True)
class SessionEpoch:
    """One life of the session identifier on the server."""

    inputs: list[Cell] = field(default_factory=list)  # succeeded, in order
    uploads: list[tuple[Path, str]] = field(default_factory=list)  # local file, name in /mnt/data

    @property
    def empty(self) -> bool:
        return not self.inputs and not self.uploads

    def summary(self) -> str:
        parts = []
        if self.inputs:
            parts.append(f"{len(self.inputs)} input{'s' if len(self.inputs) != 1 else ''}")
        if self.uploads:
            parts.append(f"{len(self.uploads)} upload{'s' if len(self.uploads) != 1 else ''}")
        return " and ".join(parts) or "nothing"

    def preview(self, limit: int = 12) -> str:
        """What a replay will send, one line each (for the question)."""
        lines = [f"  upload {path} → /mnt/data/{name}" for path, name in self.uploads]
        for cell in self.inputs:
            code = (cell.sent_code or cell.code).strip()
            first = code.split("\n", 1)[0]
            more = f" … (+{code.count(chr(10))} lines)" if "\n" in code else ""
            lines.append(f"  In [{cell.n}]: {first[:70]}{more}")
        if len(lines) > limit:
            lines = [*lines[: limit - 1], f"  … and {len(lines) - limit + 1} more"]
        return "\n".join(lines)


@dataclass(slots=True)
class ReplayBatch:
    """A replay under way: its cells run in order and it stops at the first
    failure (the cells after it are not sent)."""

    total: int
    failed_at: int | None = None  # the n of the replayed cell that failed
    done: int = 0


@dataclass(slots=True)
class KeepAlive:
    """Keep the session from expiring while the REPL is open, on request.

    ``due()`` says when to send the cheapest request that resets the cooldown
    (a listing of /mnt/data: no execution, nothing changes): when less than a
    third of the period is left. It stops once the user has been idle for
    ``idle_limit_s`` (a laptop left open over the weekend does not keep a
    billed session allocated)."""

    idle_limit_s: float
    enabled: bool = True
    clock: Callable[[], float] = time.monotonic
    last_activity: float = field(default=0.0)
    stopped_for_idle: bool = False

    def __post_init__(self) -> None:
        self.last_activity = self.clock()

    def activity(self) -> None:
        """The user ran something: the idle time starts again."""
        self.last_activity = self.clock()
        self.stopped_for_idle = False

    def due(self, cooldown: Cooldown) -> bool:
        if not self.enabled or not cooldown.started or cooldown.paused or cooldown.expired:
            return False
        if self.clock() - self.last_activity > self.idle_limit_s:
            self.stopped_for_idle = True
            return False
        # A third of the period, and never less than a few seconds, so a tick
        # that comes late (a loaded machine, a one-second timer) is still in time.
        return cooldown.remaining() < max(cooldown.period_s / 3, KEEP_ALIVE_MARGIN_S)
