"""Attack: session code signals or renices processes outside its session.

Before the OS sandbox, code that replaced a built-in prototype method before the
harness next called it got the harness's original ``process._kill`` and could
stop other sessions' kernels, host processes and the pool server.  Under
bubblewrap the kernel has its own PID namespace: no pid outside it can even be
named, whatever the harness does or does not guard (it guards nothing there).
"""

from __future__ import annotations

import os
import subprocess

from tests.local.sandbox_support import healthy, kernel_pid, new_id, run, sandboxed_pool

# The prototype trick: a harness call site that uses a built-in method hands over
# whatever it is given; here the originals are used directly (under the OS sandbox
# the harness no longer wraps them), with every variant of the call.
SIGNAL_ATTACKS = (
    "process.kill({pid}, 'SIGKILL')",
    "process._kill({pid}, 9)",
    "process.kill(-{pid}, 'SIGKILL')",
    "child_process.execSync('kill -9 {pid} 2>&1 || true').toString()",
    # the originals, fetched from a fresh realm's view of the process object
    "Reflect.apply(Object.getOwnPropertyDescriptor(process, 'kill').value, process, [{pid}, 'SIGKILL'])",
)


def test_signals_cannot_reach_other_kernels_host_processes_or_the_server() -> None:
    with sandboxed_pool() as (pool, c):
        victim_session, attacker = new_id(), new_id()
        healthy(c, victim_session)
        run(c, attacker, "1")
        victim = kernel_pid(pool, victim_session)
        host = subprocess.Popen(["sleep", "300"])
        try:
            for pid in (victim, host.pid, os.getpid()):
                for attack in SIGNAL_ATTACKS:
                    res = run(c, attacker, attack.format(pid=pid))
                    # fails (no such process in its namespace) or, for kill(1)-like
                    # reuse of a small pid, only ever touches the attacker's own sandbox
                    assert res["status"] in ("Failed", "Succeeded"), res
            res = run(c, attacker, f"try {{ process.kill({victim}, 0); 'reached' }} catch (e) {{ e.code }}")
            assert res["executionResult"] == "'ESRCH'", res
            assert host.poll() is None  # the host's process lives
            assert pool.pool.get(victim_session).kernel.alive
            healthy(c, victim_session)  # the other session's state and kernel are intact
            healthy(c)  # the server serves
        finally:
            host.kill()
            host.wait()


def test_kill_all_processes_reaches_nothing_outside_the_sandbox() -> None:
    with sandboxed_pool() as (pool, c):
        victim_session, attacker = new_id(), new_id()
        healthy(c, victim_session)
        host = subprocess.Popen(["sleep", "300"])
        try:
            # kill(-1): every process the caller may signal (as root: the whole machine)
            # (here: ESRCH, nothing it may signal outside itself in its namespace)
            res = run(c, attacker, "process.kill(-1, 'SIGKILL'); 'survived?'")
            assert res["status"] == "Failed", res
            assert host.poll() is None
            healthy(c, victim_session)
            healthy(c)
        finally:
            host.kill()
            host.wait()


def test_renice_cannot_reach_host_processes() -> None:
    with sandboxed_pool() as (pool, c):
        attacker = new_id()
        host = subprocess.Popen(["sleep", "300"])
        try:
            before = os.getpriority(os.PRIO_PROCESS, host.pid)
            for target in (host.pid, os.getpid()):
                renice = (f"try {{ os.setPriority({target}, 19); 'reniced' }} "
                          "catch (e) { e.info ? e.info.code : e.code }")
                res = run(c, attacker, renice)
                assert res["executionResult"] == "'ESRCH'", res
            # every process of a user id: only those in its own namespace are visible
            run(c, attacker, "try { child_process.execSync('renice -n 19 -u 0 -u 65534 2>&1') } catch (e) {} 1")
            assert os.getpriority(os.PRIO_PROCESS, host.pid) == before
            assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == before  # the server's
            healthy(c)
        finally:
            host.kill()
            host.wait()
