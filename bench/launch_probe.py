"""The TUI's launch from inside: CPU time at the first frame and when connected,
and the first run's time after connected (docs/benchmarks.md, "Issue 14,
fourth pass: launch").

Each run starts acajs-repl's app in a fresh tmux window with a driver that
records, in the process: its CPU time (all threads, ``time.process_time``) and
wall time since the driver started at the first frame written to the terminal
and at the first frame whose header names the session; then it submits
``1+1`` ``--run-after`` seconds after the connection and records when the
result comes back and when its cell is painted. The CPU time does not depend on the machine's load as the
wall time does (start-up is CPU-bound: one process, the GIL).

Usage (from the repository root)::

    .venv/bin/python bench/launch_probe.py --runs 8
    .venv/bin/python bench/launch_probe.py --runs 8 --before /tmp/before --run-after 0.3

``--before DIR``: a checkout of another commit (``git worktree add /tmp/before
main``), run with this venv, in turn with this one (before, after, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from startup import new_tmux_session  # bench/, this script's own directory

REPO = Path(__file__).resolve().parent.parent

DRIVER = r"""
import json, os, sys, time
T0 = time.perf_counter()
marks = {}
def mark(name):
    marks.setdefault(name, (round((time.perf_counter() - T0) * 1000, 1), round(time.process_time() * 1000, 1)))
from textual.app import App
from repl.cli.main import build_parser
from repl.config import load_settings
from repl.tui import app as appmod
from repl.tui.screens import main as sm
display = App._display
def _display(self, screen, renderable):
    display(self, screen, renderable)
    if renderable is not None:
        mark("first_frame")
        if "session" in str(self.sub_title):
            mark("connected")
App._display = _display
connected = sm.ReplScreen.on_connected
def on_connected(self, message):
    connected(self, message)
    def go():
        mark("submitted")
        self.submit("1+1")
    self.set_timer(float(os.environ["PROBE_RUN_AFTER"]), go)
sm.ReplScreen.on_connected = on_connected
finished = sm.ReplScreen.on_run_finished
def on_run_finished(self, message):
    mark("result")
    finished(self, message)
sm.ReplScreen.on_run_finished = on_run_finished
painted = sm.ReplScreen._after_run_painted
def _after_run_painted(self):
    mark("painted")
    painted(self)
    self.set_timer(0.1, self.app.exit)
sm.ReplScreen._after_run_painted = _after_run_painted
appmod.run_app(load_settings(build_parser().parse_args([])))
with open(os.environ["PROBE_OUT"], "w") as f:
    json.dump(marks, f)
"""


def one_run(tree: Path, tmp: Path, run_after: float, timeout: float = 30.0) -> dict[str, list[float]]:
    out = tmp / f"marks-{uuid.uuid4().hex[:8]}.json"
    driver = tmp / "driver.py"
    driver.write_text(DRIVER)
    env = (f"-u COLUMNS -u LINES -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={tmp}/pycache TERM=xterm-256color "
           f"ACAJS_CONFIG_DIR={tmp}/config ACAJS_DATA_DIR={tmp}/data PYTHONPATH={tree} "
           f"PROBE_OUT={out} PROBE_RUN_AFTER={run_after}")
    session = new_tmux_session("probe", 120, 32)
    try:
        subprocess.run(["tmux", "new-window", "-t", session, "-n", "run",
                        f"cd {tree} && env {env} {sys.executable} {driver}"], check=True)
        deadline = time.monotonic() + timeout
        while not out.exists() or not out.stat().st_size:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no result from {tree} after {timeout} s")
            time.sleep(0.05)
        time.sleep(0.05)
        return dict(json.loads(out.read_text()))
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--run-after", type=float, default=0.001, help="seconds after connected to submit 1+1")
    parser.add_argument("--before", type=Path, default=None, help="another checkout, run in turn with this one")
    args = parser.parse_args(argv)
    trees = {"after": REPO} if args.before is None else {"before": args.before.resolve(), "after": REPO}
    rows: dict[str, list[dict[str, list[float]]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="acajs-launch-probe-") as tmp:
        for tree in trees.values():  # warm-up: byte-code caches, page cache
            one_run(tree, Path(tmp), args.run_after)
        for _ in range(args.runs):
            for name, tree in trees.items():
                rows[name].append(one_run(tree, Path(tmp), args.run_after))

    def med(name: str, key: str, index: int) -> float:
        return statistics.median(r[key][index] for r in rows[name])

    def med_diff(name: str, late: str, early: str) -> float:
        return statistics.median(r[late][0] - r[early][0] for r in rows[name])

    for name in trees:
        print(f"{name:<6} CPU at first frame {med(name, 'first_frame', 1):5.0f} ms, at connected "
              f"{med(name, 'connected', 1):5.0f} ms; wall at connected {med(name, 'connected', 0):5.0f} ms; "
              f"first run: submitted->result {med_diff(name, 'result', 'submitted'):5.0f} ms, "
              f"->painted {med_diff(name, 'painted', 'submitted'):5.0f} ms, "
              f"painted at {med(name, 'painted', 0):5.0f} ms "
              f"(n={args.runs}, submitted {args.run_after} s after connected)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; times from the driver's start")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
