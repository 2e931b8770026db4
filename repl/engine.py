"""The UI-free REPL engine shared by the Textual app and the line mode.

Public API (both front ends call only this; they hold no REPL logic):

```python
engine = ReplEngine(connection, history=History(paths.history_file()),
                    identifier=None,      # None: a fresh uuid4
                    timeout=60,           # timeoutInSeconds per execution
                    clock=time.monotonic) # drives the cooldown (tests pass a fake)

engine.identifier      # str, the session identifier (secret: never log it elsewhere)
engine.connection      # repl.connection.Connection (client, kind, endpoint, label)
engine.transcript      # repl.transcript.Transcript: one Cell per execution
engine.cooldown        # repl.cooldown.Cooldown: remaining(), expired, fraction
engine.history         # repl.history.History
engine.execution_count # int, the n of the last cell (In [n])
engine.round_trips     # deque[float] of recent round-trip ms (sparkline)
engine.last_pool_status  # PoolStatus | None
engine.history_problem   # str | None: why the history file could not be written (first failure)

# input handling
needs_more_input(text) / continuation_indent(text)     # from repl.js.completeness
engine.parse_command(text) -> DotCommand | None        # raises DotCommandError (usage)
await engine.submit(text) -> Cell | CommandResult      # dispatch: dot-command or code
                                                       # (callers skip blank input)

# code
await engine.run(code) -> Cell          # = prepare(code) + await execute_cell(cell)
cell = engine.prepare(code)             # numbered Cell, added to the transcript, status "running"
await engine.execute_cell(cell) -> Cell # sends; never raises ApiError (cell.error instead);
                                        # if the awaiting task is cancelled (Escape / Ctrl+C)
                                        # the cell is marked abandoned, recorded, and
                                        # CancelledError propagates.

# commands (each returns CommandResult; never raises for expected failures)
await engine.execute_command(cmd: DotCommand) -> CommandResult
await engine.new_session()            await engine.attach(identifier)
await engine.delete_session()         await engine.list_files()
await engine.upload(path)             await engine.download(name, dest=None)
engine.load(file)  -> action "load", data = file text for the editor
engine.save(file)  engine.export(file_md)  engine.help()
await engine.pool_status() -> PoolStatus   # pool-level calls only, never names the identifier
```

``CommandResult(message, kind="info"|"error", data=None, action=None)``:
``action`` tells the front end what to do beyond showing ``message``:
``"clear"`` (clear the screen/transcript view), ``"editor"`` (toggle editor
mode), ``"exit"``, ``"load"`` (put ``data`` into the input editor),
``"session"`` (the identifier changed: refresh header/toolbar).

Cooldown (API.md §4): ``cooldown.touch()`` when a request naming the identifier
is sent (execute, files, attach); after an execution the engine reads
``GET session`` (where the API version has it) and syncs from ``expireAt``
(the local pool observes without resetting; on Azure the GET itself may reset,
which the returned ``expireAt`` then reflects). ``pool_status()`` only makes
pool-level calls, so polling it never keeps the session alive. The period comes
from the pool status when known, else 300 s.

Top-level await: when ``repl.js.await_rewrite.rewrite_top_level_await`` returns
a string, that is sent; the transcript/history keep what the user typed
(``cell.code``) and the transcript also keeps ``cell.sent_code``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from repl.api.errors import ApiError, AuthError, ConnectError, ForbiddenError
from repl.api.models import Execution, FileInfo, PoolStatus
from repl.config import IDENTIFIER_RULE, is_valid_identifier
from repl.cooldown import DEFAULT_PERIOD_S, Cooldown
from repl.dotcommands import DotCommand, DotCommandError, help_text, parse
from repl.history import History
from repl.transcript import Cell, Transcript

if TYPE_CHECKING:
    from repl.connection import Connection

from repl.js.await_rewrite import rewrite_top_level_await
from repl.js.completion import Completer

Kind = Literal["info", "error"]
Action = Literal["clear", "editor", "exit", "load", "session"]


@dataclass(frozen=True, slots=True)
class CommandResult:
    message: str
    kind: Kind = "info"
    data: Any = None
    action: Action | None = None

    @property
    def ok(self) -> bool:
        return self.kind != "error"


def strip_trailing_blank_lines(code: str) -> str:
    """``code`` without the whitespace-only lines at its end (the last line with
    text keeps its own trailing spaces)."""
    lines = code.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def new_identifier() -> str:
    return str(uuid.uuid4())


def _short(identifier: str) -> str:
    return identifier if len(identifier) <= 13 else identifier[:8] + "…"


class ReplEngine:
    ROUND_TRIPS_KEPT = 60

    def __init__(
        self,
        connection: Connection,
        *,
        history: History,
        identifier: str | None = None,
        timeout: float = 60,
        clock: Callable[[], float] = time.monotonic,
        cooldown_period: float | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.connection = connection
        self.history = history
        self.identifier = identifier or new_identifier()
        self.timeout = timeout
        self.transcript = Transcript()
        self.cooldown = Cooldown(cooldown_period or DEFAULT_PERIOD_S, clock)
        self.execution_count = 0
        self.round_trips: deque[float] = deque(maxlen=self.ROUND_TRIPS_KEPT)
        self.last_pool_status: PoolStatus | None = None
        self.cwd = cwd  # base for relative paths in commands (None: process cwd)
        self._session_api: bool | None = None  # GET session available? None: not tried yet
        self.history_problem: str | None = None  # why the history file could not be written
        self._background: set[asyncio.Task] = set()  # countdown corrections still in flight
        # One request naming the session at a time, in submission order
        # (asyncio.Lock wakes its waiters first in, first out): type-ahead runs
        # queue here, and completion probes never overtake or overlap a run.
        self._run_lock = asyncio.Lock()
        self.completer = Completer(self)  # completion and its property cache, per engine

    @property
    def client(self):
        return self.connection.client

    # ------------------------------------------------------------------ input
    def parse_command(self, text: str) -> DotCommand | None:
        return parse(text)

    async def submit(self, text: str) -> Cell | CommandResult:
        """A submitted input: a dot-command (executed) or code (run)."""
        try:
            cmd = parse(text)
        except DotCommandError as exc:
            return CommandResult(str(exc), "error")
        if cmd is not None:
            return await self.execute_command(cmd)
        return await self.run(text)

    # ------------------------------------------------------------------ code
    def prepare(self, code: str) -> Cell:
        # Blank lines at the end (the two that force a run, or an indent left by
        # Enter) mean nothing to JavaScript: neither sent nor kept in the history.
        code = strip_trailing_blank_lines(code)
        self.execution_count += 1
        sent = code
        try:
            rewritten = rewrite_top_level_await(code)
        except Exception:  # a rewrite bug must not stop the user: send as typed
            rewritten = None
        if rewritten is not None:
            sent = rewritten
        cell = Cell(n=self.execution_count, code=code, sent_code=sent, session=self.identifier)
        self.transcript.add(cell)
        return cell

    async def run(self, code: str) -> Cell:
        return await self.execute_cell(self.prepare(code))

    @property
    def busy(self) -> bool:
        """A run or a queued input holds or waits for the session."""
        return self._run_lock.locked()

    async def execute_hidden(self, code: str, *, timeout: float) -> Execution | None:
        """Run ``code`` in the session without a cell or a history entry (the
        completion probe). None when the session is busy: a hidden request
        never waits behind, or overlaps, the user's runs. It resets the
        session's cooldown like any execution."""
        if self._run_lock.locked():
            return None
        async with self._run_lock:
            self.cooldown.touch()
            return await self.client.execute(code, identifier=self.identifier, timeout=timeout)

    async def execute_cell(self, cell: Cell) -> Cell:
        async with self._run_lock:
            return await self._execute_cell(cell)

    async def _execute_cell(self, cell: Cell) -> Cell:
        identifier = cell.session or self.identifier
        before = self.cooldown.snapshot()
        t0 = time.perf_counter()
        cell.started_at = datetime.now(timezone.utc)
        self.cooldown.touch()
        try:
            execution = await self.client.execute(
                cell.sent_code if cell.sent_code is not None else cell.code,
                identifier=identifier,
                timeout=self.timeout,
            )
        except asyncio.CancelledError:
            cell.abandoned = True
            cell.finished_at = datetime.now(timezone.utc)
            self._record(cell, "abandoned", (time.perf_counter() - t0) * 1000)
            raise
        except Exception as exc:  # noqa: BLE001 - nothing from the wire may kill a front end
            if isinstance(exc, (ConnectError, AuthError, ForbiddenError)):
                self.cooldown.restore(before)  # the session was not touched
            if isinstance(exc, ApiError):
                cell.error = str(exc) or type(exc).__name__
            else:
                cell.error = f"Unexpected client error ({type(exc).__name__}: {exc}); the code may or may not have run."
            cell.finished_at = datetime.now(timezone.utc)
            self._record(cell, "error", (time.perf_counter() - t0) * 1000)
            return cell
        elapsed = (time.perf_counter() - t0) * 1000
        cell.execution = execution
        cell.finished_at = datetime.now(timezone.utc)
        self.round_trips.append(execution.round_trip_ms if execution.round_trip_ms is not None else elapsed)
        self._record(cell, execution.status.value, execution.round_trip_ms or elapsed)
        if identifier == self.identifier:
            # The correction from GET session is one more round trip: the cell
            # is shown without waiting for it.
            self._in_background(self.sync_cooldown())
        return cell

    def _in_background(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settled(self) -> None:
        """Wait for the background work a run started (the countdown correction)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _record(self, cell: Cell, status: str, duration_ms: float) -> None:
        try:
            self.history.append(cell.code, session=cell.session, status=status, duration_ms=duration_ms)
        except OSError as exc:
            # A full disk must not lose the result (the front end still shows the
            # cell); the first failure is kept for the front end to mention once.
            if self.history_problem is None:
                reason = exc.strerror or str(exc)
                self.history_problem = f"The history could not be saved to {self.history.path}: {reason}."

    async def sync_cooldown(self) -> bool:
        """Correct the countdown from ``GET session``'s ``expireAt``; False when unavailable."""
        if self._session_api is False:
            return False
        try:
            info = await self.client.get_session(self.identifier)
        except ApiError as exc:
            if exc.status_code in (400, 404, 405) and exc.code != "SessionWithIdentifierNotFound":
                self._session_api = False  # this api-version has no session endpoint
            return False
        except Exception:  # noqa: BLE001 - a countdown correction is best effort
            return False
        self._session_api = True
        if info.expire_at is None:
            return False
        self.cooldown.sync(info.expire_at, datetime.now(timezone.utc))
        return True

    # ------------------------------------------------------------------ commands
    async def execute_command(self, cmd: DotCommand) -> CommandResult:
        name = cmd.name
        try:
            if name == "help":
                return self.help()
            if name == "new":
                return await self.new_session()
            if name == "session":
                return await self.attach(cmd.args[0])
            if name == "delete":
                return await self.delete_session()
            if name == "files":
                return await self.list_files()
            if name == "upload":
                return await self.upload(cmd.args[0])
            if name == "download":
                return await self.download(cmd.args[0], cmd.arg(1))
            if name == "load":
                return self.load(cmd.args[0])
            if name == "save":
                return self.save(cmd.args[0])
            if name == "export":
                return self.export(cmd.args[0])
            if name == "clear":
                return CommandResult("", action="clear")
            if name == "editor":
                return CommandResult("Editor mode: Enter inserts a newline, Ctrl+J runs.", action="editor")
            if name == "exit":
                return CommandResult("", action="exit")
        except ApiError as exc:
            return CommandResult(str(exc), "error")
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            return CommandResult(f".{name} failed: {exc.strerror or exc}{where}", "error")
        return CommandResult(f"Unknown command .{name}: type .help for the list", "error")

    def help(self) -> CommandResult:
        return CommandResult(help_text())

    async def new_session(self) -> CommandResult:
        self.identifier = new_identifier()
        self.cooldown.reset()
        return CommandResult(
            f"New session {_short(self.identifier)}; the previous one expires on its own.",
            data=self.identifier,
            action="session",
        )

    async def attach(self, identifier: str) -> CommandResult:
        identifier = identifier.strip()
        if not is_valid_identifier(identifier):
            return CommandResult(f"Not a session identifier: it is {IDENTIFIER_RULE}.", "error")
        self.identifier = identifier
        self.cooldown.reset()
        try:
            info = await self.client.get_session(identifier)
        except ApiError as exc:
            if exc.code == "SessionWithIdentifierNotFound" or exc.status_code == 404:
                msg = f"Attached to {_short(identifier)}: no such session on the server yet; the next run creates it."
            else:
                msg = f"Attached to {_short(identifier)} (its state could not be checked: {exc})."
            return CommandResult(msg, data=identifier, action="session")
        self.cooldown.touch()  # the GET named the identifier
        if info.expire_at is not None:
            self.cooldown.sync(info.expire_at, datetime.now(timezone.utc))
        return CommandResult(
            f"Attached to session {_short(identifier)}; {self.cooldown.remaining():.0f} s left before it expires.",
            data=identifier,
            action="session",
        )

    async def delete_session(self) -> CommandResult:
        await self.client.delete_session(self.identifier)
        self.cooldown.reset()
        return CommandResult(
            "Session deleted on the server: state and files are gone; the next run starts a fresh session."
        )

    async def list_files(self) -> CommandResult:
        self.cooldown.touch()
        files = await self.client.list_files(self.identifier, recursive=True)
        if not files:
            return CommandResult("No files in /mnt/data.", data=[])
        return CommandResult(format_files(files), data=files)

    async def upload(self, path: str) -> CommandResult:
        local = self._path(path)
        if not local.is_file():
            return CommandResult(f"No such file: {local}", "error")
        self.cooldown.touch()
        info = await self.client.upload(self.identifier, local)
        size = f" ({info.size} bytes)" if info.size is not None else ""
        return CommandResult(f"Uploaded {local.name} to /mnt/data/{info.path}{size}.", data=info)

    async def download(self, name: str, dest: str | None = None) -> CommandResult:
        remote = name.removeprefix("/mnt/data/").lstrip("/")
        base = remote.rsplit("/", 1)[-1]
        if not base:
            return CommandResult("Usage: .download NAME [DEST]", "error")
        target = self._path(dest) if dest else self._path(base)
        if target.is_dir():
            target = target / base
        if target.exists():
            return CommandResult(
                f"Not downloaded: {target} already exists. Give another DEST or remove it first.", "error"
            )
        if not target.parent.is_dir():
            return CommandResult(f"Not downloaded: directory {target.parent} does not exist.", "error")
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        self.cooldown.touch()
        try:
            size = await self.client.download(self.identifier, remote, partial)
            if target.exists():  # appeared meanwhile: still never clobber
                return CommandResult(f"Not downloaded: {target} appeared meanwhile; kept it.", "error")
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return CommandResult(f"Downloaded {remote} to {target} ({size} bytes).", data=target)

    def load(self, file: str) -> CommandResult:
        path = self._path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return CommandResult(f"No such file: {path}", "error")
        except (OSError, UnicodeDecodeError) as exc:
            return CommandResult(f"Cannot read {path}: {exc}", "error")
        return CommandResult(f"Loaded {path} into the editor.", data=text, action="load")

    def save(self, file: str) -> CommandResult:
        return self._write(file, self.transcript.to_javascript(), f"{len(self.transcript)} inputs")

    def export(self, file: str) -> CommandResult:
        return self._write(file, self.transcript.to_markdown(), f"{len(self.transcript)} cells")

    def _write(self, file: str, text: str, what: str) -> CommandResult:
        path = self._path(file)
        existed = path.exists()
        if path.is_dir():
            return CommandResult(f"{path} is a directory; give a file name.", "error")
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            return CommandResult(f"Cannot write {path}: {exc.strerror or exc}", "error")
        note = " (replaced the existing file)" if existed else ""
        return CommandResult(f"Wrote {what} to {path}{note}.", data=path)

    def _path(self, text: str) -> Path:
        path = Path(text).expanduser()
        if not path.is_absolute() and self.cwd is not None:
            path = self.cwd / path
        return path

    # ------------------------------------------------------------------ pool
    async def pool_status(self) -> PoolStatus:
        """Pool status for the side panel: pool-level calls only (never the identifier)."""
        try:
            status = await self.client.pool_status()
        except ApiError as exc:
            status = PoolStatus(endpoint=self.connection.endpoint, unknown=("pool",), notes=(str(exc),))
        if status.cooldown_seconds:
            self.cooldown.set_period(status.cooldown_seconds)
        self.last_pool_status = status
        return status


def format_files(files: list[FileInfo]) -> str:
    rows = []
    for f in sorted(files, key=lambda f: f.path):
        size = "<dir>" if f.is_dir else (f"{f.size}" if f.size is not None else "?")
        when = f.last_modified.strftime("%Y-%m-%d %H:%M") if f.last_modified else ""
        rows.append((f.path + ("/" if f.is_dir else ""), size, when))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a.ljust(w0)}  {b.rjust(w1)}  {c}".rstrip() for a, b, c in rows)
