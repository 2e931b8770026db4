"""Idle cost of the kernel watchdog: CPU of the pool's process with 0, 5 and 20 idle kernels.

    .venv/bin/python bench/watchdog_cost.py

Each kernel's process tree is sampled every 50 ms (memory, idle CPU), whether
an execution runs or not; this is what that costs while nothing runs.
"""

from __future__ import annotations

import resource
import time
import uuid

import httpx

from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings

V = "2025-10-02-preview"


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    for n in (0, 5, 20):
        with EmbeddedPool(PoolSettings(ready=0, max_sessions=30)) as pool:
            headers = {"Authorization": f"Bearer {pool.token}"}
            with httpx.Client(base_url=pool.endpoint, headers=headers, timeout=60) as c:
                for _ in range(n):
                    c.post("/executions", params={"api-version": V, "identifier": str(uuid.uuid4())},
                           json={"code": "1"})
            time.sleep(1)
            c0, t0 = cpu_seconds(), time.monotonic()
            time.sleep(5)
            share = (cpu_seconds() - c0) / (time.monotonic() - t0)
            print(f"{n:2d} idle kernels: the pool's process uses {100 * share:.2f}% of a core")


if __name__ == "__main__":
    main()
