"""ReplEngine against the real local pool over HTTP (no mocks: real kernels, real files)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from repl.api.auth import StaticToken
from repl.api.client import SessionsClient
from repl.api.models import ExecutionStatus
from repl.connection import Connection
from repl.dotcommands import parse
from repl.engine import CommandResult, ReplEngine
from repl.history import History
from repl.transcript import Cell

POOL_COOLDOWN = 60  # tests/conftest.py TEST_COOLDOWN_SECONDS


def _connection(local_pool, token: str | None = None) -> Connection:
    tok = StaticToken(token or local_pool.token)
    client = SessionsClient(local_pool.endpoint, tok, arm_base=local_pool.arm_base, arm_auth=tok, retries=0)
    return Connection(client, "local", client.endpoint, "local pool (test)")


@pytest.fixture
async def conn(local_pool) -> AsyncIterator[Connection]:
    c = _connection(local_pool)
    try:
        yield c
    finally:
        await c.aclose()


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "history.jsonl")


@pytest.fixture
async def engine(conn: Connection, history: History, identifier: str, tmp_path: Path) -> AsyncIterator[ReplEngine]:
    eng = ReplEngine(conn, history=history, identifier=identifier, timeout=30, cwd=tmp_path)
    try:
        yield eng
    finally:
        try:
            await conn.client.delete_session(eng.identifier)
        except Exception:
            pass


async def test_run_records_transcript_history_and_syncs_cooldown(engine: ReplEngine, history: History) -> None:
    assert not engine.cooldown.started
    assert engine.cooldown.period_s == 300  # nothing known about the pool yet
    cell = await engine.run("console.log('hi'); 6 * 7")
    assert isinstance(cell, Cell)
    assert cell.n == 1 and engine.execution_count == 1
    assert cell.error is None and cell.execution is not None
    assert cell.execution.status is ExecutionStatus.SUCCEEDED
    assert cell.execution.stdout == "hi\n"
    assert cell.execution.value_text == "42"
    assert cell.finished_at is not None and cell.session == engine.identifier
    assert engine.transcript.cells == [cell]
    assert len(engine.round_trips) == 1
    # synced from the server's expireAt (in the background, after the cell is
    # returned): the pool's 60 s cooldown, not the 300 s default
    await engine.settled()
    assert engine.cooldown.started
    assert POOL_COOLDOWN - 10 < engine.cooldown.remaining() <= POOL_COOLDOWN + 1
    [entry] = history.entries()
    assert entry.code == "console.log('hi'); 6 * 7"
    assert entry.session == engine.identifier
    assert entry.status == "succeeded"
    assert entry.duration_ms is not None and entry.duration_ms > 0


async def test_deferred_follow_ups_wait_for_the_front_end(engine: ReplEngine) -> None:
    """A front end that paints first (the TUI) defers the countdown correction:
    nothing more goes out after a run until it says the result is on screen;
    two runs need one correction."""
    engine.defer_follow_ups = True
    calls: list[str] = []
    get_session = engine.client.get_session

    async def spied(identifier: str):  # type: ignore[no-untyped-def]
        calls.append(identifier)
        return await get_session(identifier)

    engine.client.get_session = spied  # type: ignore[method-assign]
    await engine.run("1")
    await engine.run("2")
    await asyncio.sleep(0.05)  # a background task would have started by now
    assert calls == []
    engine.start_follow_ups()
    await engine.settled()
    assert calls == [engine.identifier]


async def test_state_persists_and_failures_are_cells(engine: ReplEngine, history: History) -> None:
    await engine.run("globalThis.counter = 41")
    cell = await engine.run("counter + 1")
    assert cell.execution.value_text == "42"
    bad = await engine.run("throw new Error('boom')")
    assert bad.error is None  # a code failure is not a service failure
    assert bad.execution.status is ExecutionStatus.FAILED
    assert "boom" in bad.execution.stderr
    assert [c.n for c in engine.transcript] == [1, 2, 3]
    assert [e.status for e in history.entries()] == ["succeeded", "succeeded", "failed"]


async def test_top_level_await_is_rewritten_but_history_keeps_what_was_typed(
    engine: ReplEngine, history: History
) -> None:
    typed = "const v = await Promise.resolve(7); v * 6"
    cell = await engine.run(typed)
    assert cell.execution.status is ExecutionStatus.SUCCEEDED, cell.execution.stderr
    assert cell.execution.value_text == "42"
    assert cell.code == typed and cell.rewritten and cell.sent_code != typed
    assert history.entries()[-1].code == typed
    assert "await" in engine.transcript.to_javascript() and "$$" not in engine.transcript.to_javascript()
    again = await engine.run("v + 1")
    assert again.execution.value_text == "8"


async def test_service_error_becomes_cell_error_not_exception(history: History, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = SessionsClient(f"http://127.0.0.1:{port}", StaticToken("t"), retries=0)
    conn = Connection(client, "local", client.endpoint, "closed port")
    try:
        eng = ReplEngine(conn, history=history)
        cell = await eng.run("1 + 1")
        assert cell.execution is None
        assert cell.error and "127.0.0.1" in cell.error
        assert cell.status == "error"
        assert not eng.cooldown.started  # the request never reached a session
        assert history.entries()[-1].status == "error"
        status = await eng.pool_status()  # never raises either
        assert status.notes
    finally:
        await conn.aclose()


async def test_rejected_token_is_a_cell_error(local_pool, history: History, identifier: str) -> None:
    conn = _connection(local_pool, token="not-the-token")
    try:
        eng = ReplEngine(conn, history=history, identifier=identifier)
        cell = await eng.run("1")
        assert cell.error is not None
        assert "401" in cell.error or "token" in cell.error.lower()
        assert not eng.cooldown.started
    finally:
        await conn.aclose()


async def test_cancelling_the_wait_abandons_the_cell(engine: ReplEngine, history: History) -> None:
    task = asyncio.create_task(engine.run("$$.async(); setTimeout(() => $$.done(1), 1500)"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cell = engine.transcript.cells[-1]
    assert cell.abandoned and cell.status == "abandoned"
    assert history.entries()[-1].status == "abandoned"
    assert "may still be running" in engine.transcript.to_markdown()


async def test_prepare_numbers_the_cell_before_it_runs(engine: ReplEngine) -> None:
    cell = engine.prepare("2 + 2")
    assert cell.running and cell.n == 1 and engine.transcript.cells[-1] is cell
    done = await engine.execute_cell(cell)
    assert done is cell and not cell.running and cell.execution.value_text == "4"


async def test_pool_status_is_pool_level_and_sets_the_period(engine: ReplEngine) -> None:
    await engine.run("1")
    before = await engine.client.get_session(engine.identifier)  # the local pool observes only
    status = await engine.pool_status()
    assert engine.last_pool_status is status
    assert status.cooldown_seconds == POOL_COOLDOWN
    assert engine.cooldown.period_s == POOL_COOLDOWN
    assert status.container_type
    after = await engine.client.get_session(engine.identifier)
    assert after.last_accessed_at == before.last_accessed_at  # pool_status never named the session


async def test_new_session_and_attach(engine: ReplEngine, conn: Connection, history: History) -> None:
    await engine.run("globalThis.marker = 'first'")
    first = engine.identifier
    res = await engine.new_session()
    assert res.action == "session" and engine.identifier != first and len(engine.identifier) == 36
    assert not engine.cooldown.started
    cell = await engine.run("typeof marker")
    assert cell.execution.value_text == "'undefined'"  # a fresh session
    second = engine.identifier

    res = await engine.attach(first)
    assert res.kind == "info" and res.action == "session" and engine.identifier == first
    assert "left" in res.message and engine.cooldown.started
    cell = await engine.run("marker")
    assert cell.execution.value_text == "'first'"

    other = ReplEngine(conn, history=history)
    res = await other.attach(second)
    assert res.kind == "info" and other.identifier == second
    res = await other.attach("never-used-" + first)
    assert "no such session" in res.message and other.identifier == "never-used-" + first
    res = await other.attach("has space")
    assert res.kind == "error" and other.identifier == "never-used-" + first
    res = await other.attach("caf\u00e9")  # the service takes ASCII only: refused before any request
    assert res.kind == "error" and "A-Z a-z 0-9" in res.message and other.identifier == "never-used-" + first
    await conn.client.delete_session(second)


async def test_delete_session_loses_state(engine: ReplEngine) -> None:
    await engine.run("globalThis.keep = 1")
    res = await engine.delete_session()
    assert res.kind == "info" and "deleted" in res.message
    assert not engine.cooldown.started
    cell = await engine.run("typeof keep")
    assert cell.execution.value_text == "'undefined'"


async def test_files_upload_list_download_never_clobbers(engine: ReplEngine, tmp_path: Path) -> None:
    src = tmp_path / "data.txt"
    src.write_text("hello files\n")
    res = await engine.execute_command(parse(".upload data.txt"))  # relative to the engine's cwd
    assert res.kind == "info", res.message
    assert "data.txt" in res.message
    res = await engine.execute_command(parse(".upload missing.txt"))
    assert res.kind == "error" and "No such file" in res.message

    res = await engine.list_files()
    assert [f.name for f in res.data] == ["data.txt"]
    assert "data.txt" in res.message

    cell = await engine.run("require('fs').readFileSync('/mnt/data/data.txt', 'utf8')")
    assert "hello files" in cell.execution.value_text

    outdir = tmp_path / "out"
    outdir.mkdir()
    res = await engine.download("data.txt", str(outdir))
    assert res.kind == "info", res.message
    assert (outdir / "data.txt").read_text() == "hello files\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert ((outdir / "data.txt").stat().st_mode & 0o777) == 0o666 & ~umask  # a normal new file, not 0600

    (outdir / "data.txt").write_text("mine")
    res = await engine.download("data.txt", str(outdir / "data.txt"))
    assert res.kind == "error" and "already exists" in res.message
    assert (outdir / "data.txt").read_text() == "mine"  # untouched
    assert sorted(p.name for p in outdir.iterdir()) == ["data.txt"]  # no leftovers

    res = await engine.execute_command(parse(".download nope.bin out/nope.bin"))
    assert res.kind == "error"
    assert not (outdir / "nope.bin").exists()


async def test_empty_file_list(engine: ReplEngine) -> None:
    res = await engine.list_files()
    assert res.data == [] and "No files" in res.message


async def test_load_save_export(engine: ReplEngine, tmp_path: Path) -> None:
    await engine.run("let a = 1")
    await engine.run("a + 1")
    res = engine.save("session.js")
    assert res.kind == "info"
    js = (tmp_path / "session.js").read_text()
    assert "let a = 1\n" in js and "a + 1\n" in js
    res = engine.save("session.js")
    assert "replaced" in res.message

    res = await engine.execute_command(parse(".export t.md"))
    md = (tmp_path / "t.md").read_text()
    assert "Out[2]" in md and "```javascript\n2\n```" in md and "round trip" in md

    res = engine.load("session.js")
    assert res.action == "load" and res.data == js
    res = engine.load("absent.js")
    assert res.kind == "error" and "No such file" in res.message
    res = engine.save(str(tmp_path))
    assert res.kind == "error"


async def test_submit_dispatches_commands_and_code(engine: ReplEngine) -> None:
    res = await engine.submit(".help")
    assert isinstance(res, CommandResult) and ".download NAME [DEST]" in res.message
    res = await engine.submit(".session")
    assert isinstance(res, CommandResult) and res.kind == "error" and "Usage: .session ID" in res.message
    for text, action in [(".clear", "clear"), (".editor", "editor"), (".exit", "exit")]:
        res = await engine.submit(text)
        assert isinstance(res, CommandResult) and res.action == action
    cell = await engine.submit(".5 + 1")
    assert isinstance(cell, Cell) and cell.execution.value_text == "1.5"
    assert len(engine.history.entries()) == 1  # commands are not history entries of code runs


async def test_cooldown_counts_down_with_the_engine_clock(conn: Connection, history: History, identifier: str) -> None:
    now = [1000.0]
    eng = ReplEngine(conn, history=history, identifier=identifier, clock=lambda: now[0])
    try:
        await eng.run("1")
        await eng.settled()
        left = eng.cooldown.remaining()
        assert POOL_COOLDOWN - 10 < left <= POOL_COOLDOWN + 1
        now[0] += left + 1
        assert eng.cooldown.expired and eng.cooldown.remaining() == 0
    finally:
        await conn.client.delete_session(identifier)


# --- faults the local pool cannot produce (respx) --------------------------------

FAKE_EP = "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/rg/sessionPools/p"
OK_EXEC = {"id": "e1", "status": "Succeeded",
           "result": {"stdout": "", "stderr": "", "executionResult": 2, "executionTimeInMilliseconds": 3}}


def _fake_connection() -> Connection:
    client = SessionsClient(FAKE_EP, StaticToken("t"), retries=0)
    return Connection(client, "azure", client.endpoint, "p (eastus)")


async def test_gateway_html_error_is_a_cell_error(history: History) -> None:
    import httpx
    import respx

    conn = _fake_connection()
    try:
        with respx.mock:
            respx.post(f"{FAKE_EP}/executions").mock(
                return_value=httpx.Response(502, text="<html><body>Bad Gateway</body></html>")
            )
            eng = ReplEngine(conn, history=history)
            cell = await eng.run("1 + 1")
        assert cell.execution is None and cell.error
        assert "<html>" not in cell.error
        assert history.entries()[-1].status == "error"
        assert eng.cooldown.started  # the request reached the service's front door
    finally:
        await conn.aclose()


async def test_without_a_session_endpoint_the_countdown_runs_from_the_touch(history: History) -> None:
    import httpx
    import respx

    now = [500.0]
    conn = _fake_connection()
    try:
        with respx.mock:
            respx.post(f"{FAKE_EP}/executions").mock(return_value=httpx.Response(200, json=OK_EXEC))
            session = respx.get(f"{FAKE_EP}/session").mock(
                return_value=httpx.Response(
                    400,
                    json={"error": {"code": "SessionRequestNotSupported", "message": "not in this version"}},
                    headers={"x-ms-error-code": "SessionRequestNotSupported"},
                )
            )
            eng = ReplEngine(conn, history=history, clock=lambda: now[0])
            cell = await eng.run("1 + 1")
            await eng.settled()
            assert cell.execution.value_text == "2"
            assert eng.cooldown.remaining() == 300
            now[0] += 100
            await eng.run("1 + 1")
            await eng.settled()
            assert eng.cooldown.remaining() == 300  # touched again by the second run
            now[0] += 100
            assert eng.cooldown.remaining() == 200
            assert session.call_count == 1  # not asked again once unsupported
    finally:
        await conn.aclose()


async def test_an_unexpected_client_exception_never_escapes(local_pool, history: History) -> None:
    conn = _connection(local_pool)

    async def broken(*args, **kwargs):
        raise RuntimeError("bug in a lower layer")

    conn.client.execute = broken  # a programming error below the engine, not a wire fault
    try:
        cell = await ReplEngine(conn, history=history).run("1")
        assert cell.error and "RuntimeError" in cell.error and "bug in a lower layer" in cell.error
    finally:
        await conn.aclose()


async def test_trailing_blank_lines_are_neither_sent_nor_kept(engine: ReplEngine, history: History) -> None:
    """The two blank lines that force a run (and an indent Enter left) are dropped."""
    cell = await engine.run("[1,\n  2]\n  \n  ")
    assert cell.code == "[1,\n  2]" and cell.sent_code == "[1,\n  2]"
    assert cell.execution.status is ExecutionStatus.SUCCEEDED
    forced = await engine.run("1 +\n\n\n")  # forced while incomplete: the server says why
    assert forced.code == forced.sent_code == "1 +"
    assert forced.execution.status is ExecutionStatus.FAILED
    assert "evalmachine.<anonymous>:1" in forced.execution.stderr  # no blank lines after the code
    kept = await engine.run("'a  '  ")  # the last line with text keeps its spaces
    assert kept.code == "'a  '  "
    assert [e.code for e in history.entries()] == ["[1,\n  2]", "1 +", "'a  '  "]


async def test_underscore_and_error_are_the_last_value_and_error_on_the_real_pool(engine: ReplEngine) -> None:
    await engine.run("[1, 2, 3].map((x) => x * 2)")
    cell = await engine.run("_.length + _[2]")
    assert cell.execution is not None and cell.execution.value_text == "9"
    assert "_" not in (cell.sent_code or "")  # nothing the kernel has to know about
    failed = await engine.run("null.x")
    assert failed.status == "failed"
    cell = await engine.run("[_error.name, _error instanceof Error, _error.message.includes('null')]")
    assert cell.execution is not None and cell.execution.value_text == "[ 'TypeError', true, true ]"
    # a value that is not a literal: a clear message, nothing sent, kept in the history
    await engine.run("function f() {}; f")
    refused = await engine.run("_()")
    assert refused.status == "error" and "Assign the value to a variable" in (refused.error or "")
    assert refused.execution is None
    assert engine.history.entries()[-1].code == "_()"
    # a session's own `_` wins, as in the Node REPL
    await engine.run("var _ = 'mine'")
    cell = await engine.run("_")
    assert cell.execution is not None and cell.execution.value_text == "'mine'"


async def test_typed_ahead_runs_go_in_order_and_a_dropped_one_is_never_sent(engine: ReplEngine) -> None:
    first = engine.prepare(
        "globalThis.order = []; const t0 = Date.now(); while (Date.now() - t0 < 300) {}; order.push(1)"
    )
    second = engine.prepare("order.push(2)")
    third = engine.prepare("order.push(3)")
    started: list[int] = []
    tasks = [
        asyncio.ensure_future(engine.execute_cell(c, on_start=lambda n=c.n: started.append(n)))
        for c in (first, second, third)
    ]
    await asyncio.sleep(0)
    assert engine.busy
    tasks[2].cancel()  # dropped while queued
    await asyncio.gather(*tasks, return_exceptions=True)
    assert started == [first.n, second.n]
    assert third.status == "dropped"
    check = await engine.run("order")
    assert check.execution is not None and check.execution.value == [1, 2]
    dropped = [e for e in engine.history.entries() if e.status == "dropped"]
    assert [e.code for e in dropped] == ["order.push(3)"]  # never sent, still in the history
