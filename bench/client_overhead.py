"""Client overhead: execute round trip through SessionsClient vs a bare httpx POST vs curl.

Same local pool (an EmbeddedPool started here, unless --endpoint/--token name
one), same session, same code (``1+1``), one run. Client and bare httpx calls
are interleaved so both see the same noise; curl runs after them (each call
spawns a process, so its wall time includes that; curl's own ``time_total`` is
reported too).

    /work/venv/bin/python bench/client_overhead.py [--iterations 300] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
import uuid

import httpx

from repl.api import SessionsClient, StaticToken

CODE = "1+1"


def summary(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"n": len(s), "median_ms": statistics.median(s), "mean_ms": statistics.fmean(s),
            "p10_ms": s[len(s) // 10], "p90_ms": s[(len(s) * 9) // 10], "min_ms": s[0]}


async def run(endpoint: str, token: str, iterations: int, curl_iterations: int) -> dict:
    ident = f"bench-{uuid.uuid4()}"
    url = f"{endpoint}/executions?api-version=2025-10-02-preview&identifier={ident}"
    body = {"codeInputType": "Inline", "executionType": "Synchronous", "code": CODE, "timeoutInSeconds": 60}
    headers = {"Authorization": f"Bearer {token}"}
    client = SessionsClient(endpoint, StaticToken(token))
    bare = httpx.AsyncClient(timeout=90)
    try:
        # Warm up: the first request creates the session; both clients open their connection.
        for _ in range(5):
            ex = await client.execute(CODE, identifier=ident)
            assert ex.ok and ex.value == 2, ex
            r = await bare.post(url, json=body, headers=headers)
            assert r.json()["result"]["executionResult"] == 2, r.text
        t_client: list[float] = []
        t_httpx: list[float] = []
        for i in range(iterations):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for which in order:
                if which == 0:
                    t0 = time.perf_counter()
                    ex = await client.execute(CODE, identifier=ident)
                    t_client.append((time.perf_counter() - t0) * 1000)
                    assert ex.value == 2
                else:
                    t0 = time.perf_counter()
                    r = await bare.post(url, json=body, headers=headers)
                    data = r.json()
                    t_httpx.append((time.perf_counter() - t0) * 1000)
                    assert data["result"]["executionResult"] == 2
    finally:
        await client.aclose()
        await bare.aclose()
    out: dict = {"client": summary(t_client), "httpx": summary(t_httpx)}
    curl = shutil.which("curl")
    if curl and curl_iterations:
        wall: list[float] = []
        own: list[float] = []
        cmd = [curl, "-s", "-X", "POST", url, "-H", f"Authorization: Bearer {token}",
               "-H", "Content-Type: application/json", "-d", json.dumps(body),
               "-w", "\n%{time_total}"]
        for _ in range(curl_iterations):
            t0 = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, check=True)
            wall.append((time.perf_counter() - t0) * 1000)
            text, _, total = p.stdout.rpartition("\n")
            assert json.loads(text)["result"]["executionResult"] == 2
            own.append(float(total) * 1000)
        out["curl_wall"] = summary(wall)
        out["curl_time_total"] = summary(own)
    c, h = out["client"]["median_ms"], out["httpx"]["median_ms"]
    out["client_overhead_vs_httpx_pct"] = (c / h - 1) * 100
    out["client_overhead_vs_httpx_ms"] = c - h
    # Robust to load from other processes: the median of the paired differences
    # (each client call against the httpx call made right next to it).
    paired = statistics.median(a - b for a, b in zip(t_client, t_httpx, strict=True))
    out["paired_median_diff_ms"] = paired
    out["paired_median_diff_pct"] = paired / h * 100
    return out


async def cpu_only(iterations: int) -> dict:
    """Per-call CPU cost with no network: both sides on an httpx.MockTransport."""
    payload = json.dumps({"id": "e", "identifier": "x", "executionType": "Synchronous", "status": "Succeeded",
                          "result": {"stdout": "", "stderr": "", "executionResult": 2,
                                     "executionTimeInMilliseconds": 1}}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=payload, headers={"content-type": "application/json"})

    ep = "https://bench.invalid/subscriptions/s/resourceGroups/r/sessionPools/p"
    body = {"codeInputType": "Inline", "executionType": "Synchronous", "code": CODE, "timeoutInSeconds": 60}
    url = f"{ep}/executions?api-version=2025-10-02-preview&identifier=x"
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as bare, \
            httpx.AsyncClient(transport=httpx.MockTransport(handler)) as inner:
        client = SessionsClient(ep, StaticToken("t"), http=inner)
        res = {}
        for name in ("client", "httpx", "client", "httpx"):  # twice each, keep the second
            t0 = time.perf_counter()
            for _ in range(iterations):
                if name == "client":
                    await client.execute(CODE, identifier="x")
                else:
                    (await bare.post(url, json=body, headers={"Authorization": "Bearer t"})).json()
            res[name] = (time.perf_counter() - t0) / iterations * 1e6
    return {"client_us_per_call": res["client"], "httpx_us_per_call": res["httpx"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--curl-iterations", type=int, default=50)
    ap.add_argument("--endpoint")
    ap.add_argument("--token")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pool = None
    if args.endpoint:
        endpoint, token = args.endpoint.rstrip("/"), args.token or ""
    else:
        from repl.local.embedded import EmbeddedPool
        from repl.local.settings import PoolSettings

        pool = EmbeddedPool(PoolSettings(ready=1)).start()
        pool.wait_started()
        endpoint, token = pool.endpoint, pool.token
    try:
        res = asyncio.run(run(endpoint, token, args.iterations, args.curl_iterations))
    finally:
        if pool is not None:
            pool.stop()
    res["cpu_only"] = asyncio.run(cpu_only(2000))
    res["python"] = platform.python_version()
    res["httpx_version"] = httpx.__version__
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    where = "the embedded local pool" if pool else endpoint
    print(f"execute '{CODE}' round trip, median / p10 / p90 (ms), same session on {where}")
    for key in ("client", "httpx", "curl_wall", "curl_time_total"):
        if key in res:
            s = res[key]
            print(f"  {key:16} {s['median_ms']:7.2f} / {s['p10_ms']:7.2f} / {s['p90_ms']:7.2f}   (n={s['n']})")
    print(f"client overhead vs bare httpx: {res['client_overhead_vs_httpx_ms']:+.2f} ms "
          f"({res['client_overhead_vs_httpx_pct']:+.1f} %)")
    print(f"median of paired differences (client - adjacent httpx call): {res['paired_median_diff_ms']:+.2f} ms "
          f"({res['paired_median_diff_pct']:+.1f} % of the httpx median)")
    cpu = res["cpu_only"]
    print(f"CPU per call, no network (httpx.MockTransport): client {cpu['client_us_per_call']:.0f} us, "
          f"bare httpx {cpu['httpx_us_per_call']:.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
