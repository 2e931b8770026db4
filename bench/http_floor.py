"""The floor under the warm execute: what HTTP costs in this architecture.

Everything runs in one process, as in the REPL: each server on its own thread
and event loop, the client on the main thread's loop, over real TCP on
127.0.0.1. The client is ``LoopbackTransport`` (what ``SessionsClient`` uses
for a pool on this machine). Rows, each ``N`` sequential requests per round,
the rounds interleaved (every row once per round), the median of the rounds'
p50s:

* ``streams->protocol``: a raw asyncio-streams client (one write, read the head,
  read Content-Length bytes) against a raw ``asyncio.Protocol`` HTTP server
  answering a fixed body: two event loops talking HTTP in one process, no
  framework on either side; the floor of the floor;
* ``httpx->protocol``: ``httpx.AsyncClient(transport=LoopbackTransport())``
  against the same raw server;
* ``httpx->starlette``: the same client against a bare Starlette app (one
  route, a fixed small JSON body) served by uvicorn *exactly as the pool is
  served*: ``repl.local.connections.server_config`` (httptools with the
  pool's guarded protocol, lifespan off, no access log, no date or server
  header), socket bound as ``EmbeddedPool`` binds it;
* ``client->starlette``: ``SessionsClient.execute('1+1')`` against that bare
  app (its body is an execution answer, so the client parses it as usual):
  what the client adds over a bare httpx call;
* ``client->pool``: ``SessionsClient.execute('1+1')`` against an
  ``EmbeddedPool`` (the perf table's api row);
* ``kernel in pool``: ``Kernel.execute('1+1')`` of that session's kernel, run
  on the pool's own loop (the thread the pool drives it from), so
  ``client->pool`` minus it is the pool's HTTP path and the client;
* ``client->pool, no-op kernel``: the same pool with a kernel that answers
  ``2`` at once (``SessionPool(kernel_factory=...)``): the pool's HTTP path and
  the client measured directly rather than as a difference.

Every fixed body is the size of the pool's answer to ``1+1``. Beside each
p50, the CPU time per request of the serving thread and of the client's
(``/proc/self/task/TID/schedstat``, Linux): everything runs under one GIL, so
the two add up to most of the wall time, and they move less with the machine's
load than the wall time does.

    .venv/bin/python bench/http_floor.py [--calls 1000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from repl.api import SessionsClient, StaticToken  # noqa: E402
from repl.api.loopback import LoopbackTransport  # noqa: E402
from repl.local.embedded import EmbeddedPool  # noqa: E402
from repl.local.settings import PoolSettings  # noqa: E402

# An execution answer of the current dialect, as the pool sends for 1+1.
BODY = json.dumps(
    {"id": "4b1f7f5e-8a53-4b5e-9d2c-0d3e1f2a3b4c", "identifier": "bench", "executionType": "Synchronous",
     "status": "Succeeded",
     "result": {"stdout": "", "stderr": "", "executionResult": 2, "executionTimeInMilliseconds": 0}},
    separators=(",", ":"),
).encode()
REQUEST_BODY = b'{"codeInputType":"Inline","executionType":"Synchronous","code":"1+1","timeoutInSeconds":60}'
API_VERSION = "2025-10-02-preview"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def bound_socket() -> socket.socket:
    """A listening socket on 127.0.0.1, as EmbeddedPool binds it (TCP_NODELAY)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def in_thread(main: Callable[[], Awaitable[None]], name: str) -> int:
    """Run ``main`` on a new event loop in a new thread; that thread's native id."""
    started = threading.Event()
    tid: list[int] = []

    async def run() -> None:
        tid.append(threading.get_native_id())
        started.set()
        await main()

    threading.Thread(target=lambda: asyncio.run(run()), name=name, daemon=True).start()
    started.wait()
    return tid[0]


def thread_cpu_us(tid: int) -> float:
    """CPU time a thread of this process has run, in µs (Linux: schedstat, ns)."""
    return int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0]) / 1000


async def _native_id() -> int:
    return threading.get_native_id()


# ------------------------------------------------------------------ servers
class RawHttp(asyncio.Protocol):
    """HTTP/1.1 keep-alive, Content-Length bodies only; every request gets BODY."""

    RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                % len(BODY)) + BODY

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buf[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            self.transport.write(self.RESPONSE)


def start_raw_server() -> tuple[int, int]:
    """(port, server thread's native id)"""
    sock = bound_socket()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(RawHttp, sock=sock)
        await server.serve_forever()

    tid = in_thread(main, "raw-http")
    return int(sock.getsockname()[1]), tid


def start_starlette() -> tuple[int, int]:
    """A bare Starlette app served by uvicorn with the pool's own configuration:
    (port, server thread's native id)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from repl.local.connections import server_config

    async def executions(request: Request) -> Response:
        await request.body()
        return Response(BODY, media_type="application/json")

    app = Starlette(routes=[Route("/executions", executions, methods=["POST"])])
    server = uvicorn.Server(server_config(app, PoolSettings()))
    sock = bound_socket()
    tid = in_thread(lambda: server.serve(sockets=[sock]), "starlette")
    while not server.started:
        time.sleep(0.001)
    return int(sock.getsockname()[1]), tid


# ------------------------------------------------------------------ clients
Call = Callable[[], Awaitable[None]]
Close = Callable[[], Awaitable[None]]


async def streams_client(port: int) -> tuple[Call, Close]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (b"POST /executions?api-version=%s&identifier=bench HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n"
               b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
               % (API_VERSION.encode(), port, len(REQUEST_BODY), REQUEST_BODY))

    async def call() -> None:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        assert head.startswith(b"HTTP/1.1 200") and body == BODY

    async def close() -> None:
        writer.close()

    return call, close


def httpx_client(port: int) -> tuple[Call, Close]:
    http = httpx.AsyncClient(transport=LoopbackTransport())
    url = f"http://127.0.0.1:{port}/executions?api-version={API_VERSION}&identifier=bench"
    headers = {"content-type": "application/json", "authorization": "Bearer x"}

    async def call() -> None:
        r = await http.post(url, content=REQUEST_BODY, headers=headers)
        assert r.status_code == 200 and r.content == BODY

    return call, http.aclose


def sessions_client(endpoint: str, token: str, arm_base: str, identifier: str) -> tuple[Call, Close]:
    client = SessionsClient(endpoint, StaticToken(token), arm_base=arm_base)  # as the REPL does

    async def call() -> None:
        ex = await client.execute("1+1", identifier=identifier)
        assert ex.ok and ex.value == 2, ex

    return call, client.aclose


WARM_UP = 50


async def timed(call: Call, calls: int) -> list[float]:
    for _ in range(WARM_UP):
        await call()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return times


def kernel_times(pool: EmbeddedPool, identifier: str, calls: int) -> list[float]:
    """Kernel.execute('1+1') of the session's kernel, on the pool's own loop."""

    async def run() -> list[float]:
        session = pool.pool._sessions[identifier]
        kernel = session.kernel
        times = []
        for i in range(calls + 50):
            t = time.perf_counter()
            async with session.lock:
                r = await kernel.execute("1+1", timeout=60)
            if i >= 50:
                times.append((time.perf_counter() - t) * 1000)
            assert r.value_text == "2", r
        return times

    return list(pool.run(run(), timeout=None))


class NoOpKernel:
    """Answers every execution with ``2`` at once: the pool's path without Node."""

    alive = True
    pid = 0

    async def execute(self, code: str, *, timeout: float, output_limit: int | None = None) -> Any:
        from repl.local.kernel import KernelResult

        return KernelResult("ok", "", "", "2", 2, 0.01, False)

    async def adopt_files(self) -> None:
        pass

    def death_reason(self) -> str:
        return ""

    def abandon(self) -> None:
        pass

    def signal_kill(self) -> None:
        pass

    async def kill(self) -> None:
        pass


async def no_op_kernel(_workdir: Path, _settings: PoolSettings) -> Any:
    return NoOpKernel()


# -------------------------------------------------------------------- main
def measure(calls: int, rounds: int) -> dict[str, Any]:
    raw_port, raw_tid = start_raw_server()
    star_port, star_tid = start_starlette()
    star_origin = f"http://127.0.0.1:{star_port}"
    results: dict[str, list[float]] = {}
    # CPU per request of the serving thread and of this (the client's) thread, per round
    server_cpu: dict[str, list[float]] = {}
    client_cpu: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="acajs-bench-floor-") as tmp, EmbeddedPool(
        PoolSettings(data_dir=Path(tmp), ready=1)
    ) as pool, EmbeddedPool(
        PoolSettings(data_dir=Path(tmp), ready=1), pool_options={"kernel_factory": no_op_kernel}
    ) as no_op:
        ident = f"bench-{uuid.uuid4()}"
        pool_tid, no_op_tid = pool.run(_native_id()), no_op.run(_native_id())
        serving = {"streams->protocol": raw_tid, "httpx->protocol": raw_tid, "httpx->starlette": star_tid,
                   "client->starlette": star_tid, "client->pool": pool_tid, "client->pool, no-op kernel": no_op_tid}

        async def clients() -> None:
            rows: dict[str, tuple[Call, Close]] = {
                "streams->protocol": await streams_client(raw_port),
                "httpx->protocol": httpx_client(raw_port),
                "httpx->starlette": httpx_client(star_port),
                "client->starlette": sessions_client(star_origin, "x", star_origin, "bench"),
                "client->pool": sessions_client(pool.endpoint, pool.token, pool.arm_base, ident),
                "client->pool, no-op kernel": sessions_client(no_op.endpoint, no_op.token, no_op.arm_base, ident),
            }
            try:
                for _ in range(rounds):
                    for name, (call, _close) in rows.items():
                        s0, c0 = thread_cpu_us(serving[name]), time.thread_time()
                        results.setdefault(name, []).append(pct(await timed(call, calls), 50))
                        n = calls + WARM_UP
                        server_cpu.setdefault(name, []).append((thread_cpu_us(serving[name]) - s0) / n)
                        client_cpu.setdefault(name, []).append((time.thread_time() - c0) * 1e6 / n)
                    # the kernel on the pool's loop, this loop idle meanwhile
                    s0 = thread_cpu_us(pool_tid)
                    results.setdefault("kernel in pool", []).append(
                        pct(await asyncio.to_thread(kernel_times, pool, ident, calls), 50))
                    server_cpu.setdefault("kernel in pool", []).append(
                        (thread_cpu_us(pool_tid) - s0) / (calls + WARM_UP))
            finally:
                for _call, close in rows.values():
                    await close()

        asyncio.run(clients())
    p50 = {name: statistics.median(values) for name, values in results.items()}
    http_path = p50["client->pool"] - p50["kernel in pool"]
    return {
        "p50_ms": p50,
        "rounds_p50_ms": results,
        "server_thread_cpu_us": {name: statistics.median(v) for name, v in server_cpu.items()},
        "client_thread_cpu_us": {name: statistics.median(v) for name, v in client_cpu.items()},
        "pool_http_path_ms": http_path,
        "pool_over_floor_ms": http_path - p50["client->starlette"],
        "client_over_httpx_ms": p50["client->starlette"] - p50["httpx->starlette"],
        "starlette_over_protocol_ms": p50["httpx->starlette"] - p50["httpx->protocol"],
        "calls": calls,
        "rounds": rounds,
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = measure(args.calls, args.rounds)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for name, value in out["p50_ms"].items():
        rounds = ", ".join(f"{v:.3f}" for v in out["rounds_p50_ms"][name])
        server = out["server_thread_cpu_us"].get(name)
        client = out["client_thread_cpu_us"].get(name)
        cpu = f"CPU per request: server thread {server:4.0f} µs" if server is not None else ""
        cpu += f", client thread {client:4.0f} µs" if client is not None else ""
        print(f"{name:26} {value:.3f} ms p50  {cpu}  (rounds: {rounds})")
    print(f"pool's HTTP path + client (client->pool - kernel in pool): {out['pool_http_path_ms']:.3f} ms")
    print(f"  over the floor (client->starlette):                     {out['pool_over_floor_ms']:.3f} ms")
    print(f"client over a bare httpx call (client - httpx, starlette): {out['client_over_httpx_ms']:.3f} ms")
    print(f"starlette+uvicorn over a raw protocol (httpx clients):    {out['starlette_over_protocol_ms']:.3f} ms")
    srv = out["server_thread_cpu_us"]
    print(f"server thread CPU, the pool's app and connection over the bare app (no-op kernel): "
          f"{srv['client->pool, no-op kernel'] - srv['client->starlette']:.0f} µs per request")
    print(f"server thread CPU of the kernel inside a request (pool - no-op): "
          f"{srv['client->pool'] - srv['client->pool, no-op kernel']:.0f} µs; alone on the pool's loop: "
          f"{srv['kernel in pool']:.0f} µs")
    print(f"{args.calls} calls x {args.rounds} rounds; load average {out['load_average']:.2f}")


if __name__ == "__main__":
    main()
