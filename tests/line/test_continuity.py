"""Session continuity in line mode on a local pool whose sessions expire
after a few seconds: the warning and expiry lines with the clock time, the
fresh-session notice, .replay, the waiting-behind indicator."""

from __future__ import annotations

import re

from repl.config import Settings

from .conftest import engine_for, run_repl


async def test_warning_and_expiry_lines_then_the_notice_and_replay(short_pool, data_dir):
    settings = Settings(endpoint=short_pool.endpoint, token=short_pool.token, timeout=30)
    async with engine_for(settings, data_dir / "history.jsonl") as engine:
        engine.alarm.lead_s = 1.0
        async with run_repl(engine) as h:
            await h.idle_prompt()
            h.type("globalThis.k = 42; let keep = 'state'; k\r")
            await h.wait_for("42")
            m = h.mark()
            await h.wait_for("expires in", after=m)
            await h.wait_for("expired at", after=m)
            assert re.search(r"expired at \d\d:\d\d:\d\d", h.since(m))
            await h.idle_prompt()
            m = h.mark()
            h.type("typeof k + ' ' + typeof keep\r")
            await h.wait_for("'undefined undefined'", after=m)
            assert "Session expired at" in h.since(m)
            await h.idle_prompt()
            m = h.mark()
            h.type(".replay\r")
            await h.wait_for("[y/N]", after=m)
            assert "globalThis.k = 42" in h.since(m)
            h.type("y\r")
            await h.wait_for("Replay complete", after=m)
            await h.idle_prompt()
            m = h.mark()
            h.type("k + ' ' + keep\r")
            await h.wait_for("'42 state'", after=m)
            h.type("\x03")
            assert await h.exit() == 0


async def test_a_run_behind_an_abandoned_one_says_what_it_waits_for(short_pool, data_dir):
    settings = Settings(endpoint=short_pool.endpoint, token=short_pool.token, timeout=30)
    async with engine_for(settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            h.type("const t0 = Date.now(); while (Date.now() - t0 < 3000) {}; 'slow'\r")
            await h.wait_for("Ctrl+C stops waiting")
            h.type("\x03")
            await h.wait_for("stopped waiting")
            await h.idle_prompt()
            m = h.mark()
            h.type("'next'\r")
            await h.wait_for("waiting for In [1], still running on the server", after=m)
            await h.wait_for("'next'\n", after=m)
