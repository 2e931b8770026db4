"""When and how long to wait before re-sending a request.

Only safe retries: a connection error before the request was sent (any
method), and 429/502/503/504 on GET/DELETE. An execute (POST) that may have
reached the server is never re-sent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "DELETE", "HEAD"})


@dataclass(slots=True)
class RetryPolicy:
    retries: int = 3  # re-sends after the first attempt
    base: float = 0.25  # first backoff, doubled each attempt
    cap: float = 8.0  # longest backoff
    max_retry_after: float = 30.0  # a longer Retry-After is not waited for: the error is raised
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before re-send number ``attempt + 1`` (``attempt`` from 0)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        d: float = min(self.cap, self.base * (2 ** attempt))
        return d * (0.5 + random.random() / 2)  # jitter: 50-100 %

    def retry_status(self, method: str, status: int, attempt: int, retry_after: float | None) -> bool:
        if attempt >= self.retries or status not in RETRY_STATUSES or method not in IDEMPOTENT_METHODS:
            return False
        return retry_after is None or retry_after <= self.max_retry_after

    def retry_connect(self, attempt: int) -> bool:
        return attempt < self.retries
