"""One-shot commands on the embedded pool leave nothing behind: after ``acajs-repl
exec`` has exited, no process it started is running and its pool's directory is
gone, although its stop does not wait for the kernel's processes to exit.

This test process makes itself a child subreaper, so whatever the command leaves
running is re-parented here instead of to init, and can be found and waited for.
"""

from __future__ import annotations

import ctypes
import os
import select
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Cli

PR_SET_CHILD_SUBREAPER = 36

# Session code that leaves something running: a detached child in its own session
# (where the OS sandbox lets it start one; Node's permission model refuses it), and
# an event loop kept busy after the answer (never reading its command channel).
LEFT_RUNNING = (
    "try { require('child_process').spawn('sleep', ['300'], {detached: true, stdio: 'ignore'}).unref() } "
    "catch (e) {}; setImmediate(() => { for (;;) {} }); 6 * 7"
)


@pytest.fixture
def subreaper() -> Iterator[None]:
    if not sys.platform.startswith("linux"):
        pytest.skip("child subreapers are Linux only")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip(f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def adopted(known: set[int]) -> list[int]:
    """Children of this process it did not start itself (orphans it adopted)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in known:
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me:
            found.append(int(entry))
    return found


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait (on a pidfd) until ``pid`` has ended, then reap it; False if it still runs."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        if not select.select([pidfd], [], [], timeout)[0]:
            return False
    finally:
        os.close(pidfd)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    return True


def test_exec_on_the_embedded_pool_leaves_no_process_and_no_directory(
    cli: Cli, tmp_path: Path, subreaper: None
) -> None:
    tmp = tmp_path / "tmp"  # where the embedded pool makes its directory (TMPDIR)
    tmp.mkdir()
    known = set(adopted(set()))  # children this process already had
    r = cli("exec", LEFT_RUNNING, env={"TMPDIR": str(tmp)})
    assert r.returncode == 0 and r.stdout.strip() == "42", r
    assert list(tmp.iterdir()) == []  # the pool's directory, sessions and kernel temp dirs
    # Anything still running was left behind; give what is dying its time to die.
    deadline = time.monotonic() + 30
    left = adopted(known)
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if not wait_gone(pid, max(0.0, deadline - time.monotonic()))]
        left += [pid for pid in adopted(known) if pid not in left]
    assert left == [], [Path(f"/proc/{p}/cmdline").read_bytes() for p in left if Path(f"/proc/{p}").exists()]
