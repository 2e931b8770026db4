"""Session continuity on a real local pool with a short cooldown: expiry is
noticed and said, a lost session is replayed, keep-alive holds a session and
lets it go, a run behind an abandoned one says so, the countdown pauses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repl.api.auth import StaticToken
from repl.api.client import SessionsClient
from repl.connection import Connection
from repl.continuity import ExpiryAlarm
from repl.cooldown import Cooldown
from repl.dotcommands import parse
from repl.engine import ReplEngine
from repl.history import History
from repl.local.embedded import EmbeddedPool

from .conftest import SHORT_COOLDOWN_SECONDS as COOLDOWN_S


@pytest.fixture
async def engine(short_pool: EmbeddedPool, tmp_path: Path) -> AsyncIterator[ReplEngine]:
    client = SessionsClient(short_pool.endpoint, StaticToken(short_pool.token), arm_base=short_pool.arm_base)
    conn = Connection(client=client, kind="local", endpoint=short_pool.endpoint, label="short pool")
    eng = ReplEngine(conn, history=History(tmp_path / "history.jsonl"), timeout=20, cwd=tmp_path,
                     cooldown_period=COOLDOWN_S)
    try:
        yield eng
    finally:
        await client.aclose()


async def _until(cond, what: str, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def _expire(engine: ReplEngine) -> None:
    """Wait (real time: the pool's own clock) until the session is gone there."""
    await engine.settled()
    await _until(lambda: engine.cooldown.expired, "the countdown to expire")
    await asyncio.sleep(0.5)  # the pool reaps at expireAt; give its reaper a moment


async def test_a_run_on_an_expired_session_says_so_first(engine: ReplEngine) -> None:
    await engine.run("globalThis.k = 42; let keep = 'state'; k")
    await _expire(engine)
    cell = await engine.run("typeof k + ' ' + typeof keep")
    assert cell.execution is not None and cell.execution.value_text == "'undefined undefined'"
    assert cell.notice is not None and "Session expired at" in cell.notice and "fresh session" in cell.notice


async def test_new_and_delete_are_said_on_the_next_cell(engine: ReplEngine) -> None:
    await engine.run("1")
    await engine.new_session()
    cell = await engine.run("2")
    assert cell.notice is not None and "fresh session (.new" in cell.notice
    await engine.delete_session()
    cell = await engine.run("3")
    assert cell.notice is not None and "deleted" in cell.notice
    cell = await engine.run("4")
    assert cell.notice is None


async def test_replay_rebuilds_let_const_functions_await_results_and_uploads(
    engine: ReplEngine, tmp_path: Path
) -> None:
    data = tmp_path / "data.txt"
    data.write_text("from disk")
    for code in ("let a = 1", "const b = 2", "function f() { return a + b }",
                 "const r = await Promise.resolve(40)", "null.fails"):
        await engine.run(code)
    assert (await engine.upload(str(data))).ok
    await _expire(engine)
    lost = await engine.run("typeof f")
    assert "'undefined'" in lost.execution.value_text and lost.notice
    command = parse(".replay")
    question = engine.confirmation(command)
    assert question is not None and "4 inputs and 1 upload" in question and "await Promise.resolve(40)" in question
    result = await engine.execute_command(command)
    assert result.action == "replay" and len(result.data) == 4  # the failed input is not replayed
    for cell in result.data:
        await engine.execute_cell(cell)
    assert result.data[-1].notice and "Replay complete" in result.data[-1].notice
    check = await engine.run("[f() + r, require('fs').readFileSync('/mnt/data/data.txt', 'utf8')]")
    assert check.execution is not None and check.execution.value_text == "[ 43, 'from disk' ]"
    assert engine.replay_plan() is None


async def test_a_replay_stops_at_the_first_failure_and_says_where(engine: ReplEngine) -> None:
    late = int((datetime.now(UTC) + timedelta(seconds=1)).timestamp() * 1000)
    await engine.run("globalThis.one = 1")
    await engine.run(f"if (Date.now() > {late}) throw new Error('too late'); globalThis.two = 2")
    await engine.run("globalThis.three = 3")
    await _expire(engine)
    await engine.run("0")
    result = await engine.execute_command(parse(".replay"))
    cells = result.data
    for cell in cells:
        await engine.execute_cell(cell)
    assert [c.status for c in cells] == ["succeeded", "failed", "dropped"]
    assert "input 2 of 3 failed" in (cells[1].notice or "")
    assert "replay stopped at In" in (cells[2].error or "")
    check = await engine.run("typeof three")
    assert "'undefined'" in check.execution.value_text  # never sent


async def test_replay_on_expiry_rebuilds_before_the_run(engine: ReplEngine) -> None:
    engine.replay_on_expiry = True
    await engine.run("let counter = 41")
    await _expire(engine)
    cell = await engine.run("counter + 1")
    assert cell.execution is not None and cell.execution.value_text == "42"
    assert cell.notice and "Session expired" in cell.notice and "Replayed 1 input" in cell.notice


async def test_keep_alive_holds_past_three_cooldowns_then_lets_go_when_idle(engine: ReplEngine) -> None:
    engine.set_keep_alive(idle_minutes=(COOLDOWN_S * 3.5) / 60)
    await engine.run("globalThis.alive = 'yes'")
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < COOLDOWN_S * 3:
        sent += await engine.keep_alive_tick()
        await asyncio.sleep(0.1)
    assert sent >= 3
    assert not engine.cooldown.expired
    info = await engine.client.get_session(engine.identifier)  # still there (the local GET does not reset it)
    assert info.identifier == engine.identifier
    # idle past the limit: keep-alive stops and the session expires
    while not engine.cooldown.expired:
        await engine.keep_alive_tick()
        await asyncio.sleep(0.1)
    assert engine.keep_alive is not None and engine.keep_alive.stopped_for_idle
    await asyncio.sleep(0.5)
    cell = await engine.run("typeof alive")
    assert "'undefined'" in cell.execution.value_text and cell.notice


async def test_the_countdown_pauses_during_a_run_longer_than_the_cooldown(engine: ReplEngine) -> None:
    busy_ms = COOLDOWN_S * 1000 + 1500
    task = asyncio.ensure_future(engine.run(f"const t0 = Date.now(); while (Date.now() - t0 < {busy_ms}) {{}}; 'done'"))
    await _until(lambda: engine.cooldown.paused, "the run to start")
    await asyncio.sleep(COOLDOWN_S + 0.5)
    assert not engine.cooldown.expired and engine.cooldown.remaining() == engine.cooldown.period_s
    cell = await task
    assert cell.execution is not None and cell.execution.value_text == "'done'" and cell.notice is None
    assert engine.cooldown.remaining() > COOLDOWN_S - 1


async def test_a_run_behind_an_abandoned_one_says_what_it_waits_for(engine: ReplEngine) -> None:
    slow = engine.prepare("const t0 = Date.now(); while (Date.now() - t0 < 1500) {}; 'slow'")
    task = asyncio.ensure_future(engine.execute_cell(slow))
    await _until(lambda: engine.cooldown.paused, "the run to start")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cell = await engine.run("'next'")
    assert cell.waiting_behind == slow.n
    assert cell.execution is not None and cell.execution.value_text == "'next'"
    cell = await engine.run("'after'")
    assert cell.waiting_behind is None


def test_the_alarm_fires_once_at_the_lead_time_and_once_at_expiry() -> None:
    now = [1000.0]
    cd = Cooldown(300, clock=lambda: now[0])
    alarm = ExpiryAlarm(cd, lead_s=60, describe=lambda: "Session abc")
    assert alarm.check() is None  # not started
    cd.touch()
    assert alarm.check() is None
    now[0] += 241
    first = alarm.check()
    assert first is not None and first.kind == "warning" and "expires in 59 s" in first.text
    assert alarm.check() is None
    now[0] += 60
    second = alarm.check()
    assert second is not None and second.kind == "expired" and ".replay" in second.text
    assert alarm.check() is None
    cd.touch()  # a run restarts the countdown: armed again
    now[0] += 250
    again = alarm.check()
    assert again is not None and again.kind == "warning"
