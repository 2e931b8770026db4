"""main_async: what run_line_mode runs (connection, engine, history file, patch_stdout)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time

from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input

from repl.line import main_async

from .conftest import DEADLINE_S, CaptureOutput, answer_cpr


async def _until(cond, out: CaptureOutput, task: asyncio.Task) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not cond():
        if task.done():
            task.result()
            raise AssertionError(f"exited early:\n{out.text}")
        assert time.monotonic() < deadline, f"timed out; screen:\n{out.text[-2000:]}"
        await asyncio.sleep(0.02)


async def test_main_async_runs_code_writes_history_honours_no_color_and_patches_stdout(
    pool_settings, data_dir
):
    env = dict(os.environ, NO_COLOR="1")  # ACAJS_DATA_DIR points at data_dir
    with create_pipe_input() as pipe:
        out = CaptureOutput()
        with create_app_session(input=pipe, output=out) as session:
            task = asyncio.create_task(main_async(pool_settings, reason="output is not a terminal", environ=env))
            answerer = asyncio.create_task(answer_cpr(pipe, out))
            try:
                reading = lambda: session.app is not None and session.app.is_running  # noqa: E731
                await _until(reading, out, task)
                assert out.text.count("line mode: output is not a terminal") == 1
                # a print from another thread while the prompt is up goes through patch_stdout
                # to the terminal output (above the prompt), not straight to sys.stdout
                t = threading.Thread(target=print, args=("printed-from-a-thread",))
                t.start()
                t.join()
                await _until(lambda: "printed-from-a-thread" in out.text, out, task)
                pipe.send_text("'main' + 'async'\r")
                await _until(lambda: "succeeded" in out.text, out, task)
                assert "mainasync" in out.text
                await _until(reading, out, task)
                pipe.send_text("\x04")
                assert await asyncio.wait_for(task, DEADLINE_S) == 0
            finally:
                answerer.cancel()
                if not task.done():
                    task.cancel()
    entries = [json.loads(x) for x in (data_dir / "history.jsonl").read_text().splitlines()]
    assert [e["code"] for e in entries] == ["'main' + 'async'"]
    assert pool_settings.token not in out.raw
    # NO_COLOR from the environment: not one colour escape anywhere
    colours = [c for c in re.findall(r"\x1b\[([0-9;]*)m", out.raw)
               if any(p.startswith(("3", "4", "9", "10")) and p not in ("39", "49") for p in c.split(";") if p)]
    assert colours == []


async def test_main_async_that_cannot_connect_says_why_and_exits_3(data_dir, tmp_path, monkeypatch):
    from repl.config import Settings

    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))  # no az profile: no default subscription
    with create_pipe_input() as pipe:
        out = CaptureOutput()
        with create_app_session(input=pipe, output=out):
            code = await asyncio.wait_for(
                main_async(Settings(pool="p", resource_group="rg"), reason="TERM=dumb"), DEADLINE_S
            )
    assert code == 3
    assert out.text.count("line mode: TERM=dumb") == 1
    assert "Cannot connect:" in out.text and "subscription" in out.text
