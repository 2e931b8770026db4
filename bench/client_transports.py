"""SessionsClient on its two transports against the same `acajs-repl serve`:
the lean LoopbackTransport (what the client uses when every URL is plain http on
loopback, as for the local pool) and httpx's own (what it uses for Azure).

The pool runs in its own process, so the CPU time measured here (process_time
around each execute) is the client's alone. Calls alternate (ABBA) in one
session; one process, one event loop.

    python bench/client_transports.py --iterations 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from repl.api import SessionsClient, StaticToken  # noqa: E402


def start_serve() -> tuple[subprocess.Popen[bytes], str, str, Path]:
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"client-transports-{os.getpid()}.log"
    proc = subprocess.Popen([sys.executable, "-m", "repl", "serve", "--port", "0"], cwd=HERE,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        ep, tok = re.search(r"endpoint:\s*(\S+)", text), re.search(r"token:\s*(\S+)", text)
        if ep and tok:
            return proc, ep.group(1), tok.group(1), log
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"serve did not start: {log.read_text()}")


async def measure(endpoint: str, token: str, iterations: int) -> None:
    origin = re.match(r"http://[^/]+", endpoint)
    assert origin is not None
    lean = SessionsClient(endpoint, StaticToken(token), arm_base=origin.group(0))
    std = SessionsClient(endpoint, StaticToken(token), arm_base="https://management.azure.com")
    clients = {"loopback": lean, "httpx": std}
    ident = str(uuid.uuid4())
    for c in clients.values():
        for _ in range(5):
            assert (await c.execute("1+1", identifier=ident)).value == 2
    wall: dict[str, list[float]] = {k: [] for k in clients}
    cpu: dict[str, list[float]] = {k: [] for k in clients}
    for i in range(iterations):
        for name in ("loopback", "httpx") if i % 2 == 0 else ("httpx", "loopback"):
            w, p = time.perf_counter(), time.process_time()
            ex = await clients[name].execute("1+1", identifier=ident)
            wall[name].append((time.perf_counter() - w) * 1000)
            cpu[name].append((time.process_time() - p) * 1e6)
            assert ex.value == 2
    for c in clients.values():
        await c.aclose()
    print(f"load average {os.getloadavg()[0]:.1f}, {iterations} calls each; median / p10 / p90")
    for name in clients:
        w = sorted(wall[name])
        print(f"  {name:9} wall {statistics.median(w):6.2f} / {w[len(w) // 10]:6.2f} / {w[len(w) * 9 // 10]:6.2f} ms"
              f"   client CPU {statistics.median(cpu[name]):5.0f} us")
    paired = statistics.median(a - b for a, b in zip(wall["loopback"], wall["httpx"], strict=True))
    print(f"  paired wall difference (loopback - httpx): {paired:+.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=300)
    args = ap.parse_args()
    proc, endpoint, token, log = start_serve()
    try:
        asyncio.run(measure(endpoint, token, args.iterations))
    finally:
        proc.terminate()
        proc.wait(15)
        log.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
