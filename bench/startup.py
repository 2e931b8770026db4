"""Time from launch to the first paint of the interactive screen, from outside.

Each run starts the command in a fresh tmux window (the tmux server is already
up, so its start-up is not counted) and polls ``tmux capture-pane`` every few
milliseconds until the screen shows the marker of an interactive screen:

- acajs-repl: the footer's ``Run`` key hint and the editor's frame (the
  embedded local pool starts after the first paint, in its own thread);
- ptpython (if given with ``--ptpython``): its ``>>>`` prompt.

With ``--floor``, also a bare Textual app (one ``Static``, nothing else) until
it is painted: what any Textual app pays before its first frame here, and
acajs-repl until its header names the session (connected: client ready, the
pool starting).

Usage (from the repository root)::

    /work/venv/bin/python bench/startup.py --runs 7
    /work/venv/bin/python bench/startup.py --runs 7 --ptpython /tmp/ptpy-venv/bin/ptpython

The commands are timed in turn (acajs-repl, ptpython, acajs-repl, ...), so a
change in the machine's load during the run hits both alike. Prints one line
per command: median / min / max seconds over the runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

POLL_S = 0.005
BARE_MARK = "bare-textual-app-painted"
BARE_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Bare(App):\n"
    "    def compose(self):\n"
    f"        yield Static({BARE_MARK!r})\n"
    "Bare().run()\n"
)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def new_tmux_session(prefix: str, width: int, height: int) -> str:
    """A detached tmux session of that size (its first window idles); its name."""
    session = f"{prefix}-{uuid.uuid4().hex[:8]}"
    for attempt in range(3):  # the shared tmux server can be restarting under us
        try:
            tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "sleep 3600")
            return session
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def time_to_marker(
    command: str, markers: list[str], *, width: int = 120, height: int = 32, timeout: float = 30.0
) -> float:
    """Seconds from spawning ``command`` in tmux until every marker is on screen."""
    session = new_tmux_session("bench", width, height)
    try:
        t0 = time.perf_counter()
        tmux("new-window", "-t", session, "-n", "run", command)
        deadline = t0 + timeout
        while True:
            screen = tmux("capture-pane", "-p", "-t", f"{session}:run")
            if all(m in screen for m in markers):
                return time.perf_counter() - t0
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{command!r}: markers {markers} not on screen after {timeout} s:\n{screen}")
            time.sleep(POLL_S)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def measure(commands: list[tuple[str, str, list[str]]], runs: int) -> dict[str, list[float]]:
    """Time every command ``runs`` times, interleaved (A B A B ...) so a change
    in the machine's load hits all of them alike."""
    # One warm-up run each so the page cache (and byte-code caches) hold the
    # files for every command alike.
    for _name, command, markers in commands:
        time_to_marker(command, markers)
    times: dict[str, list[float]] = {name: [] for name, _c, _m in commands}
    for _ in range(runs):
        for name, command, markers in commands:
            times[name].append(time_to_marker(command, markers))
    for name, values in times.items():
        print(
            f"{name:<12} median {statistics.median(values):.3f} s   min {min(values):.3f} s   "
            f"max {max(values):.3f} s   (n={runs})"
        )
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--command", default=None, help="acajs-repl command (default: this venv's acajs-repl)")
    parser.add_argument("--ptpython", default=None, help="path to a ptpython executable to compare with")
    parser.add_argument("--floor", action="store_true",
                        help="also time a bare Textual app's first paint and acajs-repl until connected")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="PYTHONDONTWRITEBYTECODE=1 (site-packages keep their caches, "
                        "the checkout's modules compile each time)")
    args = parser.parse_args(argv)

    exe = args.command or str(Path(sys.executable).with_name("acajs-repl"))
    with tempfile.TemporaryDirectory() as tmp:
        # Byte-code caching as on a user's machine (this sandbox sets
        # PYTHONDONTWRITEBYTECODE); the caches go to a private prefix so the
        # checkout stays clean. The warm-up run of each command fills them.
        if args.no_bytecode_cache:  # as this sandbox runs: the checkout's modules compiled every time
            py = "-u COLUMNS -u LINES TERM=xterm-256color PYTHONDONTWRITEBYTECODE=1"
        else:
            py = f"-u COLUMNS -u LINES -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={tmp}/pycache TERM=xterm-256color"
        env = f"{py} ACAJS_CONFIG_DIR={tmp}/config ACAJS_DATA_DIR={tmp}/data"
        commands = [("acajs-repl", f"env {env} {exe}", ["Run", "╭", "^p"])]
        if args.floor:
            commands.append(("connected", f"env {env} {exe}", ["Run", "· session"]))
            commands.append(("bare-textual", f"env {py} {shlex.quote(sys.executable)} -c {shlex.quote(BARE_APP)}",
                             [BARE_MARK]))
        if args.ptpython:
            commands.append(("ptpython", f"env {py} {shlex.quote(args.ptpython)}", [">>>"]))
        measure(commands, args.runs)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
