"""Drive a real line-mode ``PromptSession`` with prompt-toolkit's pipe input.

``run_repl(engine)`` starts :class:`repl.line.prompt.LineRepl` in the test's
event loop inside an app session whose input is a pipe and whose output is a
VT100 output writing into a string, so the test types keys and reads the screen
bytes exactly as a terminal would receive them.
"""

from __future__ import annotations

import asyncio
import io
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.application.current import AppSession
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from repl.config import Settings
from repl.connection import Connection, open_connection
from repl.engine import ReplEngine
from repl.history import History
from repl.line.prompt import LineRepl

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
DEADLINE_S = 30.0


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


class CaptureOutput(Vt100_Output):
    """A VT100 output into a StringIO (what a terminal would be sent)."""

    def __init__(self, columns: int = 120, rows: int = 40) -> None:
        self.buffer = io.StringIO()
        super().__init__(self.buffer, lambda: Size(rows=rows, columns=columns), term="xterm-256color")

    @property
    def responds_to_cpr(self) -> bool:
        return True  # answered by ``answer_cpr`` below, like a terminal would

    @property
    def raw(self) -> str:
        return self.buffer.getvalue()

    @property
    def text(self) -> str:
        return strip_ansi(self.raw).replace("\r", "")


@dataclass
class Harness:
    input: PipeInput
    output: CaptureOutput
    repl: LineRepl
    task: asyncio.Task
    app_session: AppSession

    def type(self, text: str) -> None:
        self.input.send_text(text)

    def mark(self) -> int:
        """Position in the raw output; ``since(mark)`` reads what came after."""
        return len(self.output.raw)

    def since(self, mark: int) -> str:
        return strip_ansi(self.output.raw[mark:]).replace("\r", "")

    def shown(self, mark: int = 0) -> str:
        """``since`` without the blank lines the renderer reserves (for failure messages)."""
        return "\n".join(line for line in self.since(mark).split("\n") if line.strip())

    async def wait_for(self, cond: str | Callable[[], bool], *, after: int = 0,
                       timeout: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ok = cond() if callable(cond) else cond in self.since(after)
            if ok:
                return
            if self.task.done():
                self.task.result()  # raise what ended the loop
                raise AssertionError(f"the REPL exited while waiting for {cond!r}:\n{self.shown(after)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {cond!r}; screen:\n{self.shown(after)[-3000:]}")
            await asyncio.sleep(0.02)

    async def idle_prompt(self) -> None:
        """Wait until the prompt is reading input again."""
        def reading() -> bool:  # the prompt's application (or the dumb prompt's) runs
            app = self.app_session.app
            return app is not None and app.is_running

        await self.wait_for(reading)

    async def exit(self, timeout: float = DEADLINE_S) -> int:
        await self.idle_prompt()
        self.type("\x04")  # Ctrl+D on an empty line
        return await asyncio.wait_for(self.task, timeout)


@asynccontextmanager
async def run_repl(engine: ReplEngine, *, colour: bool = True, notice: str | None = None,
                   columns: int = 120) -> AsyncIterator[Harness]:
    with create_pipe_input() as pipe:
        out = CaptureOutput(columns=columns)
        with create_app_session(input=pipe, output=out) as app_session:
            repl = LineRepl(engine, colour=colour, notice=notice, banner=True)
            task = asyncio.create_task(repl.run())
            harness = Harness(pipe, out, repl, task, app_session)
            answerer = asyncio.create_task(answer_cpr(pipe, out))
            try:
                yield harness
            finally:
                answerer.cancel()
                if not task.done():
                    task.cancel()
                    try:
                        await task
                    except (asyncio.CancelledError, Exception):
                        pass


async def answer_cpr(pipe: PipeInput, out: CaptureOutput) -> None:
    """Answer cursor position requests (ESC [6n) as a terminal does, so the
    renderer knows its height and shows the bottom toolbar."""
    seen = 0
    while True:
        raw = out.raw
        count = raw.count("\x1b[6n", seen)
        if count:
            seen = raw.rfind("\x1b[6n") + 1
            for _ in range(count):
                pipe.send_text("\x1b[1;1R")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def engine_for(settings: Settings, history_path: Path, **kw) -> AsyncIterator[ReplEngine]:
    conn: Connection = await open_connection(settings)
    try:
        yield ReplEngine(conn, history=History(history_path), **kw)
    finally:
        await conn.aclose()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("ACAJS_DATA_DIR", str(d))
    monkeypatch.setenv("ACAJS_CONFIG_DIR", str(tmp_path / "config"))
    return d


@pytest.fixture
def pool_settings(local_pool) -> Settings:
    return Settings(endpoint=local_pool.endpoint, token=local_pool.token, timeout=30)
