"""Sessions of the local pool: identifier -> (Node kernel, directory, timestamps).

Lifecycle, as on the service (API.md §4):

* The first execute or files request naming a new identifier creates the
  session; it gets a pre-started ("ready") kernel when one is waiting, so the
  first execution does not pay Node's start-up.  Ready kernels are refilled in
  the background, a few at a time.
* Every execute or files request for the identifier resets its cooldown
  (``expireAt = lastAccessedAt + cooldown``); an execution also touches the
  session when it ends, so a long execution never expires under itself.
  ``GET /session`` and the pool-level calls only observe.
* A reaper destroys a session at ``expireAt`` when no execution is running or
  queued on it: kernel killed, directory removed.  ``DELETE /session`` does the
  same at once.
* Executions on one identifier run one at a time, in arrival order
  (``asyncio.Lock`` wakes its waiters first-in, first-out).
* When a kernel dies (``process.exit()``, crash, memory) the response says the
  state was lost; the next execution starts a fresh kernel in the same
  directory, so files in ``/mnt/data`` survive, as they do when the service's
  Jupyter kernel restarts inside its container.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import secrets
import signal
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repl.local.errors import CapacityExceeded, KernelUnavailable, PoolError
from repl.local.fileaccess import remove_tree
from repl.local.procfs import process_tag
from repl.local.settings import PoolSettings

if TYPE_CHECKING:
    from repl.local.kernel import Kernel

log = logging.getLogger(__name__)

KernelFactory = Callable[[Path, PoolSettings], Awaitable["Kernel"]]

# How long close() waits for kernels still starting before cancelling them.
CLOSE_GRACE_S = 10.0
# A new session's ready kernel is replaced after its first execution, or after this delay.
REFILL_DELAY_S = 0.5

# Execution records kept per session for GET executions/{id}: at most this many,
# and at most this many characters of output and values together (the newest
# record is always kept).
MAX_EXECUTION_RECORDS = 64
MAX_EXECUTION_RECORD_CHARS = 16 * 1024 * 1024

STATE_LOST_NOTE = (
    "[local pool] The session's Node.js kernel ended, so its variables and other "
    "in-memory state are lost. The next execution starts a fresh kernel; files in "
    "/mnt/data are kept."
)
# Exercises what every execution uses (compile, run, console capture, inspect).
WARM_UP_CODE = "console.log(''); ({ warm: [1, 'x'] })"
DELETED_NOTE = (
    "[local pool] The session was deleted (or the pool stopped) while this execution ran."
)
NEXT_NOTE = (
    "[local pool] The next execution starts a fresh kernel; files in /mnt/data are kept."
)
RESTARTED_NOTE = (
    "[local pool] The session's previous kernel had ended (its state was lost); "
    "this execution ran in a fresh kernel."
)


async def _default_kernel_factory(workdir: Path, settings: PoolSettings) -> Kernel:
    from repl.local.kernel import Kernel

    # the pool's directory is two levels up (<root>/sessions/<id>): kernels keep
    # their temporary directories and process records there, for the start-up sweep
    state_dir = workdir.parent.parent if workdir.parent.name == "sessions" else None
    return await Kernel.start(workdir=workdir, settings=settings, state_dir=state_dir)


@dataclass(eq=False)
class ExecutionRecord:
    """One execution, synchronous or not, as GET executions/{id} reports it."""

    id: str
    identifier: str
    execution_type: str  # "Synchronous" | "Asynchronous"
    status: str = "Running"  # Running | Succeeded | Failed
    stdout: str = ""
    stderr: str = ""
    value: Any = ""
    value_text: str = ""
    duration_ms: float = 0.0
    state_lost: bool = False
    kernel_status: str = ""  # ok | error | timeout | died (from the kernel)
    error: PoolError | None = None  # the request could not run at all
    done: asyncio.Event = field(default_factory=asyncio.Event)
    # its characters as last added to its session's record_chars (see _count_record)
    counted: int = 0


@dataclass(eq=False)
class Session:
    identifier: str
    directory: Path
    created_at: float
    last_accessed_at: float
    cooldown: float
    # A new random etag after every touch; drawn when read (a session answer), not
    # at each touch (twice per execution): the same values to whoever reads them.
    _etag: str | None = field(default=None, repr=False)
    kernel: Kernel | None = None
    starting: asyncio.Task[Any] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: int = 0  # executions running or queued
    closed: bool = False
    # a files request came since the last execution: the OS sandbox's kernel (another
    # uid) is given what the pool created in the directory before it runs again
    files_touched: bool = False
    executions: collections.OrderedDict[str, ExecutionRecord] = field(
        default_factory=collections.OrderedDict
    )
    # the characters of the records in `executions`, kept as they change instead
    # of summed over all 64 at every execution (twice)
    record_chars: int = 0

    @property
    def expire_at(self) -> float:
        return self.last_accessed_at + self.cooldown

    def expired(self, now: float) -> bool:
        """Past its expireAt with nothing running or queued: gone, reaped or not."""
        return self.pending == 0 and self.expire_at <= now

    @property
    def etag(self) -> str:
        if self._etag is None:
            self._etag = str(uuid.uuid4())
        return self._etag

    def touch(self, now: float) -> None:
        self.last_accessed_at = max(self.last_accessed_at, now)
        self._etag = None


class SessionPool:
    """All sessions of one local pool.  Runs on one event loop (the server's)."""

    def __init__(
        self,
        settings: PoolSettings,
        *,
        clock: Callable[[], float] = time.time,
        kernel_factory: KernelFactory | None = None,
        reap_interval: float = 30.0,
        refill_concurrency: int = 2,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._kernel_factory = kernel_factory or _default_kernel_factory
        self.reap_interval = reap_interval
        self._refill_sem = asyncio.Semaphore(max(1, refill_concurrency))
        self._start_sem = asyncio.Semaphore(2 * (os.cpu_count() or 2))
        self._sessions: dict[str, Session] = {}
        self._ready: list[tuple[Path, Kernel]] = []
        self._ready_changed = asyncio.Event()  # set (and cleared) whenever a ready kernel is added
        self._refilling = 0
        # one_shot: ready kernels still starting, which a new session may claim
        # instead of starting a second Node next to them
        self._starting_ready: list[tuple[Path, asyncio.Future[Kernel]]] = []
        self._refill_failures = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._reaper: asyncio.Task[Any] | None = None
        self._next_reap = 0.0  # clock time the reaper wakes next
        self.root: Path | None = None
        self.started_at = clock()
        self.closed = False

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        base = self.settings.data_dir
        if base is not None:
            Path(base).mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir=base))
        (self.root / "sessions").mkdir()
        (self.root / "staging").mkdir()
        (self.root / OWNER_FILE).write_text(_owner_tag(os.getpid()) or "")
        self._spawn(asyncio.to_thread(remove_stale_roots, self.root.parent))
        self.started_at = self.clock()
        self._reaper = asyncio.create_task(self._reap_loop(), name="acajs-pool-reaper")
        self._schedule_refill()

    async def close(self) -> None:
        """Stop every kernel (ready ones too) and remove every session directory."""
        if self.closed:
            return
        self.closed = True
        self._closing.set()
        if self._reaper is not None:
            self._reaper.cancel()
        sessions = list(self._sessions.values())
        self._sessions.clear()
        ready, self._ready = self._ready, []
        kills = [self._destroy(s) for s in sessions]
        kills += [self._kill_quietly(k) for _, k in ready]
        await asyncio.gather(*kills, return_exceptions=True)
        # Kernels still starting are not cancelled (a half-spawned Node could be
        # orphaned): their tasks see ``closed`` and kill what they started.  Running
        # executions end because their kernels were killed.
        deadline = time.monotonic() + CLOSE_GRACE_S
        while self._tasks:  # finishing tasks may spawn kills of what they started
            left = deadline - time.monotonic()
            _done, late = await asyncio.wait(set(self._tasks), timeout=max(0.0, left))
            if late and time.monotonic() >= deadline:
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
                break
        if self.root is not None:
            await asyncio.to_thread(remove_tree, self.root)

    async def quiesce(self) -> None:
        """Wait until the work the pool does in the background (removing expired
        sessions, killing kernels) has finished."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    @property
    def staging_dir(self) -> Path:
        assert self.root is not None, "pool not started"
        return self.root / "staging"

    # ------------------------------------------------------------------ sessions
    def get(self, identifier: str) -> Session | None:
        """The live session for ``identifier``, without touching it (one past its
        expireAt is gone, as on the service, though the reaper has not run yet)."""
        session = self._sessions.get(identifier)
        if session is None or session.expired(self.clock()):
            return None
        return session

    def sessions(self) -> list[Session]:
        """The live sessions, oldest first."""
        now = self.clock()
        return sorted((s for s in self._sessions.values() if not s.expired(now)), key=lambda s: s.created_at)

    @property
    def protection(self) -> dict[str, str]:
        """Which layer protects the host from session code (``sandbox.Protection``),
        for the pool's status and the serve banner."""
        from repl.local.sandbox import protection

        return protection(self.settings).as_dict()

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    def acquire(self, identifier: str) -> Session:
        """The session for ``identifier``, created if new; resets its cooldown.

        Synchronous on purpose: two requests for one new identifier can never
        create two sessions.  Raises ``CapacityExceeded`` at ``max_sessions``.
        """
        if self.closed:
            raise PoolError(503, "SessionPoolClosed", "The local pool is shutting down.")
        now = self.clock()
        session = self._sessions.get(identifier)
        if session is not None and session.expired(now):
            # Past its expireAt, not reaped yet (the reaper wakes now and then): gone,
            # as on the service. Touching it would revive state the client has
            # rightly counted as lost.
            self._forget(session)
            self._spawn(self._cleanup(session))
            session = None
        if session is not None:
            session.touch(now)
            session.files_touched = True  # (an execution's _prepare clears it: not files)
            return session
        if len(self._sessions) >= self.settings.max_sessions:
            # Sessions already past expireAt (the reaper has not run yet) make room now.
            for s in [s for s in self._sessions.values() if s.expired(now)]:
                self._forget(s)
                self._spawn(self._cleanup(s))
        if len(self._sessions) >= self.settings.max_sessions:
            soonest = min(s.expire_at for s in self._sessions.values())
            raise CapacityExceeded(self.settings.max_sessions, max(1, math.ceil(soonest - now)))
        kernel: Kernel | None = None
        directory: Path | None = None
        while self._ready:
            directory, kernel = self._ready.pop(0)
            if kernel.alive:
                break
            self._spawn(self._discard(directory, kernel))
            directory, kernel = None, None
        claimed: asyncio.Future[Kernel] | None = None
        if directory is None and self._starting_ready:
            directory, claimed = self._starting_ready.pop(0)
        if directory is None:
            directory = self._new_dir()
        session = Session(
            identifier=identifier,
            directory=directory,
            created_at=now,
            last_accessed_at=now,
            cooldown=float(self.settings.cooldown),
            kernel=kernel,
            files_touched=True,
        )
        if claimed is not None:
            session.starting = self._spawn(_claimed_kernel(claimed))
        elif kernel is None:
            session.starting = self._spawn(self._start_kernel(directory))
        self._sessions[identifier] = session
        # Refill the ready kernels once this request is served (its execution ends,
        # or shortly anyway): starting Node now would compete with the execution
        # for the CPU and delay exactly the response a ready kernel is there to speed up.
        asyncio.get_running_loop().call_later(REFILL_DELAY_S, self._schedule_refill)
        if session.expire_at < self._next_reap:
            self._wake.set()
        return session

    async def delete(self, identifier: str) -> bool:
        """``DELETE /session``: when this returns, nothing reaches the session
        any more, its kernel has been sent SIGKILL and its files are out of
        reach; waiting for the kernel to exit and removing the files (tens of
        milliseconds) finish in the background, so a one-shot client is not
        held up by the teardown."""
        session = self._sessions.get(identifier)
        if session is None:
            return False
        self._forget(session)
        if session.kernel is not None:
            session.kernel.signal_kill()
        session.directory = _retire(session.directory)
        self._spawn(self._cleanup(session))
        return True

    async def reap(self) -> list[str]:
        """Destroy every idle session whose ``expireAt`` has passed; their identifiers."""
        now = self.clock()
        expired = [s for s in self._sessions.values() if s.expired(now)]
        await asyncio.gather(*(self._destroy(s) for s in expired), return_exceptions=True)
        return [s.identifier for s in expired]

    async def _reap_loop(self) -> None:
        while True:
            try:
                await self.reap()
            except Exception:  # never let the reaper die
                log.exception("reaping sessions failed")
            idle = [s.expire_at for s in self._sessions.values() if s.pending == 0]
            now = self.clock()
            delay = self.reap_interval
            if idle:
                delay = min(delay, max(0.01, min(idle) - now + 0.005))
            self._next_reap = now + delay
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _destroy(self, session: Session) -> None:
        self._forget(session)
        await self._cleanup(session)

    def _forget(self, session: Session) -> None:
        if self._sessions.get(session.identifier) is session:
            del self._sessions[session.identifier]
        session.closed = True

    async def _cleanup(self, session: Session) -> None:
        kernel, session.kernel = session.kernel, None
        starting, session.starting = session.starting, None
        if starting is not None:
            self._discard_start(starting)
        if kernel is not None:
            await self._kill_quietly(kernel)
        await asyncio.to_thread(remove_tree, session.directory)

    # ---------------------------------------------------------------- executions
    def _prepare(
        self, identifier: str, execution_id: str | None, execution_type: str
    ) -> tuple[Session, ExecutionRecord]:
        existing = self._sessions.get(identifier)
        files_touched = existing.files_touched if existing is not None else False
        session = self.acquire(identifier)
        session.files_touched = files_touched  # an execution is not a files request
        record = ExecutionRecord(
            id=execution_id or str(uuid.uuid4()),
            identifier=identifier,
            execution_type=execution_type,
        )
        replaced = session.executions.get(record.id)  # an operation-id used again
        if replaced is not None:
            session.record_chars -= replaced.counted
        session.executions[record.id] = record  # (counted 0: its texts are empty)
        session.executions.move_to_end(record.id)
        _trim_records(session)
        session.pending += 1
        return session, record

    def start_execution(
        self,
        identifier: str,
        code: str,
        *,
        timeout: float,
        output_limit: int | None = None,
        execution_id: str | None = None,
        execution_type: str = "Asynchronous",
    ) -> ExecutionRecord:
        """Queue ``code`` on the identifier's session and return its record at once.

        Capacity errors are raised here, before anything runs; ``record.done``
        is set when the execution has ended.
        """
        session, record = self._prepare(identifier, execution_id, execution_type)
        self._spawn(self._run(session, record, code, timeout, output_limit))
        return record

    async def execute(
        self,
        identifier: str,
        code: str,
        *,
        timeout: float,
        output_limit: int | None = None,
        execution_id: str | None = None,
        execution_type: str = "Synchronous",
    ) -> ExecutionRecord:
        """Run ``code`` on the identifier's session (after the executions queued before it)."""
        session, record = self._prepare(identifier, execution_id, execution_type)
        await self._run(session, record, code, timeout, output_limit)
        return record

    def get_execution(self, identifier: str, execution_id: str) -> ExecutionRecord | None:
        session = self.get(identifier)
        if session is None:
            return None
        return session.executions.get(execution_id)

    async def _run(
        self,
        session: Session,
        record: ExecutionRecord,
        code: str,
        timeout: float,
        output_limit: int | None,
    ) -> None:
        try:
            async with session.lock:
                if session.closed:  # deleted while this execution waited its turn
                    record.status = "Failed"
                    record.state_lost = True
                    record.stderr = (
                        "[local pool] The session was deleted before this execution "
                        "started; nothing ran."
                    )
                    return
                kernel, restarted = await self._ensure_kernel(session)
                if session.files_touched:
                    session.files_touched = False
                    await kernel.adopt_files()
                result = await kernel.execute(code, timeout=timeout, output_limit=output_limit)
                session.touch(self.clock())
                record.kernel_status = result.status
                record.status = "Succeeded" if result.status == "ok" else "Failed"
                record.stdout = result.stdout
                record.stderr = result.stderr
                record.value = result.value
                record.value_text = result.value_text
                record.duration_ms = result.duration_ms
                _count_record(session, record)
                _trim_records(session)
                record.state_lost = bool(result.state_lost) or not kernel.alive
                if restarted:
                    record.stderr = _join(f"{RESTARTED_NOTE} Reason: {restarted}.", record.stderr)
                if record.state_lost:
                    said = "state is lost" in record.stderr or "state was lost" in record.stderr
                    if _closed(session):  # (deleted while the execution ran)
                        note = DELETED_NOTE
                    else:
                        note = NEXT_NOTE if said else STATE_LOST_NOTE
                    record.stderr = _join(record.stderr, note)
                    if session.kernel is kernel:
                        session.kernel = None
                        # Start the replacement now, so the next execution does not wait.
                        session.starting = self._spawn(
                            self._start_kernel(session.directory)
                        )
                    self._spawn(self._kill_quietly(kernel))
        except PoolError as exc:
            record.status = "Failed"
            record.error = exc
            record.stderr = exc.message
        except Exception as exc:  # a bug or an unexpected kernel failure: report, keep serving
            log.exception("execution failed")
            record.status = "Failed"
            record.error = PoolError(500, "InternalServerError", f"The local pool failed: {exc!r}")
            record.stderr = record.error.message
        finally:
            _count_record(session, record)  # (notes and errors above changed stderr)
            session.pending -= 1
            record.done.set()
            if session.pending == 0 and session.expire_at < self._next_reap:
                self._wake.set()  # the reaper sleeps past this session's expiry
            self._schedule_refill()

    async def _ensure_kernel(self, session: Session) -> tuple[Kernel, str]:
        """The session's live kernel (waiting for its start); when it is a restart,
        why the previous one ended."""
        restarted = ""
        if session.starting is not None:
            task = session.starting
            try:
                session.kernel = await task
            except Exception as exc:
                session.kernel = None
                log.warning("kernel start failed: %r", exc)
            finally:
                if session.starting is task:
                    session.starting = None
        if session.kernel is not None and not session.kernel.alive:
            restarted = session.kernel.death_reason() or "it ended"
            self._spawn(self._kill_quietly(session.kernel))
            session.kernel = None
        if session.kernel is None:
            try:
                session.kernel = await self._start_kernel(session.directory)
            except Exception as exc:
                raise KernelUnavailable(str(exc) or type(exc).__name__) from exc
            if session.closed:
                kernel, session.kernel = session.kernel, None
                await self._kill_quietly(kernel)
                raise PoolError(409, "SessionDeleted", "The session was deleted meanwhile.")
        return session.kernel, restarted

    async def _start_kernel(self, directory: Path) -> Kernel:
        """A kernel for a session; at most a few start at once (a burst of new
        sessions then finishes in order instead of all at the end, sharing the CPU)."""
        async with self._start_sem:
            return await self._kernel_factory(directory, self.settings)

    # ------------------------------------------------------------- ready kernels
    def _schedule_refill(self) -> None:
        if self.closed:
            return
        if self.settings.one_shot and self._sessions:
            return  # one command: the ready kernel it took is not replaced
        while len(self._ready) + self._refilling < self.settings.ready:
            self._refilling += 1
            self._spawn(self._refill_one())

    async def _refill_one(self) -> None:
        directory = None
        kernel: Kernel | None = None
        entry: tuple[Path, asyncio.Future[Kernel]] | None = None

        def claimed() -> bool:  # a session took this kernel while it started (one_shot)
            return entry is not None and entry not in self._starting_ready

        try:
            async with self._refill_sem:
                if self._refill_failures:
                    # Back off after failures (e.g. Node missing) instead of spinning.
                    backoff = min(30.0, 0.5 * 2 ** min(self._refill_failures, 6))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), backoff)
                if self.closed:
                    return
                directory = self._new_dir()
                if self.settings.one_shot:
                    entry = (directory, asyncio.get_running_loop().create_future())
                    self._starting_ready.append(entry)
                kernel = await self._kernel_factory(directory, self.settings)
                if not claimed():
                    await self._warm_up(kernel)
            self._refill_failures = 0
            if entry is not None and claimed():
                entry[1].set_result(kernel)  # the session's now (and so is the directory)
                return
            if entry is not None:
                self._starting_ready.remove(entry)
            if _closed(self):  # (the pool stopped while the kernel started)
                await self._discard(directory, kernel)
            else:
                self._ready.append((directory, kernel))
                self._ready_changed.set()
                self._ready_changed.clear()
        except asyncio.CancelledError:
            # close() gave up waiting: the kernel (if it started) must not outlive the pool
            if kernel is not None:
                await self._kill_quietly(kernel)
            if entry is not None and claimed():
                entry[1].cancel()  # (the session removes its directory)
            elif directory is not None:
                remove_tree(directory)
            raise
        except Exception as exc:
            self._refill_failures += 1
            log.warning("starting a ready kernel failed: %r", exc)
            if entry is not None and claimed():
                entry[1].set_exception(exc)  # the session starts a kernel of its own
            elif directory is not None:
                remove_tree(directory)
        finally:
            if entry is not None and not claimed():
                self._starting_ready.remove(entry)
                entry[1].cancel()
            self._refilling -= 1
        self._schedule_refill()

    @staticmethod
    async def _warm_up(kernel: Kernel) -> None:
        """Run one throw-away execution so the first real one finds V8's code paths
        compiled (it declares nothing and its output is discarded)."""
        try:
            await kernel.execute(WARM_UP_CODE, timeout=10)
        except Exception:
            log.exception("warming up a ready kernel failed")

    async def wait_ready(self, count: int | None = None, timeout: float = 30.0) -> None:
        """Wait until ``count`` (default: ``settings.ready``) ready kernels wait."""
        want = self.settings.ready if count is None else count
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._ready) < want:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"only {len(self._ready)} of {want} ready kernels started")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready_changed.wait(), left)

    # ------------------------------------------------------------------- helpers
    def _new_dir(self) -> Path:
        assert self.root is not None, "pool not started"
        directory = self.root / "sessions" / secrets.token_hex(8)
        directory.mkdir(mode=0o700)
        return directory

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _discard_start(self, task: asyncio.Task[Any]) -> None:
        def kill_when_started(t: asyncio.Task[Any]) -> None:
            if not t.cancelled() and t.exception() is None:
                self._spawn(self._kill_quietly(t.result()))

        if task.done():
            kill_when_started(task)
        else:
            task.add_done_callback(kill_when_started)

    async def _discard(self, directory: Path, kernel: Kernel) -> None:
        await self._kill_quietly(kernel)
        await asyncio.to_thread(remove_tree, directory)

    async def _kill_quietly(self, kernel: Kernel) -> None:
        if self.settings.one_shot:
            # The command's process exits soon: SIGKILL without waiting for the
            # kernel's processes to exit (bwrap and slirp4netns take ~30 ms to);
            # they cannot outlive the kill, and the directories are removed.
            kernel.abandon()
            return
        try:
            await kernel.kill()
        except Exception:
            log.exception("killing a kernel failed")


def _retire(directory: Path) -> Path:
    """Move a deleted session's directory aside (one rename) before it is removed."""
    retired = directory.with_name(f"{directory.name}.deleted")
    try:
        directory.rename(retired)
    except OSError:
        return directory  # already gone, or cannot move: removed where it is
    return retired


ROOT_PREFIX = "acajs-pool-"
OWNER_FILE = "owner"


def _owner_tag(pid: int) -> str | None:
    """``"<pid> <start time>"`` of a live process (the start time tells a reused pid apart)."""
    return process_tag(pid)


def _kill_recorded_kernels(kernels: Path) -> None:
    """Kernels a killed pool left running (each recorded as ``kernels/<pid>`` with its
    tag; normally they died with it): SIGKILL to each one's process group."""
    try:
        entries = list(kernels.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            tag = entry.read_text().strip()
            pid = int(entry.name)
        except (OSError, ValueError):
            continue
        if process_tag(pid) == tag:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def remove_stale_roots(base: Path) -> list[Path]:
    """Remove the directories of local pools whose process is gone (killed without
    a chance to clean up).  Directories without an owner file are left alone."""
    removed: list[Path] = []
    try:
        candidates = [p for p in base.iterdir() if p.name.startswith(ROOT_PREFIX)]
    except OSError:
        return removed
    for root in candidates:
        try:
            tag = (root / OWNER_FILE).read_text().strip()
            pid = int(tag.split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if _owner_tag(pid) != tag:
            _kill_recorded_kernels(root / "kernels")
            remove_tree(root)
            removed.append(root)
    return removed


async def _claimed_kernel(started: asyncio.Future[Kernel]) -> Kernel:
    """The ready kernel a new session claimed while it was still starting."""
    return await started


def _closed(obj: Session | SessionPool) -> bool:
    """``obj.closed`` read afresh (an await may have changed it)."""
    return obj.closed


def _record_chars(record: ExecutionRecord) -> int:
    return len(record.stdout) + len(record.stderr) + len(record.value_text)


def _count_record(session: Session, record: ExecutionRecord) -> None:
    """Bring ``session.record_chars`` up to date with ``record``'s texts.

    A record's texts change only inside its own ``_run``, and each change there is
    followed by this call before the next ``await`` (so before any other trim):
    wherever ``_trim_records`` runs, ``record_chars`` is the sum over the kept
    records, as summing them there would give. A record already forgotten (trimmed,
    or replaced by a new one with its operation-id) is no longer counted.
    """
    if session.executions.get(record.id) is record:
        chars = _record_chars(record)
        session.record_chars += chars - record.counted
        record.counted = chars


def _trim_records(session: Session) -> None:
    """Forget the oldest records beyond MAX_EXECUTION_RECORDS or, together,
    MAX_EXECUTION_RECORD_CHARS characters (the newest is always kept)."""
    records = session.executions
    while len(records) > MAX_EXECUTION_RECORDS:
        _, oldest = records.popitem(last=False)
        session.record_chars -= oldest.counted
    while session.record_chars > MAX_EXECUTION_RECORD_CHARS and len(records) > 1:
        _, oldest = records.popitem(last=False)
        session.record_chars -= oldest.counted


def _join(*parts: str) -> str:
    out = ""
    for part in parts:
        if not part:
            continue
        if out and not out.endswith("\n"):
            out += "\n"
        out += part
    return out
