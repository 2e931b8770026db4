"""One-shot commands: ``acajs-repl exec '1+1'`` end to end, and the embedded pool's
stop with and without ``one_shot`` (issue 14 item 4).

    .venv/bin/python bench/one_shot.py [--runs 10] [--before DIR] [--floor | --serve]

``--serve``: instead, ``exec '1+1'`` against a ``serve`` of this tree, from this
tree (and from ``--before DIR``, in turn), 0.4 s apart so the server's ready
kernel is back each time: the client's side of the ``serve`` row alone.

``--floor``: also time, interleaved with ``exec``, a Python that only imports
every module an ``exec`` on the embedded pool imports (client, pool, server,
kernel), on one thread, and exits: the imports are GIL-bound, so ``exec``
cannot be faster than this, whatever overlaps with the kernel's start.

``--before DIR``: also time ``python -m repl exec '1+1'`` run from DIR (a
worktree of an older commit: ``git worktree add /tmp/before <commit>``),
interleaved with this tree's, so both see the same load.

``one_shot`` (what the CLI's exec/run/files use): the ready kernel taken by the
command is not refilled, and stopping cancels the HTTP server instead of
uvicorn's graceful shutdown (fixed 0.1 s steps).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings

REPO = Path(__file__).resolve().parents[1]
V = "2025-10-02-preview"


def exec_once(tree: Path) -> float:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "repl", "exec", "1+1"], capture_output=True, text=True, cwd=tree)
    assert out.stdout.strip() == "2", out
    return (time.perf_counter() - t) * 1000


def exec_wall(runs: int, trees: list[Path]) -> list[list[float]]:
    times: list[list[float]] = [[] for _ in trees]
    for i in range(runs + 1):
        for k, tree in enumerate(trees):
            ms = exec_once(tree)
            if i:  # the first round warms the page cache
                times[k].append(ms)
    return times


# Every module `python -m repl exec` imports (both threads), then exit as the CLI does.
FLOOR_CODE = (
    "import atexit, gc; atexit.register(gc.freeze); "
    "import repl.cli.main, repl.cli.output, repl.config, repl.cli.exec, repl.connection, "
    "repl.local.embedded, repl.local.pool, repl.local.kernel, repl.api.client, "
    "repl.local.server, repl.local.connections, uvicorn"
)


def floor_once(tree: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR_CODE], check=True, cwd=tree)
    return (time.perf_counter() - t) * 1000


def exec_and_floor(runs: int, tree: Path = REPO) -> tuple[list[float], list[float]]:
    """(exec '1+1' times, import-floor times), interleaved."""
    ex: list[float] = []
    fl: list[float] = []
    for i in range(runs + 1):
        e, f = exec_once(tree), floor_once(tree)
        if i:
            ex.append(e)
            fl.append(f)
    return ex, fl


def exec_against_serve(runs: int, trees: list[Path]) -> list[list[float]]:
    import os
    import uuid

    from perf_table import _serve_endpoint

    token = uuid.uuid4().hex
    serve = subprocess.Popen([sys.executable, "-m", "repl", "serve", "--port", "0"], cwd=REPO,
                             env={**os.environ, "ACAJS_SERVE_TOKEN": token}, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        env = {**os.environ, "ACAJS_ENDPOINT": _serve_endpoint(serve), "ACAJS_TOKEN": token}
        times: list[list[float]] = [[] for _ in trees]
        for i in range(runs + 1):
            for k, tree in enumerate(trees):
                time.sleep(0.4)  # the server's ready kernel is refilled
                t = time.perf_counter()
                out = subprocess.run([sys.executable, "-m", "repl", "exec", "1+1"], cwd=tree, env=env,
                                     capture_output=True, text=True)
                assert out.stdout.strip() == "2", out
                if i:
                    times[k].append((time.perf_counter() - t) * 1000)
        return times
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def node_e(runs: int) -> list[float]:
    times = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        subprocess.run(["node", "-e", "console.log(1+1)"], capture_output=True, check=True)
        times.append((time.perf_counter() - t) * 1000)
    return times[1:]


def pool_phases(one_shot: bool, runs: int) -> dict[str, list[float]]:
    phases: dict[str, list[float]] = {"stop": [], "total": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        pool = EmbeddedPool(PoolSettings(one_shot=one_shot)).start()
        pool.wait_started()
        with httpx.Client(base_url=pool.endpoint, headers={"Authorization": f"Bearer {pool.token}"}) as c:
            r = c.post("/executions", params={"api-version": V, "identifier": "x"}, json={"code": "1+1"})
            assert r.json()["result"]["executionResult"] == 2
        t1 = time.perf_counter()
        pool.stop()
        t2 = time.perf_counter()
        phases["stop"].append((t2 - t1) * 1000)
        phases["total"].append((t2 - t0) * 1000)
    return phases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--before", type=Path, default=None, help="a worktree of an older commit")
    ap.add_argument("--floor", action="store_true", help="also time the imports alone (see above)")
    ap.add_argument("--serve", action="store_true", help="only exec against a serve (see above)")
    a = ap.parse_args()
    p50 = statistics.median
    if a.serve:
        trees = [REPO] + ([a.before.resolve()] if a.before else [])
        for tree, ts in zip(trees, exec_against_serve(a.runs, trees), strict=True):
            print(f"exec '1+1' against serve, from {tree}: p50 {p50(ts):6.1f} ms (n={a.runs})")
        return
    if a.floor:
        ex, fl = exec_and_floor(a.runs)
        ne = node_e(a.runs)
        print(f"exec '1+1' p50 {p50(ex):6.1f} ms = {p50(ex) / p50(ne):.2f}x node -e; its imports alone on one "
              f"thread p50 {p50(fl):6.1f} ms = {p50(fl) / p50(ne):.2f}x (node -e p50 {p50(ne):.1f} ms, n={a.runs})")
    for one_shot in (False, True):
        ph = pool_phases(one_shot, a.runs)
        print(f"embedded pool, one_shot={one_shot!s:5}: stop p50 {p50(ph['stop']):6.1f} ms, "
              f"start+exec+stop p50 {p50(ph['total']):6.1f} ms (n={a.runs})")
    trees = [REPO] + ([a.before.resolve()] if a.before else [])
    walls = exec_wall(a.runs, trees)
    ne = node_e(a.runs)
    for tree, ex in zip(trees, walls, strict=True):
        print(f"python -m repl exec '1+1' from {tree}: p50 {p50(ex):6.1f} ms = {p50(ex) / p50(ne):.1f}x "
              f"node -e (p50 {p50(ne):.1f} ms) (n={a.runs})")


if __name__ == "__main__":
    main()
