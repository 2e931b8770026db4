"""Session lifecycle of the local pool, over real HTTP with real Node kernels.

Cooldown expiry uses an injected clock and an explicit reap, so nothing waits
300 s; one test checks the background reaper with a 1 s cooldown.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings

V = "2025-10-02-preview"


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client(pool: EmbeddedPool) -> httpx.Client:
    return httpx.Client(base_url=pool.endpoint, headers={"Authorization": f"Bearer {pool.token}"}, timeout=60)


def execute(c: httpx.Client, identifier: str, code: str, **fields) -> httpx.Response:
    return c.post("/executions", params={"api-version": V, "identifier": identifier},
                  json={"codeInputType": "Inline", "executionType": "Synchronous", "code": code, **fields})


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def process_gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait on a pidfd (no polling) until process ``pid`` has ended; False on timeout."""
    import os
    import select

    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], timeout)[0])  # readable once it has ended
    finally:
        os.close(pidfd)


@pytest.fixture
def clocked(tmp_path: Path):
    clock = FakeClock()
    pool = EmbeddedPool(
        PoolSettings(ready=0, cooldown=300, max_sessions=4, data_dir=tmp_path),
        pool_options={"clock": clock, "reap_interval": 3600.0},
    )
    with pool:
        yield pool, clock


def test_cooldown_resets_on_use_not_on_observation_and_expires(clocked) -> None:
    pool, clock = clocked
    ident = str(uuid.uuid4())
    q = {"api-version": V, "identifier": ident}
    with client(pool) as c:
        assert execute(c, ident, "globalThis.x = 1").json()["status"] == "Succeeded"
        first = c.get("/session", params=q).json()
        assert ts(first["expireAt"]) - ts(first["lastAccessedAt"]) == pytest.approx(300, abs=0.002)
        assert ts(first["lastAccessedAt"]) == pytest.approx(clock.now, abs=0.002)

        clock.advance(100)
        observed = c.get("/session", params=q).json()
        assert observed["lastAccessedAt"] == first["lastAccessedAt"]
        assert observed["expireAt"] == first["expireAt"]
        c.get("/listSessions", params={"api-version": V})
        c.get("/metadata", params={"api-version": V})
        assert c.get("/session", params=q).json()["expireAt"] == first["expireAt"]

        assert c.get("/files", params=q).status_code == 200  # files requests reset the cooldown
        after_files = c.get("/session", params=q).json()
        assert ts(after_files["lastAccessedAt"]) == pytest.approx(clock.now, abs=0.002)
        assert ts(after_files["expireAt"]) == pytest.approx(clock.now + 300, abs=0.002)
        assert after_files["createdAt"] == first["createdAt"]

        clock.advance(200)
        execute(c, ident, "x")  # executions reset it too
        touched = c.get("/session", params=q).json()
        assert ts(touched["expireAt"]) == pytest.approx(clock.now + 300, abs=0.002)

        session = pool.pool.get(ident)
        directory, pid = session.directory, session.kernel.pid
        clock.advance(299)
        assert pool.run(pool.pool.reap()) == []
        assert c.get("/session", params=q).status_code == 200
        clock.advance(2)
        assert pool.run(pool.pool.reap()) == [ident]
        gone = c.get("/session", params=q)
        assert gone.status_code == 400 and gone.json()["error"]["code"] == "SessionWithIdentifierNotFound"
        assert not directory.exists()
        assert process_gone(pid)

        # The same identifier later gets a fresh session with fresh state.
        fresh = execute(c, ident, "typeof x").json()
        assert fresh["result"]["executionResult"] == "'undefined'"
        again = c.get("/session", params=q).json()
        assert ts(again["createdAt"]) == pytest.approx(clock.now, abs=0.002)


def test_a_request_after_expiry_finds_a_fresh_session_though_the_reaper_has_not_run(clocked) -> None:
    # The service recycles a session at its expireAt; the reaper only runs now and
    # then. A request in between must not revive the old state (it did: a client
    # that counted the cooldown down to zero found its variables still there).
    pool, clock = clocked
    ident = str(uuid.uuid4())
    q = {"api-version": V, "identifier": ident}
    with client(pool) as c:
        assert execute(c, ident, "globalThis.kept = 'old'").json()["status"] == "Succeeded"
        session = pool.pool.get(ident)
        directory, pid = session.directory, session.kernel.pid
        clock.advance(300.5)  # past expireAt; no reap
        fresh = execute(c, ident, "typeof kept").json()
        assert fresh["result"]["executionResult"] == "'undefined'"
        again = c.get("/session", params=q).json()
        assert ts(again["createdAt"]) == pytest.approx(clock.now, abs=0.002)
        assert process_gone(pid)
        pool.run(pool.pool.quiesce())
        assert not directory.exists()
        # Not yet past it: the same session, its state kept.
        assert execute(c, ident, "globalThis.kept = 'new'").json()["status"] == "Succeeded"
        clock.advance(299)
        assert execute(c, ident, "kept").json()["result"]["executionResult"] == "'new'"


def test_a_session_past_its_expiry_is_gone_from_every_read_before_the_reaper_runs(clocked) -> None:
    # GET session, listSessions and GET execution showed it (and GET execution
    # touched it, moving its expireAt back into the future: the old state revived).
    pool, clock = clocked
    ident = str(uuid.uuid4())
    q = {"api-version": V, "identifier": ident}
    with client(pool) as c:
        body = {"codeInputType": "Inline", "executionType": "Synchronous", "code": "globalThis.kept = 1"}
        done = c.post("/executions", params=q, json=body).json()
        assert done["status"] == "Succeeded"
        execution = f"/executions/{done['id']}"
        assert c.get(execution, params=q).status_code == 200
        listed = c.get("/listSessions", params={"api-version": V}).json()["sessions"]
        assert [s["identifier"] for s in listed] == [ident]
        clock.advance(300.5)  # past expireAt; no reap

        def gone(path: str) -> str:
            return c.get(path, params=q).json()["error"]["code"]

        assert gone("/session") == "SessionWithIdentifierNotFound"  # as for a session never created
        assert c.get("/listSessions", params={"api-version": V}).json()["sessions"] == []
        assert gone(execution) == "ExecutionNotFound"
        assert gone("/session") == "SessionWithIdentifierNotFound"  # the read above revived nothing
        fresh = execute(c, ident, "typeof kept").json()
        assert fresh["result"]["executionResult"] == "'undefined'"


def test_a_busy_session_is_not_reaped(clocked) -> None:
    pool, clock = clocked
    ident = str(uuid.uuid4())
    q = {"api-version": V, "identifier": ident}
    with client(pool) as c:
        body = {"codeInputType": "Inline", "executionType": "Asynchronous",
                "code": "const fs = require('fs'); const t0 = Date.now(); "
                        "while (!fs.existsSync('/mnt/data/go') && Date.now() - t0 < 20000) {} 'out'"}
        r = c.post("/executions", params=q, json=body)
        assert r.status_code == 202
        location = r.headers["Operation-Location"]
        deadline = time.monotonic() + 10
        while pool.pool.get(ident).kernel is None:  # wait until the kernel runs the code
            assert time.monotonic() < deadline
            time.sleep(0.005)
        clock.advance(1000)
        assert pool.run(pool.pool.reap()) == []
        c.post("/files", params=q, files={"file": ("go", b"")})
        record = pool.pool.get_execution(ident, r.json()["id"])
        pool.run(record.done.wait(), timeout=20)  # the pool's own "ended" event, no polling
        res = c.get(location).json()
        assert res["result"]["executionResult"] == "'out'"
        assert pool.run(pool.pool.reap()) == []
        info = c.get("/session", params=q).json()
        assert ts(info["expireAt"]) == pytest.approx(clock.now + 300, abs=0.002)


def test_background_reaper_destroys_idle_sessions(tmp_path: Path) -> None:
    pool = EmbeddedPool(PoolSettings(ready=0, cooldown=1, data_dir=tmp_path), pool_options={"reap_interval": 0.2})
    with pool, client(pool) as c:
        ident = str(uuid.uuid4())
        q = {"api-version": V, "identifier": ident}
        assert execute(c, ident, "1").status_code == 200
        session = pool.pool.get(ident)
        directory, pid = session.directory, session.kernel.pid
        deadline = time.monotonic() + 10
        while c.get("/session", params=q).status_code == 200:
            assert time.monotonic() < deadline, "the reaper never destroyed the idle session"
            time.sleep(0.05)
        # The session is forgotten first, then its kernel killed and its directory removed.
        assert process_gone(pid)
        while directory.exists():
            assert time.monotonic() < deadline, "the reaper left the session directory behind"
            time.sleep(0.01)


def test_capacity_limit_gives_429_with_retry_after(tmp_path: Path) -> None:
    pool = EmbeddedPool(PoolSettings(ready=0, max_sessions=2, cooldown=120, data_dir=tmp_path))
    with pool, client(pool) as c:
        a, b, third = (str(uuid.uuid4()) for _ in range(3))
        assert execute(c, a, "1").status_code == 200
        assert c.get("/files", params={"api-version": V, "identifier": b}).status_code == 200
        for r in (
            execute(c, third, "1"),
            c.get("/files", params={"api-version": V, "identifier": third}),
            c.post("/code/execute", params={"api-version": "2024-10-02-preview", "identifier": third},
                   json={"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": "1"}}),
        ):
            assert r.status_code == 429
            assert r.json()["error"]["code"] == "SessionPoolCapacityExceeded" == r.headers["x-ms-error-code"]
            assert 1 <= int(r.headers["Retry-After"]) <= 120
        # Live sessions are still served; freeing one makes room.
        assert execute(c, a, "2").json()["result"]["executionResult"] == 2
        assert c.delete("/session", params={"api-version": V, "identifier": b}).status_code == 204
        assert execute(c, third, "3").json()["result"]["executionResult"] == 3
        listed = {s["identifier"] for s in c.get("/listSessions", params={"api-version": V}).json()["sessions"]}
        assert listed == {a, third}


def test_ready_kernel_serves_the_first_execution_and_is_refilled(tmp_path: Path) -> None:
    pool = EmbeddedPool(PoolSettings(ready=1, data_dir=tmp_path))
    with pool, client(pool) as c:
        pool.run(pool.pool.wait_ready())
        ready_pid = pool.pool._ready[0][1].pid
        ident = str(uuid.uuid4())
        # (process.pid inside the OS sandbox is its own namespace's: compare the host's)
        assert execute(c, ident, "1").status_code == 200
        assert pool.pool.get(ident).kernel.pid == ready_pid
        pool.run(pool.pool.wait_ready())
        refill_pid = pool.pool._ready[0][1].pid
        assert refill_pid != ready_pid
        other = str(uuid.uuid4())
        assert execute(c, other, "1").status_code == 200
        assert pool.pool.get(other).kernel.pid == refill_pid


def test_delete_session_kills_its_kernel_at_once(pool_http: httpx.Client, local_pool, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    assert execute(pool_http, identifier, "1").status_code == 200
    session = local_pool.pool.get(identifier)
    pid, directory = session.kernel.pid, session.directory
    assert pool_http.delete("/session", params=q).status_code == 204
    assert process_gone(pid) and not directory.exists()


def test_stop_kills_every_kernel_and_removes_every_directory(tmp_path: Path) -> None:
    pool = EmbeddedPool(PoolSettings(ready=1, data_dir=tmp_path))
    with client(pool.start()) as c:
        pool.wait_started()
        idents = [str(uuid.uuid4()) for _ in range(2)]
        for ident in idents:
            assert execute(c, ident, "1").status_code == 200
        pids = [pool.pool.get(ident).kernel.pid for ident in idents]
        pool.run(pool.pool.wait_ready())
        pids.append(pool.pool._ready[0][1].pid)
        root = pool.pool.root
        assert root.exists() and root.parent == tmp_path
    pool.stop()
    assert all(process_gone(pid) for pid in pids)
    assert not root.exists()
    assert list(tmp_path.iterdir()) == []


def test_concurrent_first_requests_for_one_identifier_make_one_session(tmp_path: Path) -> None:
    import concurrent.futures

    pool = EmbeddedPool(PoolSettings(ready=0, max_sessions=2, data_dir=tmp_path))
    with pool:
        ident = str(uuid.uuid4())

        def one(i: int) -> float:
            with client(pool) as c:
                marker = "globalThis.marker ??= Math.random()"  # one kernel: one marker
                return execute(c, ident, marker).json()["result"]["executionResult"]

        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            markers = set(ex.map(one, range(6)))
        assert len(markers) == 1
        assert len(pool.pool.sessions()) == 1


def test_directories_of_dead_pools_are_removed_at_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    # A pool process killed with SIGKILL cannot clean up after itself.
    code = (
        "import sys, time\n"
        "from repl.local.embedded import EmbeddedPool\n"
        "from repl.local.settings import PoolSettings\n"
        f"p = EmbeddedPool(PoolSettings(ready=0, data_dir={str(tmp_path)!r})).start(); p.wait_started()\n"
        "print(p.pool.root, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        dead_root = Path(proc.stdout.readline().strip())
        assert dead_root.is_dir() and (dead_root / "owner").read_text().startswith(f"{proc.pid} ")
    finally:
        proc.kill()
        proc.wait()
    unowned = tmp_path / "acajs-pool-unowned"
    unowned.mkdir()
    pool = EmbeddedPool(PoolSettings(ready=0, data_dir=tmp_path))
    with pool:
        deadline = time.monotonic() + 10
        while dead_root.exists():
            assert time.monotonic() < deadline, "the dead pool's directory was not removed"
            time.sleep(0.01)
        assert pool.pool.root.is_dir()  # its own directory stays
        assert unowned.is_dir()  # never remove what we cannot prove is ours and dead


def test_expired_sessions_make_room_before_the_reaper_runs(clocked) -> None:
    pool, clock = clocked  # max_sessions=4, cooldown 300, reaper asleep for an hour
    with client(pool) as c:
        old = [str(uuid.uuid4()) for _ in range(4)]
        for ident in old:
            assert c.get("/files", params={"api-version": V, "identifier": ident}).status_code == 200
        newcomer = str(uuid.uuid4())
        full = c.get("/files", params={"api-version": V, "identifier": newcomer})
        assert full.status_code == 429
        assert int(full.headers["Retry-After"]) == 300
        clock.advance(301)
        assert c.get("/files", params={"api-version": V, "identifier": newcomer}).status_code == 200
        listed = {s["identifier"] for s in c.get("/listSessions", params={"api-version": V}).json()["sessions"]}
        assert listed == {newcomer}


async def test_ready_kernels_are_refilled_with_bounded_concurrency(tmp_path: Path) -> None:
    from repl.local.kernel import Kernel
    from repl.local.pool import SessionPool

    running = peak = 0

    async def counting_factory(directory: Path, settings: PoolSettings) -> Kernel:  # real kernels, counted
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await Kernel.start(workdir=directory, settings=settings)
        finally:
            running -= 1

    pool = SessionPool(PoolSettings(ready=5, data_dir=tmp_path), kernel_factory=counting_factory,
                       refill_concurrency=2)
    await pool.start()
    try:
        await pool.wait_ready(5)
        assert peak == 2
        kernels = [k for _, k in pool._ready]
        assert len({k.pid for k in kernels}) == 5 and all(k.alive for k in kernels)
        # each was warmed up (one execution) before it was offered
        assert all(k._seq == 1 for k in kernels)
    finally:
        await pool.close()
    assert not any(k.alive for k in kernels)


async def test_a_ready_kernel_cancelled_while_warming_up_is_killed(tmp_path: Path, monkeypatch) -> None:
    import asyncio

    import repl.local.pool as pool_module
    from repl.local.kernel import Kernel
    from repl.local.pool import SessionPool

    warming = asyncio.Event()
    started: list[Kernel] = []

    class StuckWarmUp(SessionPool):
        @staticmethod
        async def _warm_up(kernel: Kernel) -> None:  # a warm-up that never ends
            started.append(kernel)
            warming.set()
            await asyncio.Event().wait()

    monkeypatch.setattr(pool_module, "CLOSE_GRACE_S", 0.0)  # close() cancels at once
    pool = StuckWarmUp(PoolSettings(ready=1, data_dir=tmp_path))
    await pool.start()
    await asyncio.wait_for(warming.wait(), 30)
    kernel = started[0]
    assert kernel.alive
    await pool.close()
    assert not kernel.alive
    await asyncio.wait_for(kernel.wait(), 10)  # the process has ended, not just been signalled
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["delete", "close"])
async def test_an_execution_in_flight_ends_at_once_when_its_session_goes(tmp_path: Path, how: str) -> None:
    import asyncio

    from repl.local.pool import DELETED_NOTE, SessionPool

    pool = SessionPool(PoolSettings(ready=1, data_dir=tmp_path))
    await pool.start()
    try:
        await pool.wait_ready(1)
        ident = str(uuid.uuid4())
        record = pool.start_execution(ident, "while (true) {}", timeout=60)
        await asyncio.sleep(0)  # the ready kernel takes it: no other await before the code is sent
        kernel = pool.get(ident).kernel
        assert kernel is not None and kernel._exec is not None  # running in Node now
        t0 = time.monotonic()
        if how == "delete":
            assert await pool.delete(ident)
        else:
            await pool.close()
        await asyncio.wait_for(record.done.wait(), 10)
        assert time.monotonic() - t0 < 5  # not the 60 s timeout
        assert record.status == "Failed" and record.state_lost
        assert record.stderr.endswith(DELETED_NOTE), record.stderr
        assert not kernel.alive
    finally:
        await pool.close()
    assert list(tmp_path.iterdir()) == []


def test_a_one_shot_pool_starts_one_kernel_and_refills_none(tmp_path: Path) -> None:
    """acajs-repl exec/run/files: the command's session takes the ready kernel, even
    one still starting (no second Node next to it), and nothing is refilled."""
    from repl.local.pool import _default_kernel_factory

    started: list[Path] = []

    async def counting_factory(workdir: Path, settings: PoolSettings):  # type: ignore[no-untyped-def]
        started.append(workdir)
        return await _default_kernel_factory(workdir, settings)

    pool = EmbeddedPool(PoolSettings(ready=1, one_shot=True, data_dir=tmp_path),
                        pool_options={"kernel_factory": counting_factory})
    with pool, client(pool) as c:
        ident = str(uuid.uuid4())
        assert execute(c, ident, "6 * 7").json()["result"]["executionResult"] == 42
        assert execute(c, ident, "'again'").json()["result"]["executionResult"] == "'again'"
        assert len(started) == 1 and pool.pool.get(ident).directory == started[0]
        assert pool.pool.ready_count == 0 and pool.pool._refilling == 0


async def test_delete_answers_at_once_and_finishes_the_teardown_behind(tmp_path: Path) -> None:
    """DELETE does not wait for the kernel to exit: when it returns the session
    is unreachable, its files are out of reach and the identifier starts
    afresh; the kernel is then gone and the files removed, in the background."""
    import asyncio

    from repl.local.pool import SessionPool

    pool = SessionPool(PoolSettings(ready=1, data_dir=tmp_path))
    await pool.start()
    try:
        await pool.wait_ready(1)
        ident = str(uuid.uuid4())
        first = pool.start_execution(ident, "globalThis.kept = 41; kept", timeout=30)
        await asyncio.wait_for(first.done.wait(), 30)
        session = pool.get(ident)
        assert session is not None and session.kernel is not None
        kernel, directory = session.kernel, session.directory
        assert await pool.delete(ident)
        assert pool.get(ident) is None
        assert not directory.exists()  # moved out of reach before the answer
        again = pool.start_execution(ident, "typeof kept", timeout=30)
        await asyncio.wait_for(again.done.wait(), 30)
        assert again.value_text == "'undefined'"  # a fresh session, not the deleted one
        fresh = pool.get(ident)
        assert fresh is not None and fresh.directory != directory
        deadline = time.monotonic() + 30
        while kernel.alive or any(p.name.endswith(".deleted") for p in directory.parent.iterdir()):
            assert time.monotonic() < deadline, "the deleted session's kernel or files were left behind"
            await asyncio.sleep(0.02)
    finally:
        await pool.close()


# Session code that leaves something running: a detached child in its own session
# (where the OS sandbox lets it start one; Node's permission model refuses it), and
# an event loop kept busy after the answer, so the kernel never reads its command
# channel closing: only a kill stops it.
LEFT_RUNNING = (
    "try { require('child_process').spawn('sleep', ['300'], {detached: true, stdio: 'ignore'}).unref() } "
    "catch (e) {}; setImmediate(() => { for (;;) {} }); 6 * 7"
)


def test_a_one_shot_pool_stops_at_once_and_leaves_no_process_or_directory(tmp_path: Path) -> None:
    """One-shot stop does not wait for the kernels' processes to exit; still, when
    it returns every directory is gone, and every process of the kernel's tree
    (bwrap, the sandbox's init, Node, a detached child, slirp4netns) ends, even
    a Node busy in a loop that would never notice its command channel close."""
    from repl.local.procfs import children

    pool = EmbeddedPool(PoolSettings(ready=1, one_shot=True, data_dir=tmp_path))
    with pool, client(pool) as c:
        ident = str(uuid.uuid4())
        assert execute(c, ident, LEFT_RUNNING).json()["result"]["executionResult"] == 42
        kernel = pool.pool.get(ident).kernel
        tree, stack = [], [kernel.pid]
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack.extend(children(pid))
        sandbox = kernel._sandbox
        if sandbox is not None and sandbox.slirp_pid:
            tree.append(sandbox.slirp_pid)
        root = pool.pool.root
        assert root is not None and root.exists()
    # (the with block stopped the pool)
    assert not root.exists() and list(tmp_path.iterdir()) == []
    assert len(tree) >= 2 if sandbox is not None else len(tree) >= 1
    assert all(process_gone(pid) for pid in tree), [p for p in tree if Path(f"/proc/{p}").exists()]


def test_the_kept_records_characters_are_counted_as_they_change(local_pool: EmbeddedPool) -> None:
    """The session keeps the characters of its execution records as they change
    (for the cap on kept records) instead of summing them per execution: after
    outputs, errors, a reused operation-id, an asynchronous run, a state-lost note
    and the 64-record cap, the count is still the sum."""
    from repl.local.pool import MAX_EXECUTION_RECORDS, _record_chars

    ident = str(uuid.uuid4())

    def check() -> None:
        async def counted() -> tuple[int, int, int]:
            session = local_pool.pool._sessions[ident]
            records = list(session.executions.values())
            return session.record_chars, sum(_record_chars(r) for r in records), len(records)

        kept, summed, n = local_pool.run(counted())
        assert kept == summed and n <= MAX_EXECUTION_RECORDS and summed > 0

    with client(local_pool) as c:
        assert execute(c, ident, "console.log('x'.repeat(1000)); 'y'.repeat(50)").status_code == 200
        check()
        assert execute(c, ident, "throw new Error('boom')").status_code == 200
        for text in ("'a'", "'a much longer value than before'", "'b'"):
            r = c.post("/executions", params={"api-version": V, "identifier": ident},
                       headers={"operation-id": "same-id"}, json={"code": text})
            assert r.status_code == 200
        check()
        r = c.post("/executions", params={"api-version": V, "identifier": ident},
                   json={"code": "console.error('e'.repeat(300)); 7", "executionType": "Asynchronous"})
        assert r.status_code == 202
        assert execute(c, ident, "process.exit(3)").status_code == 200  # state lost: notes join stderr
        check()
        for i in range(MAX_EXECUTION_RECORDS + 5):
            assert execute(c, ident, f"console.log({i}); {i}").status_code == 200
        check()
