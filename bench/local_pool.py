"""Local pool speed and memory, in one run on this machine.

Measures, against EmbeddedPools started here (real HTTP on 127.0.0.1, real Node):

1. warm ``1+1`` round trip over HTTP (p50, p99): httpx client in this process
   (as the REPL runs the embedded pool), the standard library's http.client in
   this process (the pool's own latency, without httpx's ~1 ms of CPU), and httpx
   in a separate process (as with ``acajs-repl serve``); plus the kernel alone (``Kernel.execute`` on the
   pool's loop, no HTTP) to show where the time goes;
2. first execution of a new identifier, with a ready kernel waiting and
   without one (``--ready 0``: Node starts inside the request);
3. 50 sessions created concurrently (50 new identifiers executing ``1+1`` at once);
4. memory per idle session (those 50 sessions): RSS, private (USS), PSS;
5. the naive baseline: ``node -e "console.log(1+1)"``, a process per snippet.

    /work/venv/bin/python bench/local_pool.py [--warm 500] [--first 20] [--sessions 50] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings

V = "2025-10-02-preview"
EXTRA: dict[str, Any] = {}  # PoolSettings of every pool here (--os-sandbox, --egress)
BODY = {"codeInputType": "Inline", "executionType": "Synchronous", "code": "1+1"}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 50), "p99": pct(values, 99), "min": min(values), "max": max(values), "n": len(values)}


def headers(pool: EmbeddedPool) -> dict[str, str]:
    return {"Authorization": f"Bearer {pool.token}"}


def execute(c: httpx.Client, identifier: str) -> float:
    t = time.perf_counter()
    r = c.post("/executions", params={"api-version": V, "identifier": identifier}, json=BODY)
    ms = (time.perf_counter() - t) * 1000
    body = r.json()
    assert r.status_code == 200 and body["result"]["executionResult"] == 2, r.text
    return ms


OUT_OF_PROCESS = r"""
import httpx, json, sys, time
endpoint, token, ident, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
body = {"codeInputType": "Inline", "executionType": "Synchronous", "code": "1+1"}
out = []
with httpx.Client(base_url=endpoint, headers={"Authorization": "Bearer " + token}) as c:
    for i in range(n + 20):
        t = time.perf_counter()
        r = c.post("/executions", params={"api-version": "2025-10-02-preview", "identifier": ident}, json=body)
        ms = (time.perf_counter() - t) * 1000
        assert r.json()["result"]["executionResult"] == 2
        if i >= 20:
            out.append(ms)
print(json.dumps(out))
"""


def lean_client_times(pool: EmbeddedPool, ident: str, n: int) -> list[float]:
    """The same round trip with the standard library's http.client (headers and body
    in one send, keep-alive): the pool's own latency without httpx's ~1 ms."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(pool.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    data = json.dumps(BODY).encode()
    hdrs = {**headers(pool), "Content-Type": "application/json"}
    path = f"{u.path}/executions?api-version={V}&identifier={ident}"
    times = []
    try:
        for i in range(n + 30):
            t = time.perf_counter()
            conn.request("POST", path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = json.loads(resp.read())
            ms = (time.perf_counter() - t) * 1000
            assert payload["result"]["executionResult"] == 2
            if i >= 30:
                times.append(ms)
    finally:
        conn.close()
    return times


def bench_warm(n: int, data_dir: Path) -> dict[str, Any]:
    with EmbeddedPool(PoolSettings(ready=1, data_dir=data_dir, **EXTRA)) as pool:
        ident = str(uuid.uuid4())
        with httpx.Client(base_url=pool.endpoint, headers=headers(pool)) as c:
            for _ in range(30):
                execute(c, ident)

            async def server_cpu() -> float:
                return time.thread_time()

            s0, c0 = pool.run(server_cpu()), time.thread_time()
            in_process = [execute(c, ident) for _ in range(n)]
            s1, c1 = pool.run(server_cpu()), time.thread_time()
            cpu = {"server_ms": (s1 - s0) * 1000 / n, "client_ms": (c1 - c0) * 1000 / n}
        lean = lean_client_times(pool, ident, n)
        out = subprocess.run(
            [sys.executable, "-c", OUT_OF_PROCESS, pool.endpoint, pool.token, ident, str(n)],
            capture_output=True, text=True, check=True, timeout=600,
        )
        separate = json.loads(out.stdout)
        kernel = pool.pool.get(ident).kernel

        async def direct() -> list[float]:
            times = []
            for i in range(n + 20):
                t = time.perf_counter()
                res = await kernel.execute("1+1", timeout=10)
                ms = (time.perf_counter() - t) * 1000
                assert res.value == 2
                if i >= 20:
                    times.append(ms)
            return times

        kernel_only = pool.run(direct(), timeout=600)
    return {
        "in_process_http": summary(in_process),
        "in_process_http_client": summary(lean),
        "separate_process_http": summary(separate),
        "kernel_only": summary(kernel_only),
        "cpu_per_request": cpu,
    }


def bench_first(n: int, ready: int, data_dir: Path) -> dict[str, Any]:
    with EmbeddedPool(PoolSettings(ready=ready, max_sessions=5, data_dir=data_dir, **EXTRA)) as pool:
        times = []
        with httpx.Client(base_url=pool.endpoint, headers=headers(pool)) as c:
            execute(c, "warm-up-http")  # connection and code paths warm; not measured
            c.delete("/session", params={"api-version": V, "identifier": "warm-up-http"})
            for _ in range(n):
                if ready:
                    pool.run(pool.pool.wait_ready())
                ident = str(uuid.uuid4())
                times.append(execute(c, ident))
                c.delete("/session", params={"api-version": V, "identifier": ident})
    return summary(times)


def read_memory(kernel: Any) -> dict[str, int]:
    """Memory of a kernel's every process (with the OS sandbox: bwrap's two, Node,
    and slirp4netns for egress), summed."""
    from repl.local.kernel import _tree_pids

    pids = _tree_pids(kernel.pid)
    sandbox = getattr(kernel, "_sandbox", None)
    if sandbox is not None and sandbox.slirp_pid:
        pids.append(sandbox.slirp_pid)
    total: dict[str, int] = {}
    for pid in pids:
        for k, v in _read_memory(pid).items():
            total[k] = total.get(k, 0) + v
    return total


def _read_memory(pid: int) -> dict[str, int]:
    info: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:")):
                info[line.split(":")[0]] = int(line.split()[1]) * 1024
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("Pss", "Private_Clean", "Private_Dirty"):
                info[key] = int(line.split()[1]) * 1024
    return {
        "rss": info["VmRSS"],
        "anon": info.get("RssAnon", 0),
        "uss": info.get("Private_Clean", 0) + info.get("Private_Dirty", 0),
        "pss": info.get("Pss", 0),
    }


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def bench_concurrent(n: int, data_dir: Path) -> dict[str, Any]:
    with EmbeddedPool(PoolSettings(ready=1, max_sessions=n + 10, data_dir=data_dir, **EXTRA)) as pool:
        pool.run(pool.pool.wait_ready())
        avail_before = mem_available()

        async def burst() -> tuple[float, list[float]]:
            limits = httpx.Limits(max_connections=n + 5, max_keepalive_connections=n + 5)
            async with httpx.AsyncClient(base_url=pool.endpoint, headers=headers(pool), limits=limits,
                                         timeout=120) as c:

                async def one() -> float:
                    t = time.perf_counter()
                    r = await c.post("/executions", params={"api-version": V, "identifier": str(uuid.uuid4())},
                                     json=BODY)
                    assert r.status_code == 200 and r.json()["result"]["executionResult"] == 2, r.text
                    return (time.perf_counter() - t) * 1000

                t0 = time.perf_counter()
                each = await asyncio.gather(*(one() for _ in range(n)))
                return (time.perf_counter() - t0) * 1000, list(each)

        wall, each = asyncio.run(burst())
        time.sleep(1.0)  # let the sessions go idle (and the ready kernel refill)
        sessions = pool.pool.sessions()
        mems = [read_memory(s.kernel) for s in sessions if s.kernel is not None]
        avail_after = mem_available()
    mean = {k: sum(m[k] for m in mems) / len(mems) for k in mems[0]}
    return {
        "sessions": n,
        "wall_ms": wall,
        "per_request": summary(each),
        "idle_memory_mean_bytes": mean,
        "mem_available_drop_per_session_bytes": (avail_before - avail_after) / n,
        "measured_kernels": len(mems),
    }


def bench_node_e(n: int) -> dict[str, Any]:
    node = os.environ.get("ACAJS_NODE") or shutil.which("node") or "node"
    times = []
    for i in range(n + 2):
        t = time.perf_counter()
        out = subprocess.run([node, "-e", "console.log(1+1)"], capture_output=True, text=True, check=True)
        ms = (time.perf_counter() - t) * 1000
        assert out.stdout.strip() == "2"
        if i >= 2:
            times.append(ms)
    return summary(times)


def http_parser() -> str:
    """The HTTP implementation uvicorn's ``http="auto"`` (the pool's setting) picks."""
    import uvicorn

    try:
        import httptools
    except ImportError:
        return f"h11 (uvicorn {uvicorn.__version__}, httptools not installed)"
    return f"httptools {httptools.__version__} (uvicorn {uvicorn.__version__})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warm", type=int, default=500, help="warm round trips per client (default 500)")
    ap.add_argument("--first", type=int, default=20, help="first executions per case (default 20)")
    ap.add_argument("--sessions", type=int, default=50, help="concurrent new sessions (default 50)")
    ap.add_argument("--node-e", type=int, default=20, help="node -e runs (default 20)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--os-sandbox", choices=["on", "off"], default="on", help="bubblewrap (default on)")
    ap.add_argument("--egress", choices=["enabled", "disabled"], default="enabled")
    a = ap.parse_args()
    EXTRA.update(os_sandbox=a.os_sandbox == "on", egress=a.egress)

    import tempfile

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="acajs-bench-") as tmp:
        base = Path(tmp)
        results: dict[str, Any] = {
            "machine": {
                "python": platform.python_version(),
                "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
                "cpus": os.cpu_count(),
                "loadavg_before": load_before,
                "http_parser": http_parser(),
            }
        }
        results["warm"] = bench_warm(a.warm, base / "warm")
        results["first_with_ready"] = bench_first(a.first, 1, base / "first-ready")
        results["first_without_ready"] = bench_first(max(5, a.first // 2), 0, base / "first-cold")
        results["concurrent"] = bench_concurrent(a.sessions, base / "burst")
        results["node_e"] = bench_node_e(a.node_e)
        results["machine"]["loadavg_after"] = os.getloadavg()

    if a.json:
        print(json.dumps(results, indent=2))
        return 0
    m = results["machine"]
    print(f"python {m['python']}, node {m['node']}, {m['cpus']} cpus, load average "
          f"{m['loadavg_before'][0]:.2f} before / {m['loadavg_after'][0]:.2f} after; HTTP parser {m['http_parser']}")

    def row(label: str, s: dict[str, float]) -> None:
        print(f"  {label:<44} p50 {s['p50']:8.2f} ms   p99 {s['p99']:8.2f} ms   (n={s['n']})")

    print("warm 1+1 round trip:")
    row("HTTP, httpx client in the pool's process", results["warm"]["in_process_http"])
    row("HTTP, http.client in the pool's process", results["warm"]["in_process_http_client"])
    row("HTTP, httpx client in a separate process", results["warm"]["separate_process_http"])
    row("kernel only (no HTTP)", results["warm"]["kernel_only"])
    cpu = results["warm"]["cpu_per_request"]
    print(f"  CPU per in-process round trip: server thread {cpu['server_ms']:.2f} ms, "
          f"client thread {cpu['client_ms']:.2f} ms (Node's own CPU not included)")
    print("first execution of a new identifier:")
    row("with a ready kernel", results["first_with_ready"])
    row("without a ready kernel (Node starts)", results["first_without_ready"])
    c = results["concurrent"]
    print(f"{c['sessions']} sessions created concurrently: all done in {c['wall_ms']:.0f} ms")
    row("per request", c["per_request"])
    mib = 1024 * 1024
    mm = c["idle_memory_mean_bytes"]
    print(f"memory per idle session (mean of {c['measured_kernels']} kernels): RSS {mm['rss'] / mib:.1f} MiB, "
          f"private (USS) {mm['uss'] / mib:.1f} MiB, PSS {mm['pss'] / mib:.1f} MiB; "
          f"MemAvailable drop {c['mem_available_drop_per_session_bytes'] / mib:.1f} MiB/session")
    print("naive baseline:")
    row('node -e "console.log(1+1)"', results["node_e"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
