"""Attack: a kernel outlives a killed server (busy in a timer loop, at 100% CPU).

A kernel whose event loop is blocked never sees its command pipe close.  Under
bubblewrap it dies with the server anyway (``--die-with-parent``, and its PID
namespace ends with its init); the next pool started on the same data
directory removes what the killed one left (its directory, the kernels'
temporary directories) and SIGKILLs any kernel still recorded there.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from repl.local.kernel import _tree_pids
from tests.local.sandbox_support import V, require_bwrap
from tests.local.test_pool_lifecycle import process_gone

REPO = Path(__file__).resolve().parents[2]


def _serve(data: Path) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "repl", "serve", "--data-dir", str(data), "--ready", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    assert proc.stdout is not None
    text = ""
    while "Press Ctrl-C" not in text:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        text += line
    endpoint = re.search(r"endpoint:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    token = re.search(r"token:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    assert "protection: bubblewrap" in text, text
    return proc, endpoint, token


def test_a_kernel_busy_in_a_timer_dies_with_a_killed_server_and_its_files_are_swept(tmp_path: Path) -> None:
    require_bwrap()
    data = tmp_path / "data"
    proc, endpoint, token = _serve(data)
    try:
        with httpx.Client(base_url=endpoint, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            spin = "setTimeout(() => { while (true) {} }, 10); fs.writeFileSync('/tmp/left', 'x'); 'armed'"
            r = c.post("/executions", params={"api-version": V, "identifier": "spin"}, json={"code": spin})
            assert r.json()["result"]["executionResult"] == "'armed'", r.text
        (root,) = [p for p in data.iterdir() if p.name.startswith("acajs-pool-")]
        recorded = [int(p.name) for p in (root / "kernels").iterdir()]
        tree = [pid for k in recorded for pid in _tree_pids(k)]
        assert len(tree) >= 3  # bwrap, its init, Node
        tmpdirs = list((root / "tmp").iterdir())
        assert tmpdirs and (tmpdirs[0] / "left").exists()
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up runs in the server
        proc.wait()
    for pid in tree:
        assert process_gone(pid), pid  # the kernel did not survive, even spinning
    assert root.exists()  # left behind by the killed server ...
    proc2, _endpoint, _token = _serve(data)
    try:
        deadline = time.monotonic() + 30
        while root.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the sweep runs in the background of the new pool's start
        assert not root.exists()  # ... and swept by the next one
    finally:
        proc2.send_signal(signal.SIGINT)
        proc2.wait(30)


def test_the_sweep_kills_kernels_recorded_by_a_dead_pool(tmp_path: Path) -> None:
    """A recorded kernel still running when its pool is gone (say, started without the
    OS sandbox on a system without parent-death signals) is killed by the sweep."""
    from repl.local.pool import OWNER_FILE, ROOT_PREFIX, remove_stale_roots
    from repl.local.procfs import process_tag

    root = tmp_path / f"{ROOT_PREFIX}dead"
    (root / "kernels").mkdir(parents=True)
    (root / OWNER_FILE).write_text("999999999 1")  # no such process
    stray = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        (root / "kernels" / str(stray.pid)).write_text(process_tag(stray.pid) or "")
        assert remove_stale_roots(tmp_path) == [root]
        assert stray.wait(10) == -signal.SIGKILL
        assert not root.exists()
    finally:
        if stray.poll() is None:
            stray.kill()
            stray.wait()
