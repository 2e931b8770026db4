"""A large output through the kernel wrapper: time and the Python process's peak
memory, as a ratio to the output's size (issue 14 item 5: linear, at most two
copies of an output in a process).

    .venv/bin/python bench/large_output.py [--mb 100]

The output cap is raised for it (``PoolSettings.output_cap``, ``serve
--output-cap``); the default cap keeps 1 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import tempfile
import time
from pathlib import Path

from repl.local.kernel import Kernel
from repl.local.settings import PoolSettings


async def main(mb: int) -> None:
    size = mb * 1_000_000
    kw = {"output_cap": 2 * size} if any(f.name == "output_cap" for f in dataclasses.fields(PoolSettings)) else {}
    with tempfile.TemporaryDirectory() as d:
        work = Path(d) / "s"
        work.mkdir()
        kernel = await Kernel.start(workdir=work, settings=PoolSettings(**kw))
        try:
            await kernel.execute("1", timeout=10)
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            r = await kernel.execute(f"process.stdout.write('x'.repeat({size})); 1", timeout=120,
                                     output_limit=2 * size)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            assert len(r.stdout) == size, (len(r.stdout), r.stderr[:200])
        finally:
            await kernel.kill()
    print(f"{mb} MB of output through Kernel.execute: wall {wall:.2f} s, Python CPU {cpu:.2f} s, "
          f"peak RSS growth {(peak - base) / size:.1f}x the output")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=100)
    asyncio.run(main(ap.parse_args().mb))
