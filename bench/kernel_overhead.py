"""The kernel's per-call overhead: ``Kernel.execute('1+1')`` against a raw Node pipe.

Two processes on the same Node binary, each sent ``N`` requests one after the other:

1. the anchor, a raw Node pipe: a ten-line Node script that reads one JSON line
   on stdin, evaluates it with ``vm.runInThisContext`` (no timeout) and writes
   one JSON line back; Python writes and reads with blocking ``os.write`` /
   ``os.read``;
2. the local pool's kernel (``repl/local/kernel.py`` + ``harness.js``) as the
   pool drives it: ``await kernel.execute('1+1', timeout=60)`` on an asyncio loop,
   in three configurations: no sandbox (``sandbox=False``: the kernel is stopped
   at its timeout by a SIGINT, see docs/kernel.md), the OS sandbox (bwrap, the
   default where it works: a SIGINT too, through a pidfd) and Node's permission
   model (the fallback sandbox: vm's per-call timeout thread).

For each it prints the wall time per call seen from Python (p50, p99) and the
Node CPU time per call (user + system from ``/proc/PID/stat`` over the run,
divided by N): the latter is the harness's own per-execution work, which the
wall time mixes with Python's.  Linux only (``/proc``).

    .venv/bin/python bench/kernel_overhead.py [--calls 3000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repl.local.kernel import Kernel  # noqa: E402
from repl.local.node import find_node  # noqa: E402
from repl.local.settings import PoolSettings  # noqa: E402

RAW_NODE = r"""
const vm = require('vm');
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const msg = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    const value = String(vm.runInThisContext(msg.code));
    process.stdout.write(JSON.stringify({ id: msg.id, value }) + '\n');
  }
});
"""

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def raw_pipe(node: str, calls: int) -> dict[str, float]:
    proc = subprocess.Popen([node, "-e", RAW_NODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    wfd, rfd = proc.stdin.fileno(), proc.stdout.fileno()

    def call(i: int) -> None:
        os.write(wfd, (json.dumps({"id": i, "code": "1+1"}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            data += os.read(rfd, 65536)
        assert json.loads(data)["value"] == "2"

    for i in range(200):
        call(i)
    times = []
    cpu0 = cpu_seconds(proc.pid)
    for i in range(calls):
        t = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - t) * 1000)
    cpu = cpu_seconds(proc.pid) - cpu0
    proc.stdin.close()
    proc.wait()
    return {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "node_cpu_us": cpu / calls * 1e6}


async def asyncio_pipe(node: str, calls: int) -> dict[str, float]:
    """The same raw Node script, driven as the pool drives its kernels: an
    asyncio loop writing to and reading lines from the subprocess's pipes. What
    the kernel costs over this is the wrapper's own work, not asyncio's."""
    proc = await asyncio.create_subprocess_exec(node, "-e", RAW_NODE, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    async def call(i: int) -> None:
        stdin.write((json.dumps({"id": i, "code": "1+1"}) + "\n").encode())
        assert json.loads(await stdout.readline())["value"] == "2"

    for i in range(200):
        await call(i)
    times = []
    for i in range(calls):
        t = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - t) * 1000)
    stdin.close()
    await proc.wait()
    return {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99)}


async def kernel_calls(calls: int, sandbox: bool, os_sandbox: bool = True) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = PoolSettings(sandbox=sandbox, os_sandbox=os_sandbox)
        kernel = await Kernel.start(workdir=Path(tmp), settings=settings)
        try:
            for _ in range(200):
                await kernel.execute("1+1", timeout=60)
            times = []
            node_pid = getattr(kernel, "interrupt_pid", None) or kernel.pid  # Node itself, inside bwrap too
            cpu0 = cpu_seconds(node_pid)
            for _ in range(calls):
                t = time.perf_counter()
                r = await kernel.execute("1+1", timeout=60)
                times.append((time.perf_counter() - t) * 1000)
                assert r.value_text == "2", r
            cpu = cpu_seconds(node_pid) - cpu0
        finally:
            await kernel.kill()
    return {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "node_cpu_us": cpu / calls * 1e6,
            "permission_model": kernel.sandboxed, "interrupt_by_signal": getattr(kernel, "interrupt_by_signal", False)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round is shown")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    node = find_node()
    rounds: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        pipe = raw_pipe(node.path, args.calls)
        plain = asyncio.run(kernel_calls(args.calls, sandbox=False))
        bwrap = asyncio.run(kernel_calls(args.calls, sandbox=True))
        permission = asyncio.run(kernel_calls(args.calls, sandbox=True, os_sandbox=False))
        rounds.append({"pipe": pipe, "no sandbox": plain, "OS sandbox (bwrap)": bwrap, "permission model": permission})

    def median(key: str, field: str) -> float:
        values = sorted(r[key][field] for r in rounds)
        return values[len(values) // 2]

    result: dict[str, Any] = {"node": f"{node.path} {node.version_text}", "calls": args.calls, "rounds": rounds}
    pipe_cpu, pipe_p50 = median("pipe", "node_cpu_us"), median("pipe", "p50_ms")
    configs = ("no sandbox", "OS sandbox (bwrap)", "permission model")
    for key in configs:
        result[key] = {
            "p50_ms": median(key, "p50_ms"),
            "node_cpu_us": median(key, "node_cpu_us"),
            "wall_ratio": median(key, "p50_ms") / pipe_p50,
            "node_overhead_us": median(key, "node_cpu_us") - pipe_cpu,
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"node: {result['node']}; {args.calls} calls per round, medians of {args.rounds} interleaved rounds")
    print(f"  {'raw Node pipe':36} wall p50 {pipe_p50:6.3f} ms   Node CPU {pipe_cpu:6.1f} us/call")
    for key in configs:
        r = result[key]
        print(f"  {'Kernel.execute, ' + key:36} wall p50 {r['p50_ms']:6.3f} ms   "
              f"Node CPU {r['node_cpu_us']:6.1f} us/call"
              f"   overhead over the pipe {r['node_overhead_us']:6.1f} us/call, wall {r['wall_ratio']:.1f}x")


if __name__ == "__main__":
    main()
