"""A run after a person's pause: does the client reuse its connection?

The local pool keeps a connection alive between requests for
``ConnectionLimits.keep_alive_timeout`` (300 s; it was 5 s, uvicorn's default).
At a person's pace (seconds between runs) a 5 s keep-alive means every run
opens a new connection first. This measures ``SessionsClient.execute('1+1')``
after a pause, against an embedded pool with each keep-alive. From the
repository root::

    .venv/bin/python bench/idle_reconnect.py [--pause 6] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repl.api import SessionsClient, StaticToken  # noqa: E402
from repl.local.connections import ConnectionLimits  # noqa: E402
from repl.local.embedded import EmbeddedPool  # noqa: E402
from repl.local.settings import PoolSettings  # noqa: E402


async def after_pauses(pool: EmbeddedPool, pause: float, runs: int) -> list[float]:
    client = SessionsClient(pool.endpoint, StaticToken(pool.token), arm_base=pool.arm_base)  # as the REPL
    ident = f"bench-{uuid.uuid4()}"
    try:
        await client.execute("1+1", identifier=ident)
        times = []
        for _ in range(runs):
            await asyncio.sleep(pause)
            t = time.perf_counter()
            ex = await client.execute("1+1", identifier=ident)
            times.append((time.perf_counter() - t) * 1000)
            assert ex.ok, ex
        return times
    finally:
        await client.aclose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pause", type=float, default=6.0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    for keep_alive in (5, ConnectionLimits().keep_alive_timeout):
        with tempfile.TemporaryDirectory() as tmp, EmbeddedPool(
            PoolSettings(ready=1, data_dir=Path(tmp)),
            server_options={"limits": ConnectionLimits(keep_alive_timeout=keep_alive)},
        ) as pool:
            pool.wait_started()
            times = asyncio.run(after_pauses(pool, args.pause, args.runs))
        print(f"keep-alive {keep_alive:>3} s: 1+1 after a {args.pause:g} s pause: "
              f"p50 {statistics.median(times):.2f} ms (runs: {', '.join(f'{t:.2f}' for t in times)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
