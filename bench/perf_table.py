"""Issue 14's table in one run: every row measured here, as a ratio to its anchor.

From the repository root::

    .venv/bin/python bench/perf_table.py [--quick] [--only ROW,ROW] [--json FILE]

Each row is measured on this machine, in this run, next to its anchor (the
two interleaved where they can be), with medians of a few repetitions so the
whole table takes a few minutes on a 2-core machine. The printed table has:
row, measured, anchor, ratio, goal, met?. A row that cannot be measured here
(no tmux, no ptpython, no Node) says "not measured: why".

Rows and where they come from (the bench scripts beside this one):

- ``tui_round_trip``, ``tui_20_cells``, ``tui_flat``: the Textual app headless
  (``App.run_test``) against an embedded pool in this process, the way
  ``bench/render.py`` drives it: ``1+1`` submitted as the editor submits it.
  The round trip ends when the result reaches the transcript (the screen's
  handler ran); "painted" ends when Textual has finished the screen refresh
  that shows the finished cell (both timestamped inside the app). Anchors: the
  engine alone (``ReplEngine.run``, same process and pool), one full layout
  and render of the screen, the painted run at 5 cells. GC pauses are timed
  with ``gc.callbacks`` while the transcript grows to 200 and then 1,000 cells.
- ``api_warm``: ``SessionsClient.execute('1+1')`` against an embedded pool;
  anchor: ``bench/kernel_overhead.py``'s raw Node pipe. Context: the floor of
  this architecture from ``bench/http_floor.py`` (one round): a bare Starlette
  app served as the pool is, a raw asyncio server, raw streams on both sides,
  the pool with a no-op kernel.
- ``kernel``: ``bench/kernel_overhead.py``'s ``Kernel.execute`` (default pool
  settings); anchor: the raw pipe.
- ``exec_cold``, ``exec_serve``: ``bench/one_shot.py``'s ``python -m repl exec
  '1+1'`` (embedded pool), and the same against a running ``serve``; anchor:
  ``node -e 'console.log(1+1)'``.
- ``large_output``: 100 MB written by ``process.stdout.write`` through ``serve``
  (output cap raised) to ``SessionsClient.execute`` in another process; anchor:
  ``node -e`` writing it into a pipe read by Python. Memory: peak RSS growth of
  the server and of the client, in copies of the output.
- ``history_up``: the first Up after a run (``History.cursor``) with 10,000
  entries; anchor: appending one entry.
- ``files``: ``bench/files_listing.py`` (``list_files(recursive=True)`` with
  1,000 files); anchor: ``os.scandir`` + ``lstat``.
- ``launch``: ``bench/startup.py``'s tmux timing, until the TUI shows its
  session (connected); anchor: ptpython's prompt (``pip install ptpython``
  into the venv, for the bench only).
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(BENCH)]

median = statistics.median


@dataclass
class Row:
    key: str
    what: str
    measured: str = ""
    anchor: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


# ------------------------------------------------------------------- the TUI
async def _tui_rows(pool: Any, quick: bool) -> list[Row]:
    from paint_spy import PaintSpy

    from repl.config import Settings
    from repl.tui.app import AcajsApp

    runs = 6 if quick else 12
    app = AcajsApp(Settings(endpoint=pool.endpoint, token=pool.token, session=os.urandom(8).hex()))
    rows: list[Row] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen: Any = app.screen
        deadline = time.perf_counter() + 60
        while getattr(screen, "engine", None) is None:
            if time.perf_counter() > deadline:
                raise TimeoutError("the TUI did not connect in 60 s")
            await pilot.pause(0.05)
        engine = screen.engine

        # Timestamps taken inside the app: when a run's result reaches the
        # transcript (the screen's handler hands it over and the run is done),
        # and when Textual ends a screen refresh (layout and render written).
        spy = PaintSpy(screen)

        def cells_done(count: int) -> bool:
            views = screen.cell_views()
            return cell_count() >= count and not views[-1].running and not engine.busy and not screen._runs


        def cell_count() -> int:
            # every cell, archived or live (bench/ also runs against older trees)
            transcript = screen.transcript
            return transcript.cell_count() if hasattr(transcript, "cell_count") else len(screen.cell_views())

        async def settle() -> None:
            """Let the work that follows a run (pool status, timers) finish, so
            each measurement starts from a quiet app, as a user's next Enter does."""
            await pilot.pause(0.15)

        async def round_trip(paint: bool = True) -> float:
            """Submitted as the editor submits it, until the result is in the
            transcript (``paint=False``), or until Textual has rendered the
            frame that shows the finished cell."""
            count = cell_count() + 1
            spy.expect_run()
            t = time.perf_counter()
            screen.submit("1+1")
            if not paint:
                return (await spy.cell_shown() - t) * 1000
            return (await spy.cell_painted(lambda: cells_done(count)) - t) * 1000

        async def engine_alone() -> float:
            t = time.perf_counter()
            cell = await engine.run("1+1")
            assert cell.error is None and cell.execution is not None, cell
            return (time.perf_counter() - t) * 1000

        def layout() -> float:
            t = time.perf_counter()
            app.screen._refresh_layout(app.screen.size)
            app.screen._compositor.render_update(full=True)
            return (time.perf_counter() - t) * 1000

        for _ in range(5):  # warm up: 5 cells on screen
            await round_trip()
        async def at_cells(count: int) -> None:
            """A transcript of ``count`` cells (cleared and refilled when longer)."""
            if cell_count() > count:
                screen.action_clear()
                await settle()
            while cell_count() < count:
                await round_trip()

        tui5, alone, painted5 = [], [], []
        for _ in range(runs):
            await at_cells(4)
            await settle()
            alone.append(await engine_alone())
            await settle()
            tui5.append(await round_trip(paint=False))
            await at_cells(4)
            await settle()
            painted5.append(await round_trip())
        # back to 5 cells' worth measured; grow to 20 (the engine's own runs add no views)
        while cell_count() < 20:
            await round_trip()
        tui20, layouts = [], []
        for _ in range(runs):
            await settle()
            layouts.append(layout())
            await settle()
            tui20.append(await round_trip())
        pauses: list[float] = []
        started: list[float] = []

        def on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                started.append(time.perf_counter())
            elif started:
                pauses.append((time.perf_counter() - started.pop()) * 1000)

        gc.callbacks.append(on_gc)
        try:
            while cell_count() < 200 - runs:
                await round_trip()
            tui200 = []
            for _ in range(runs):
                await settle()
                tui200.append(await round_trip())
            while cell_count() < 1000 - runs:
                await round_trip()
            tui1000 = []
            for _ in range(runs):
                await settle()
                tui1000.append(await round_trip())
            live_widgets = len(screen.transcript.children)
        finally:
            gc.callbacks.remove(on_gc)

    p5, a = median(tui5), median(alone)
    rows.append(Row(
        "tui_round_trip", "TUI round trip for 1+1, embedded pool (5 cells)",
        f"{ms(p5)} p50, {ms(max(tui5))} max", f"engine alone {ms(a)}", p5 / a,
        "within 2 ms of the engine, no spikes", p5 - a <= 2.0 and max(tui5) - a <= 10.0,
        f"TUI - engine = {p5 - a:.1f} ms (the server's own share is in both)",
    ))
    p20, lay = median(tui20), median(layouts)
    rows.append(Row(
        "tui_20_cells", "Enter to result painted, 20 cells on screen",
        ms(p20), f"one layout + full render {ms(lay)}", p20 / lay, "<= 25 ms", p20 <= 25.0,
    ))
    p200, p1000, pp5 = median(tui200), median(tui1000), median(painted5)
    worst = max(pauses) if pauses else 0.0
    ratio = max(p200, p1000) / pp5
    rows.append(Row(
        "tui_flat", "TUI run at 200 and 1,000 cells vs at 5 cells (painted)",
        f"{ms(p200)} at 200, {ms(p1000)} at 1,000; GC: {len(pauses)} collections, worst {ms(worst)}",
        f"5 cells {ms(pp5)}", ratio, "<= 1.5x at both, no pause over 50 ms", ratio <= 1.5 and worst <= 50.0,
        f"200: {p200 / pp5:.2f}x, 1,000: {p1000 / pp5:.2f}x; {live_widgets} widgets in the transcript at 1,000 cells",
    ))
    return rows


def tui_rows(quick: bool) -> list[Row]:
    from repl.local.embedded import EmbeddedPool
    from repl.local.settings import PoolSettings

    with tempfile.TemporaryDirectory(prefix="acajs-bench-tui-") as tmp:
        os.environ["ACAJS_CONFIG_DIR"] = f"{tmp}/config"
        os.environ["ACAJS_DATA_DIR"] = f"{tmp}/data"
        with EmbeddedPool(PoolSettings(data_dir=Path(tmp) / "pool", ready=1)) as pool:
            pool.wait_started()
            return asyncio.run(_tui_rows(pool, quick))


# --------------------------------------------------------- client and kernel
def api_and_kernel_rows(quick: bool) -> list[Row]:
    import kernel_overhead

    from repl.api import SessionsClient, StaticToken
    from repl.local.embedded import EmbeddedPool
    from repl.local.node import find_node
    from repl.local.settings import PoolSettings

    calls = 300 if quick else 1000
    node = find_node().path
    pipe = kernel_overhead.raw_pipe(node, calls)["p50_ms"]
    kernel = asyncio.run(kernel_overhead.kernel_calls(calls, sandbox=PoolSettings().sandbox))["p50_ms"]
    pipe2 = kernel_overhead.raw_pipe(node, calls)["p50_ms"]
    apipe = asyncio.run(kernel_overhead.asyncio_pipe(node, calls))["p50_ms"]
    with tempfile.TemporaryDirectory(prefix="acajs-bench-api-") as tmp, EmbeddedPool(
        PoolSettings(data_dir=Path(tmp), ready=1)
    ) as pool:
        ident = f"bench-{uuid.uuid4()}"

        async def api() -> list[float]:
            client = SessionsClient(pool.endpoint, StaticToken(pool.token), arm_base=pool.arm_base)  # as the REPL
            try:
                times = []
                for i in range(calls + 30):
                    t = time.perf_counter()
                    ex = await client.execute("1+1", identifier=ident)
                    took = (time.perf_counter() - t) * 1000
                    assert ex.ok and ex.value == 2, ex
                    if i >= 30:
                        times.append(took)
                return times
            finally:
                await client.aclose()

        api_times = asyncio.run(api())
    import http_floor

    floor = http_floor.measure(calls, rounds=1)["p50_ms"]
    anchor = median([pipe, pipe2])
    a50 = median(api_times)
    # Context, not the goal's anchor: the same pipe driven by asyncio, as the pool drives kernels.
    beside = f"the pipe driven by asyncio: {ms(apipe)}"
    return [
        Row("api_warm", "warm 1+1 through repl.api (embedded)", f"{ms(a50)} p50, {ms(pct(api_times, 99))} p99",
            f"raw Node pipe {ms(anchor)}", a50 / anchor, "<= 5x", a50 / anchor <= 5.0,
            f"{beside}, {a50 / apipe:.1f}x of it; floor (bench/http_floor.py): bare Starlette+uvicorn as the pool "
            f"is served {ms(floor['client->starlette'])}, raw asyncio server {ms(floor['httpx->protocol'])} "
            f"(httpx+LoopbackTransport), raw streams both sides {ms(floor['streams->protocol'])}; pool with a no-op "
            f"kernel {ms(floor['client->pool, no-op kernel'])}"),
        Row("kernel", "the kernel wrapper alone (Kernel.execute)", f"{ms(kernel)} p50",
            f"raw Node pipe {ms(anchor)}", kernel / anchor, "<= 2x", kernel / anchor <= 2.0,
            f"{beside}, {kernel / apipe:.1f}x of it"),
    ]


# ------------------------------------------------------------ one-shot exec
def exec_rows(quick: bool) -> list[Row]:
    import one_shot

    runs = 4 if quick else 7
    cold = one_shot.exec_wall(runs, [REPO])[0]
    ne = one_shot.node_e(runs)
    token = uuid.uuid4().hex
    env = {**os.environ, "ACAJS_SERVE_TOKEN": token}
    serve = subprocess.Popen(
        [sys.executable, "-m", "repl", "serve", "--port", "0"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        endpoint = _serve_endpoint(serve)
        cenv = {**os.environ, "ACAJS_ENDPOINT": endpoint, "ACAJS_TOKEN": token}
        warm: list[float] = []
        for i in range(runs + 1):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "repl", "exec", "1+1"], cwd=REPO, env=cenv,
                                 capture_output=True, text=True)
            took = (time.perf_counter() - t) * 1000
            assert out.stdout.strip() == "2", out
            if i:
                warm.append(took)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    n50 = median(ne)
    c50, w50 = median(cold), median(warm)
    return [
        Row("exec_cold", "acajs-repl exec '1+1', embedded pool (cold)", ms(c50), f"node -e {ms(n50)}",
            c50 / n50, "<= 3x", c50 / n50 <= 3.0),
        Row("exec_serve", "acajs-repl exec '1+1' against a running serve", ms(w50), f"node -e {ms(n50)}",
            w50 / n50, "<= 2.5x", w50 / n50 <= 2.5),
    ]


def _serve_endpoint(serve: subprocess.Popen[str]) -> str:
    assert serve.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = serve.stdout.readline()
        if not line:
            break
        if line.strip().startswith("endpoint:"):
            return line.split("endpoint:", 1)[1].strip()
    raise RuntimeError("acajs-repl serve printed no endpoint")


# -------------------------------------------------------------- large output
CLIENT_100MB = """
import asyncio, json, resource, sys, time
from repl.api import SessionsClient, StaticToken
endpoint, token, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
async def main():
    c = SessionsClient(endpoint, StaticToken(token), arm_base=endpoint.split("/subscriptions/")[0])  # as the REPL
    try:
        await c.execute("1", identifier="big")  # the session exists before the server's baseline is taken
        for line in sys.stdin:  # one measured run per "go" line
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            rss0 = rss()
            t = time.perf_counter()
            ex = await c.execute(f"process.stdout.write('x'.repeat({size})); 1", identifier="big", timeout=200)
            wall = time.perf_counter() - t
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            print(json.dumps({"wall": wall, "got": len(ex.stdout or ""), "rss": max(peak - base, rss() - rss0),
                              "error": None if ex.ok else str(ex)[:300]}), flush=True)
            del ex
    finally:
        await c.aclose()
print("ready", flush=True)
asyncio.run(main())
"""


def _hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def large_output_row(quick: bool) -> list[Row]:
    size = 100_000_000
    runs = 1 if quick else 3
    anchors = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(["node", "-e", f"process.stdout.write('x'.repeat({size}))"], capture_output=True)
        anchors.append(time.perf_counter() - t)
        assert len(proc.stdout) == size
        del proc
    anchor = statistics.median(anchors)
    token = uuid.uuid4().hex
    env = {**os.environ, "ACAJS_SERVE_TOKEN": token}
    serve = subprocess.Popen(
        [sys.executable, "-m", "repl", "serve", "--port", "0", "--output-cap", str(2 * size), "--ready", "0",
         "--memory-mb", "2048"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    results: list[dict[str, Any]] = []
    failure = ""
    try:
        endpoint = _serve_endpoint(serve)
        client = subprocess.Popen([sys.executable, "-c", CLIENT_100MB, endpoint, token, str(size)], cwd=REPO,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert client.stdin is not None and client.stdout is not None
        try:
            client.stdout.readline()  # "ready": imported
            for _ in range(runs):
                # The server's peak is reset to what it holds now (after the session's first
                # execution): its growth during the run is what the output costs it.
                Path(f"/proc/{serve.pid}/clear_refs").write_text("5")
                before = _hwm(serve.pid)
                client.stdin.write("go\n")
                client.stdin.flush()
                line = client.stdout.readline()
                if not line:
                    failure = f"the client failed: {client.stderr.read()[-300:] if client.stderr else ''!r}"
                    break
                res = json.loads(line)
                if res["got"] != size:
                    failure = f"the client got {res['got']} of {size} characters ({res['error']})"
                    break
                res["server"] = _hwm(serve.pid) - before
                results.append(res)
        finally:
            client.stdin.close()
            client.wait(timeout=60)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    row = Row("large_output", "100 MB of output, whole path (serve, cap raised)", goal="<= 3x, <= 2 copies/process")
    if failure or not results:
        row.measured = f"not measured: {failure or 'no run'}"
        return [row]
    wall = statistics.median([r["wall"] for r in results])
    server_copies = max(r["server"] for r in results) / size
    client_copies = max(r["rss"] for r in results) / size
    row.measured = f"{wall:.2f} s; server {server_copies:.3f}, client {client_copies:.3f} copies (most of {runs} runs)"
    row.anchor = f"node -e into a pipe {anchor:.2f} s"
    row.ratio = wall / anchor
    # A copy is 100 MB; what is left over 2.00 (0.3 MB in the server here) is fixed
    # buffers (a pipe read, socket buffers, a streamed piece), counted up to 1 MB.
    row.met = row.ratio <= 3.0 and server_copies <= 2.01 and client_copies <= 2.01
    return [row]


# ------------------------------------------------------------------ history
def history_row(quick: bool) -> list[Row]:
    from repl.history import History

    with tempfile.TemporaryDirectory(prefix="acajs-bench-history-") as tmp:
        path = Path(tmp) / "history.jsonl"
        seed = History(path)
        lines = [json.dumps({"code": f"let v{i} = {i} * 2", "time": "2026-01-01T00:00:00+00:00",
                             "session": "s", "status": "succeeded", "duration_ms": 1.0}) for i in range(10_000)]
        path.write_text("\n".join(lines) + "\n")
        del seed
        history = History(path)
        history.cursor("")  # the app's start reads it once
        appends, ups = [], []
        for i in range(15 if quick else 40):
            t = time.perf_counter()
            history.append(f"x{i} + 1", session="s", status="succeeded", duration_ms=1.0)
            t1 = time.perf_counter()
            cursor = history.cursor("draft")
            assert cursor.previous("draft") == f"x{i} + 1"
            t2 = time.perf_counter()
            appends.append((t1 - t) * 1000)
            ups.append((t2 - t1) * 1000)
    u, a = median(ups), median(appends)
    return [Row("history_up", "first Up after a run, 10k-entry history", ms(u), f"append one entry {ms(a)}",
                u / a, "< 5 ms", u < 5.0)]


# -------------------------------------------------------------------- files
def files_row(quick: bool) -> list[Row]:
    import files_listing

    res = files_listing.measure(1000, 10 if quick else 25)
    note = (f"parts: walk {ms(res['walk'])}, server body {ms(res['server_body'])}, whole HTTP answer "
            f"{ms(res['http_raw'])}, client parsing (parse_file_list) {ms(res['parse_file_list'])}")
    return [Row("files", ".files with 1,000 files (list_files recursive)", ms(res["client_list_files"]),
                f"os.scandir + lstat {ms(res['scandir_lstat'])}", res["ratio"], "<= 3x", res["ratio"] <= 3.0,
                note)]


# ------------------------------------------------------------------- launch
def launch_row(quick: bool, ptpython: str | None) -> list[Row]:
    row = Row("launch", "launch to connected (TUI, embedded pool)", goal="<= 1.3x ptpython")
    if shutil.which("tmux") is None:
        row.measured = "not measured: no tmux"
        return [row]
    pt = ptpython or shutil.which("ptpython") or str(Path(sys.executable).with_name("ptpython"))
    if not Path(pt).exists():
        row.measured = "not measured: no ptpython (.venv/bin/pip install ptpython)"
        return [row]
    import startup

    runs = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="acajs-bench-launch-") as tmp:
        py = f"-u COLUMNS -u LINES -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={tmp}/pycache TERM=xterm-256color"
        env = f"{py} ACAJS_CONFIG_DIR={tmp}/config ACAJS_DATA_DIR={tmp}/data"
        # "· session" is in the header once the engine is connected (pool up, client ready).
        ours = f"cd {REPO} && env {env} {sys.executable} -m repl"
        commands = [("acajs-repl", ours, ["Run", "· session"]), ("ptpython", f"env {py} {pt}", [">>>"])]
        times = startup.measure(commands, runs)
    a, p = median(times["acajs-repl"]), median(times["ptpython"])
    row.measured, row.anchor, row.ratio = f"{a:.2f} s", f"ptpython prompt {p:.2f} s", a / p
    row.met = a / p <= 1.3
    return [row]


# -------------------------------------------------------------------- table
STEPS: list[tuple[str, Callable[[argparse.Namespace], list[Row]]]] = [
    ("history", lambda a: history_row(a.quick)),
    ("files", lambda a: files_row(a.quick)),
    ("api", lambda a: api_and_kernel_rows(a.quick)),
    ("exec", lambda a: exec_rows(a.quick)),
    ("tui", lambda a: tui_rows(a.quick)),
    ("launch", lambda a: launch_row(a.quick, a.ptpython)),
    ("large", lambda a: large_output_row(a.quick)),
]


def print_table(rows: list[Row]) -> None:
    head = ("row", "measured", "anchor", "ratio", "goal", "met?")
    table = [head] + [
        (r.what, r.measured, r.anchor, f"{r.ratio:.2f}x" if r.ratio is not None else "-", r.goal,
         "-" if r.met is None else ("yes" if r.met else "NO"))
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    for n, line in enumerate(table):
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    for r in rows:
        if r.note:
            print(f"  {r.key}: {r.note}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--only", default="", help=f"comma-separated steps: {', '.join(k for k, _ in STEPS)}")
    ap.add_argument("--ptpython", default=None, help="ptpython executable (default: on PATH or in this venv)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = ap.parse_args()
    only = {s for s in args.only.split(",") if s}
    # The package runs from bytecode, as an installed one does (pip compiles it;
    # where PYTHONDONTWRITEBYTECODE is set, every start would compile every module).
    compileall.compile_dir(REPO / "repl", quiet=1)
    rows: list[Row] = []
    t0 = time.perf_counter()
    for key, step in STEPS:
        if only and key not in only:
            continue
        t = time.perf_counter()
        try:
            rows.extend(step(args))
        except Exception as exc:  # one row failing must not lose the others
            rows.append(Row(key, key, measured=f"not measured: {type(exc).__name__}: {exc}"[:200]))
        print(f"[{key}: {time.perf_counter() - t:.0f} s]", file=sys.stderr, flush=True)
    print_table(rows)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"total {time.perf_counter() - t0:.0f} s; commit {_commit()}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return out.stdout.strip() or "?"


if __name__ == "__main__":
    raise SystemExit(main())
