"""The session cooldown countdown (API.md §4).

A session is destroyed ``period_s`` seconds after the last request that named
its identifier. :class:`Cooldown` mirrors that locally:

- :meth:`Cooldown.touch` when a request naming the identifier is sent;
- :meth:`Cooldown.sync` with the server's ``expireAt`` (and the current wall time)
  to correct drift after an execution, where the API has ``GET session``;
- :meth:`Cooldown.remaining`, :attr:`Cooldown.expired`, :attr:`Cooldown.fraction`
  for the side panel / toolbar;
- :meth:`Cooldown.reset` when the identifier changes (no session yet).

Before the first touch the countdown is not :attr:`started`: ``remaining()`` is
the full period and ``expired`` is False (nothing to lose yet). The clock is
injectable (monotonic seconds) so tests control time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

DEFAULT_PERIOD_S = 300.0


class Cooldown:
    def __init__(self, period_s: float = DEFAULT_PERIOD_S, clock: Callable[[], float] = time.monotonic) -> None:
        if period_s <= 0:
            raise ValueError(f"cooldown period must be positive, got {period_s!r}")
        self.period_s = float(period_s)
        self._clock = clock
        self._deadline: float | None = None  # clock value at which the session expires

    # -- state changes -------------------------------------------------
    def touch(self) -> None:
        """A request naming the identifier was sent: the timer restarts."""
        self._deadline = self._clock() + self.period_s

    def sync(self, expire_at: datetime, now: datetime | None = None) -> None:
        """Correct the countdown from the server's ``expireAt`` (``now`` = wall time)."""
        if now is None:
            now = datetime.now(UTC)
        if expire_at.tzinfo is None:
            expire_at = expire_at.replace(tzinfo=UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        left = (expire_at - now).total_seconds()
        self._deadline = self._clock() + left

    def set_period(self, period_s: float) -> None:
        """Adopt the pool's cooldown period; a running countdown keeps its deadline
        unless it would now exceed the new period (then it is clamped)."""
        if period_s <= 0:
            return
        self.period_s = float(period_s)
        if self._deadline is not None:
            self._deadline = min(self._deadline, self._clock() + self.period_s)

    def reset(self) -> None:
        """Forget the session (new identifier, deleted session): not started."""
        self._deadline = None

    # snapshot/restore let the engine undo a touch for a request that never
    # reached the service (connection refused, rejected token).
    def snapshot(self) -> float | None:
        return self._deadline

    def restore(self, snapshot: float | None) -> None:
        self._deadline = snapshot

    # -- queries -------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._deadline is not None

    def remaining(self) -> float:
        """Seconds left before the session and its state are destroyed (>= 0)."""
        if self._deadline is None:
            return self.period_s
        return max(0.0, self._deadline - self._clock())

    @property
    def expired(self) -> bool:
        return self._deadline is not None and self._clock() >= self._deadline

    @property
    def fraction(self) -> float:
        """Remaining time as a fraction of the period, in [0, 1], for a bar."""
        return max(0.0, min(1.0, self.remaining() / self.period_s))

    def __repr__(self) -> str:
        state = "not started" if not self.started else f"{self.remaining():.1f}s left"
        return f"Cooldown(period_s={self.period_s:g}, {state})"
