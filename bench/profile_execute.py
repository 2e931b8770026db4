"""Where a warm execute's CPU goes: cProfile on both sides of ``SessionsClient.execute('1+1')``.

An ``EmbeddedPool`` in this process (its server on its own thread, as in the
REPL) and a client on the main thread's loop, as in ``perf_table``'s api row.
One profiler runs in the client's thread, one in the pool's (started on its
loop: cProfile profiles the thread that enables it), over ``--calls`` requests
after a warm-up; each side's top functions are printed. cProfile slows Python
code several times and leaves system calls as they are (a socket ``send`` or a
pipe ``write`` also counts the wait for the GIL that the other thread took as
the syscall woke it), so read the shares between functions of one side, not the
milliseconds; ``py-spy record --gil`` (pip-installable) gives the shares without
the slowdown. ``--no-op-kernel`` serves
the pool with a kernel that answers at once (the HTTP path alone);
``--dump DIR`` also writes ``client.prof`` and ``server.prof`` for pstats or
snakeviz.

    .venv/bin/python bench/profile_execute.py [--calls 2000] [--sort tottime|cumulative] [--top 40]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_floor import no_op_kernel  # noqa: E402

from repl.api import SessionsClient, StaticToken  # noqa: E402
from repl.local.embedded import EmbeddedPool  # noqa: E402
from repl.local.settings import PoolSettings  # noqa: E402


def profile(calls: int, no_op: bool) -> tuple[cProfile.Profile, cProfile.Profile, float]:
    options = {"kernel_factory": no_op_kernel} if no_op else {}
    with tempfile.TemporaryDirectory(prefix="acajs-bench-profile-") as tmp, EmbeddedPool(
        PoolSettings(data_dir=Path(tmp), ready=1), pool_options=options
    ) as pool:
        ident = f"bench-{uuid.uuid4()}"
        server = cProfile.Profile()

        async def on_pool_loop(enable: bool) -> None:
            (server.enable if enable else server.disable)()

        async def main() -> tuple[cProfile.Profile, float]:
            client = SessionsClient(pool.endpoint, StaticToken(pool.token), arm_base=pool.arm_base)
            try:
                for _ in range(50):
                    await client.execute("1+1", identifier=ident)
                mine = cProfile.Profile()
                await asyncio.to_thread(pool.run, on_pool_loop(True))
                mine.enable()
                t = time.perf_counter()
                for _ in range(calls):
                    ex = await client.execute("1+1", identifier=ident)
                    assert ex.ok and ex.value == 2, ex
                took = time.perf_counter() - t
                mine.disable()
                await asyncio.to_thread(pool.run, on_pool_loop(False))
                return mine, took
            finally:
                await client.aclose()

        client_profile, took = asyncio.run(main())
    return client_profile, server, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-op-kernel", action="store_true")
    parser.add_argument("--dump", type=Path, default=None, help="write client.prof and server.prof here")
    args = parser.parse_args()
    client, server, took = profile(args.calls, args.no_op_kernel)
    print(f"{args.calls} calls, {took / args.calls * 1000:.3f} ms per call under the profilers")
    for name, prof in (("client (main thread)", client), ("server (the pool's thread)", server)):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(f"===== {name}\n{out.getvalue()}")
        if args.dump is not None:
            args.dump.mkdir(parents=True, exist_ok=True)
            prof.dump_stats(str(args.dump / f"{name.split()[0]}.prof"))


if __name__ == "__main__":
    main()
