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
import inspect
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from repl.api.errors import ApiError, AuthError, ConnectError, ForbiddenError
from repl.api.models import Execution, FileInfo, PoolStatus
from repl.config import IDENTIFIER_RULE, is_valid_identifier
from repl.cooldown import DEFAULT_PERIOD_S, Cooldown
from repl.dotcommands import (
    COMMANDS,
    Action,
    CommandResult,
    CommandSpec,
    DotCommand,
    DotCommandError,
    help_text,
    lookup,
    parse,
)
from repl.history import History
from repl.transcript import Cell, Transcript

if TYPE_CHECKING:
    from repl.api.client import SessionsClient
    from repl.config import Settings
    from repl.connection import Connection
    from repl.play import Player, Step

from repl.continuity import ExpiryAlarm, KeepAlive, ReplayBatch, SessionEpoch, clock_time
from repl.js.await_rewrite import rewrite_top_level_await
from repl.js.completion import Completer
from repl.js.last_values import LastValueError, LastValues, substitute_last_values
from repl.presenter import PresenterMode, Redactor

PLAY_CONTROLS = ("next", "back", "skip", "stop")
PRESENTER_KEEP_ALIVE_MINUTES = 120.0

#: What the local pool writes when a session's kernel was replaced (its state lost).
LOCAL_KERNEL_REPLACED = "[local pool] The session's previous kernel had ended"


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
        self.last_values = LastValues()  # what `_` and `_error` stand for
        self.editor_mode = False  # .editor: Enter inserts a newline (both front ends read it)
        # Session continuity (repl.continuity): what built the current session,
        # the last one lost, the note for the next cell, keep-alive and replay.
        self.epoch = SessionEpoch()
        self.lost: SessionEpoch | None = None
        self._pending_notice: str | None = None
        self._abandoned: Cell | None = None  # stopped waiting; may still run on the server
        self.keep_alive: KeepAlive | None = None
        self.replay_on_expiry = False
        self.alarm = ExpiryAlarm(self.cooldown, describe=lambda: f"Session {self.show(self.short_identifier)}")
        self.player: Player | None = None  # .play: the scripted steps of a demo
        self._play_pending = False  # a step is in the input: the next run is that step
        self.presenter = PresenterMode(Redactor.for_connection(connection.endpoint, sessions=[self.identifier]))
        self._session_api: bool | None = None  # GET session available? None: not tried yet
        self.history_problem: str | None = None  # why the history file could not be written
        self._background: set[asyncio.Task[object]] = set()  # countdown corrections still in flight
        # Requests that follow a run (the countdown correction from GET session)
        # start at once, unless a front end paints first: then they wait, one
        # of each kind, until it calls start_follow_ups() after the result is on
        # screen (the TUI: nothing competes with the run's paint).
        self.defer_follow_ups = False
        self._follow_ups: dict[str, Callable[[], Coroutine[object, object, object]]] = {}
        # One request naming the session at a time, in submission order
        # (asyncio.Lock wakes its waiters first in, first out): type-ahead runs
        # queue here, and completion probes never overtake or overlap a run.
        self._run_lock = asyncio.Lock()
        self._queue_open = asyncio.Event()  # cleared while the user decides about the queue
        self._queue_open.set()
        self.completer = Completer(self)  # completion and its property cache, per engine

    @property
    def client(self) -> SessionsClient:
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
        """A numbered cell for ``code``, added to the transcript. What is sent
        may differ from what was typed: ``_``/``_error`` become literals
        (:mod:`repl.js.last_values`) and a top-level ``await`` is rewritten
        (:mod:`repl.js.await_rewrite`); ``cell.sent_code`` keeps what is sent.
        An input that cannot be sent as it stands (``_`` naming a function)
        is a finished cell whose error says why; it is kept in the history."""
        # Blank lines at the end (the two that force a run, or an indent left by
        # Enter) mean nothing to JavaScript: neither sent nor kept in the history.
        code = strip_trailing_blank_lines(code)
        self.execution_count += 1
        cell = Cell(n=self.execution_count, code=code, sent_code=code, session=self.identifier)
        if self._play_pending:
            cell.play_step, self._play_pending = True, False
        self.transcript.add(cell)
        try:
            substituted = substitute_last_values(code, self.last_values)
        except LastValueError as exc:
            cell.error = str(exc)
            cell.finished_at = datetime.now(UTC)
            return cell
        sent = substituted if substituted is not None else code
        try:
            rewritten = rewrite_top_level_await(sent)
        except Exception:  # a rewrite bug must not stop the user: send as typed
            rewritten = None
        cell.sent_code = rewritten if rewritten is not None else sent
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

    async def execute_cell(self, cell: Cell, *, on_start: Callable[[], None] | None = None) -> Cell:
        """Send ``cell`` once the runs submitted before it are done
        (``on_start`` is called then: a queued cell starts running). Cancelled
        while still queued, the cell is marked dropped (never sent) and kept in
        the history; cancelled while running, it is marked abandoned."""
        try:
            await self._run_lock.acquire()
        except asyncio.CancelledError:
            self._drop(cell)
            raise
        try:
            try:
                await self._queue_open.wait()
            except asyncio.CancelledError:
                self._drop(cell)
                raise
            if self._abandoned is not None and (cell.session or self.identifier) == self.identifier:
                # The service runs one execution at a time per session: this one
                # starts there when the abandoned one ends.
                cell.waiting_behind = self._abandoned.n
            if on_start is not None:
                on_start()
            return await self._execute_cell(cell)
        finally:
            self._run_lock.release()

    def _drop(self, cell: Cell) -> None:
        cell.dropped = True
        cell.finished_at = datetime.now(UTC)
        self._record(cell, "dropped", 0.0)

    def hold_queue(self) -> None:
        """Queued inputs wait (the user is asked whether to drop them) even
        when the session becomes free; :meth:`release_queue` lets them go."""
        self._queue_open.clear()

    def release_queue(self) -> None:
        self._queue_open.set()

    async def _execute_cell(self, cell: Cell) -> Cell:
        if cell.finished_at is not None:  # not sendable (see prepare): nothing goes out
            self._record(cell, "error", 0.0)
            return cell
        batch = cell.replay
        if batch is not None and batch.failed_at is not None:
            cell.dropped = True
            cell.error = f"Not sent: the replay stopped at In [{batch.failed_at}], which failed."
            cell.finished_at = datetime.now(UTC)
            self._record(cell, "dropped", 0.0)
            return cell
        identifier = cell.session or self.identifier
        if identifier == self.identifier:
            notices = [await self._session_check()]
            if self._abandoned is not None:
                # The service runs one execution at a time per session: this one
                # starts when the abandoned one ends there.
                cell.waiting_behind = self._abandoned.n
            cell.notice = " ".join(n for n in notices if n) or None
        if batch is None:
            self.user_activity()
        before = self.cooldown.snapshot()
        t0 = time.perf_counter()
        cell.started_at = datetime.now(UTC)
        self.cooldown.begin_request()
        try:
            execution = await self.client.execute(
                cell.sent_code if cell.sent_code is not None else cell.code,
                identifier=identifier,
                timeout=self.timeout,
            )
        except asyncio.CancelledError:
            self.cooldown.end_request()
            cell.abandoned = True
            cell.finished_at = datetime.now(UTC)
            self._abandoned = cell
            self._record(cell, "abandoned", (time.perf_counter() - t0) * 1000)
            raise
        except Exception as exc:  # noqa: BLE001 - nothing from the wire may kill a front end
            self.cooldown.end_request()
            if isinstance(exc, (ConnectError, AuthError, ForbiddenError)):
                self.cooldown.restore(before)  # the session was not touched
            if isinstance(exc, ApiError):
                cell.error = str(exc) or type(exc).__name__
            else:
                cell.error = f"Unexpected client error ({type(exc).__name__}: {exc}); the code may or may not have run."
            cell.finished_at = datetime.now(UTC)
            self._record(cell, "error", (time.perf_counter() - t0) * 1000)
            return cell
        self.cooldown.end_request()
        self._abandoned = None  # the session answered: nothing runs ahead of the next run
        elapsed = (time.perf_counter() - t0) * 1000
        cell.execution = execution
        cell.finished_at = datetime.now(UTC)
        self.round_trips.append(execution.round_trip_ms if execution.round_trip_ms is not None else elapsed)
        self.last_values.record(value_text=execution.value_text, failed=not execution.ok, stderr=execution.stderr)
        self._record(cell, execution.status.value, execution.round_trip_ms or elapsed)
        if identifier == self.identifier:
            if LOCAL_KERNEL_REPLACED in execution.stderr:
                self._lose_epoch()
                replaced = "The session's kernel had ended on the local pool: this run started in a fresh kernel "
                cell.notice = " ".join(
                    filter(None, [cell.notice, replaced + "(variables are gone; files in /mnt/data are kept)."])
                )
            if execution.ok:
                self.epoch.inputs.append(cell)
            # The correction from GET session is one more round trip: the cell
            # is shown without waiting for it.
            self._follow_up("sync_cooldown", self.sync_cooldown)
        self._record_play_step(cell)
        if batch is not None:
            batch.done += 1
            if not execution.ok:
                batch.failed_at = cell.n
                cell.notice = " ".join(
                    filter(None, [cell.notice, f"The replay stops here: input {batch.done} of {batch.total} failed; "
                                  "the inputs after it are not sent."])
                )
            elif batch.done == batch.total:
                cell.notice = " ".join(
                    filter(None, [cell.notice, f"Replay complete: {batch.total} input{'s' if batch.total != 1 else ''} "
                                  "rebuilt the session."])
                )
        return cell

    # ------------------------------------------------------------------ continuity
    def user_activity(self) -> None:
        if self.keep_alive is not None:
            self.keep_alive.activity()

    def configure_continuity(self, settings: Settings) -> None:
        """The expiry warning's lead time, replay on expiry and keep-alive, as
        set; presenter mode with the pool's names (``--pool`` lookups)."""
        self.alarm.lead_s = settings.expiry_warning
        self.replay_on_expiry = settings.replay_on_expiry
        self.set_keep_alive(settings.keep_alive)
        redactor = self.presenter.redactor
        for value, placeholder in ((settings.subscription, "<subscription>"),
                                   (settings.resource_group, "<resource-group>"), (settings.pool, "<pool>")):
            if value:
                redactor.add(value, placeholder)
        if settings.present:
            self.set_presenting(True)

    def set_keep_alive(self, idle_minutes: float | None) -> None:
        """Keep the session alive while the REPL is open (None: off), until
        the user has been idle ``idle_minutes``."""
        self.keep_alive = None if idle_minutes is None else KeepAlive(idle_limit_s=idle_minutes * 60)

    async def keep_alive_tick(self) -> bool:
        """From the front end's timer: send the cheapest request that resets
        the cooldown (a listing of /mnt/data) when keep-alive says it is due.
        True when one was sent. Never while a run holds the session."""
        keep = self.keep_alive
        if keep is None or self.busy or not keep.due(self.cooldown):
            return False
        async with self._run_lock:
            self.cooldown.begin_request()
            try:
                await self.client.list_files(self.identifier)
            except Exception:  # noqa: BLE001 - the next tick tries again
                self.cooldown.end_request()
                return False
            self.cooldown.end_request()
        return True

    def _lose_epoch(self) -> None:
        """The session's state is gone: what built it becomes replayable."""
        if not self.epoch.empty:
            self.lost = self.epoch
        self.epoch = SessionEpoch()

    async def _session_check(self) -> str | None:
        """Before a run: did the session expire, or was it replaced (.new,
        .delete)? The notice for the cell, or None. With replay on expiry,
        the lost session is rebuilt first."""
        notice = self._pending_notice
        self._pending_notice = None
        cd = self.cooldown
        if cd.started and cd.expired:
            at = cd.expires_at()
            if await self._session_gone():
                self._lose_epoch()
                cd.reset()
                notice = f"Session expired at {clock_time(at)}; this run started a fresh session."
        if notice is not None and self.replay_on_expiry and self.lost is not None:
            notice += " " + await self._replay_inline()
        return notice

    async def _session_gone(self) -> bool:
        """Confirm an expiry the countdown predicts (GET session where the API
        has it: 404 means gone); without that endpoint, trust the countdown."""
        if self._session_api is False:
            return True
        try:
            info = await self.client.get_session(self.identifier)
        except ApiError as exc:
            if exc.code == "SessionWithIdentifierNotFound" or exc.status_code == 404:
                self._session_api = True
                return True
            if exc.status_code in (400, 405):
                self._session_api = False
            return True
        except Exception:  # noqa: BLE001 - cannot tell: trust the countdown
            return True
        self._session_api = True
        if info.expire_at is not None:
            self.cooldown.sync(info.expire_at, datetime.now(UTC))
        return False

    def replay_plan(self) -> SessionEpoch | None:
        """What ``.replay`` would send: the lost session's inputs and uploads."""
        lost = self.lost
        return None if lost is None or lost.empty else lost

    async def replay(self) -> CommandResult:
        """``.replay``: re-upload the lost session's files now, and hand the
        front end the inputs to run, in order, as replay cells (they stop at
        the first failure)."""
        plan = self.replay_plan()
        if plan is None:
            return CommandResult("Nothing to replay: no session has been lost since the REPL started.")
        self.lost = None
        uploaded = 0
        for local, name in plan.uploads:
            if not local.is_file():
                return CommandResult(f"Replay stopped: {local} (uploaded before) is no longer there.", "error")
            self.cooldown.touch()
            info = await self.client.upload(self.identifier, local, name=name)
            self.epoch.uploads.append((local, info.path))
            uploaded += 1
        batch = ReplayBatch(total=len(plan.inputs))
        cells = [self.prepare_replay(cell, batch) for cell in plan.inputs]
        what = f"{uploaded} file{'s' if uploaded != 1 else ''} uploaded again" if uploaded else ""
        runs = f"{len(cells)} input{'s' if len(cells) != 1 else ''} to run" if cells else ""
        return CommandResult(
            "Replaying: " + " and ".join(p for p in (what, runs) if p) + ".", data=cells, action="replay"
        )

    def prepare_replay(self, original: Cell, batch: ReplayBatch) -> Cell:
        """A new numbered cell that sends exactly what ``original`` sent."""
        self.execution_count += 1
        cell = Cell(
            n=self.execution_count,
            code=original.code,
            sent_code=original.sent_code,
            session=self.identifier,
            replay=batch,
        )
        self.transcript.add(cell)
        return cell

    async def _replay_inline(self) -> str:
        """Replay on expiry: rebuild the lost session before the run that
        found it gone (no cells: the notice says what happened)."""
        plan, self.lost = self.lost, None
        if plan is None or plan.empty:
            return ""
        try:
            for local, name in plan.uploads:
                info = await self.client.upload(self.identifier, local, name=name)
                self.epoch.uploads.append((local, info.path))
            for i, original in enumerate(plan.inputs, 1):
                execution = await self.client.execute(
                    original.sent_code or original.code, identifier=self.identifier, timeout=self.timeout
                )
                if not execution.ok:
                    return (
                        f"Replay on expiry stopped at input {i} of {len(plan.inputs)} (from In [{original.n}]): "
                        "it failed; the inputs after it were not sent."
                    )
                self.epoch.inputs.append(original)
        except (ApiError, OSError) as exc:
            return f"Replay on expiry stopped: {exc}"
        finally:
            self.cooldown.touch()
        return f"Replayed {plan.summary()} into it first."

    def _in_background(self, coro: Coroutine[object, object, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _follow_up(self, kind: str, start: Callable[[], Coroutine[object, object, object]]) -> None:
        if self.defer_follow_ups:
            self._follow_ups[kind] = start  # one of a kind: two runs need one correction
        else:
            self._in_background(start())

    def start_follow_ups(self) -> None:
        """Start the requests deferred behind the runs (see ``defer_follow_ups``)."""
        pending, self._follow_ups = self._follow_ups, {}
        for start in pending.values():
            self._in_background(start())

    async def settled(self) -> None:
        """Wait for the background work a run started (the countdown
        correction), starting what was deferred."""
        self.start_follow_ups()
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def record_dropped(self, code: str) -> None:
        """An input typed ahead and dropped before it was sent: the history
        keeps it (nothing typed is lost), marked dropped."""
        self._record(Cell(n=0, code=strip_trailing_blank_lines(code), session=self.identifier), "dropped", 0.0)

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
        self.cooldown.sync(info.expire_at, datetime.now(UTC))
        return True

    # ------------------------------------------------------------------ commands
    def confirmation(self, cmd: DotCommand) -> str | None:
        """The question a front end must ask (yes/no) before running ``cmd``,
        or None when it can run at once (``.delete``, a file it would replace)."""
        spec = cmd.spec or lookup(cmd.name)
        if spec is None or spec.confirm is None:
            return None
        return spec.confirm(self, cmd)

    async def execute_command(self, cmd: DotCommand) -> CommandResult:
        """Run a dot-command through its registry handler. A command that
        touches the session waits for the runs submitted before it."""
        spec = cmd.spec or lookup(cmd.name)
        if spec is None:
            return CommandResult(f"Unknown command .{cmd.name}: type .help for the list", "error")
        if not spec.queued:
            return await self._dispatch(spec, cmd)
        async with self._run_lock:
            return await self._dispatch(spec, cmd)

    async def _dispatch(self, spec: CommandSpec, cmd: DotCommand) -> CommandResult:
        try:
            result = spec.handler(self, cmd)
            if inspect.isawaitable(result):
                result = await result
            return result
        except ApiError as exc:
            return CommandResult(str(exc), "error")
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            return CommandResult(f".{cmd.name} failed: {exc.strerror or exc}{where}", "error")

    def effect(self, action: Action) -> CommandResult:
        """A command whose whole effect is on the front end's screen."""
        if action == "editor":
            self.editor_mode = not self.editor_mode
            text = (
                "Editor mode on: Enter inserts a newline, Ctrl+J or Alt+Enter runs; .editor again to leave."
                if self.editor_mode
                else "Editor mode off: Enter runs a complete input."
            )
            return CommandResult(text, action="editor")
        return CommandResult("", action=action)

    def help(self) -> CommandResult:
        return CommandResult(help_text(), data=COMMANDS, action="help")

    @property
    def short_identifier(self) -> str:
        return _short(self.identifier)

    async def new_session(self) -> CommandResult:
        self.identifier = new_identifier()
        self.presenter.redactor.add_session(self.identifier)
        self.cooldown.reset()
        self._abandoned = None
        self._lose_epoch()
        self._pending_notice = f"This run started a fresh session (.new at {clock_time(datetime.now(UTC))})."
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
        self.presenter.redactor.add_session(identifier)
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
            self.cooldown.sync(info.expire_at, datetime.now(UTC))
        return CommandResult(
            f"Attached to session {_short(identifier)}; {self.cooldown.remaining():.0f} s left before it expires.",
            data=identifier,
            action="session",
        )

    async def delete_session(self) -> CommandResult:
        await self.client.delete_session(self.identifier)
        self.cooldown.reset()
        self._abandoned = None
        self._lose_epoch()
        self._pending_notice = (
            f"This run started a fresh session (the previous one was deleted at {clock_time(datetime.now(UTC))})."
        )
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
        self.epoch.uploads.append((local, info.path))
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
        """The transcript as Markdown, or as an asciinema recording when the
        name ends in ``.cast``; identifiers redacted in presenter mode."""
        show = self.presenter.show
        n = len(self.transcript)
        if file.lower().endswith(".cast"):
            from repl.recording import to_cast  # (imported when used: not on the REPL's start-up path)

            return self._write(file, to_cast(self.transcript, redact=show), f"a recording of {n} cells")
        return self._write(file, show(self.transcript.to_markdown()), f"{n} cells")

    # ------------------------------------------------------------------ play
    def play(self, arg: str | None) -> CommandResult:
        """``.play FILE`` starts a play (its first step goes into the input);
        ``.play next|back|skip|stop`` steers it; ``.play`` says where it is."""
        if arg is None:
            if self.player is None:
                return CommandResult("No play: .play FILE starts one (steps at // %% markers or blank lines).")
            return CommandResult(self.player.progress)
        if arg in PLAY_CONTROLS:
            return self.play_control(arg)
        from repl.play import Player, PlayError, load_script  # (imported when used, as .cast's)

        try:
            script = load_script(self.resolve_path(arg))
        except PlayError as exc:
            return CommandResult(str(exc), "error")
        self.player = Player(script)
        return self.play_control("next")

    def play_control(self, word: str) -> CommandResult:
        player = self.player
        if player is None:
            return CommandResult("No play: .play FILE starts one.", "error")
        from repl.play import PlayError

        try:
            if word == "stop":
                self._play_pending = False
                message = player.leave()
                self.player = None
                return CommandResult(message, action="play")
            if word == "back":
                step: Step | None = player.back()
            elif word == "skip":
                step = player.skip()
            elif player.state.value == "failed":
                step = player.resume()
            else:
                step = player.next()
        except PlayError as exc:
            return CommandResult(str(exc), "error")
        if step is None:
            self._play_pending = False
            return CommandResult(player.progress, action="play")
        self._play_pending = True
        return CommandResult(player.progress, data=step.code, action="play")

    def _record_play_step(self, cell: Cell) -> None:
        player = self.player
        if player is None or not cell.play_step:
            return
        failure = player.record(cell)
        if failure is not None:
            cell.notice = " ".join(filter(None, [cell.notice, failure]))

    # ------------------------------------------------------------------ presenter
    def set_presenting(self, on: bool) -> None:
        """Presenter mode: every identifier hidden on screen and in exports;
        keep-alive on while presenting (a demo must not lose its session)."""
        self.presenter.enabled = on
        if on and self.keep_alive is None and self.presenter.keep_alive:
            self.set_keep_alive(PRESENTER_KEEP_ALIVE_MINUTES)

    def show(self, text: str) -> str:
        """``text`` as the screen may show it (redacted in presenter mode)."""
        return self.presenter.show(text)

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

    def resolve_path(self, text: str) -> Path:
        """A path the user typed, relative to the REPL's working directory."""
        return self._path(text)

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


async def open_engine(
    settings: Settings,
    *,
    clock: Callable[[], float] | None = None,
    wait_ready: bool = False,
    environ: Mapping[str, str] | None = None,
) -> ReplEngine:
    """Open the connection the settings name (embedded pool, ``serve`` or
    Azure) and build the engine over it with the user's history: the one
    set-up both front ends use. ``wait_ready``: wait for the embedded pool's
    first kernel (line mode shows no screen while it starts)."""
    from repl import paths
    from repl.connection import open_connection

    connection = await open_connection(settings, wait_ready=wait_ready)
    try:
        history = History(paths.history_file(environ))
    except BaseException:
        await connection.aclose()
        raise
    engine = ReplEngine(
        connection,
        history=history,
        identifier=settings.session or None,
        timeout=settings.timeout,
        clock=clock or time.monotonic,
    )
    engine.configure_continuity(settings)
    return engine
