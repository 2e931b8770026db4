"""One Node.js process per session: the local pool's stand-in for iJavaScript.

The process runs ``harness.js`` (next to this file).  Commands and results
travel as newline-delimited JSON on a dedicated socket and pipe (never on stdout);
the harness captures console and ``process.stdout``/``stderr`` writes per
execution, and this side also reads the child's real fd 1 and fd 2 so that
anything written straight to them is collected too.  See ``docs/kernel.md``
for the behaviour and the choices made.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from repl.local import sandbox as os_sandbox
from repl.local.node import NodeRuntime, find_node
from repl.local.procfs import host_pid_of, process_tag, tree_usage
from repl.local.settings import DEFAULT_OUTPUT_CAP, PoolSettings

HARNESS = Path(__file__).with_name("harness.js")

DEFAULT_OUTPUT_LIMIT = DEFAULT_OUTPUT_CAP  # characters per stream (and for the value)
START_TIMEOUT = 30.0  # seconds for a kernel to report ready
SANDBOX_SETUP_ATTEMPTS = 6  # bwrap set-up failures tried again (0.05 s, then doubling)
TIMEOUT_GRACE = 1.0  # extra seconds before a kernel that does not answer is killed
# Seconds between two samples of a kernel's memory and CPU (always, idle or not):
# a kernel growing 1 GiB/s is stopped within ~50 MiB of its limit.
RSS_POLL_INTERVAL = 0.05
# An idle kernel's CPU allowance refills at this share of one core (see
# PoolSettings.idle_cpu_seconds for the burst it may use).
IDLE_CPU_SHARE = 0.1
# Resident memory allowed beyond memory_mb before the watchdog stops a kernel: Node
# itself (~40 MiB, mostly the shared binary), V8's young generation and code space.
# Measured: a kernel whose heap hits --max-old-space-size=M peaks at M + 60..85 MiB,
# so heap exhaustion is reported as such, and other memory is stopped soon after.
RSS_HEADROOM_MB = 96

AZURE_TIMEOUT_TEXT = "Request timed out waiting for code execution to complete"
AZURE_ABORTED_TEXT = "Execution aborted"

_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


@dataclass
class KernelResult:
    status: str  # "ok" | "error" | "timeout" | "died"
    stdout: str
    stderr: str
    value_text: str  # util.inspect text, "" for undefined
    value: Any  # value_text parsed as JSON when valid JSON, else value_text
    duration_ms: float
    state_lost: bool  # the kernel is gone; the next request starts fresh


class KernelStartError(RuntimeError):
    """The Node process did not come up (the message carries its stderr)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def value_from_text(text: str) -> Any:
    """``text`` parsed as JSON when it is valid JSON (NaN/Infinity are not), else ``text``."""
    if not text:
        return text
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def truncation_marker(dropped: int, limit: int) -> str:
    return f"\n[output truncated: {dropped} more characters not shown (limit {limit} characters)]\n"


def _cap(text: str, dropped: int, limit: int) -> str:
    if len(text) > limit:
        dropped += len(text) - limit
        text = text[:limit]
    if dropped:
        text += truncation_marker(dropped, limit)
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")


RESULT_PIPE_BYTES = 1 << 20  # the results pipe's buffer, and one read of it
RAW_FIELDS = frozenset({"stdout", "stderr", "value", "error"})  # texts a result may send after its line


class _RawTail:
    """The raw UTF-8 texts announced by a result's line (``raw``: [[field, bytes],
    ...]), read straight into one buffer of the announced size."""

    __slots__ = ("msg", "fields", "buf", "filled")

    def __init__(self, msg: dict[str, Any], fields: list[tuple[str, int]]) -> None:
        self.msg = msg
        self.fields = fields
        self.buf = bytearray(sum(n for _, n in fields))
        self.filled = 0

    @property
    def complete(self) -> bool:
        return self.filled == len(self.buf)

    def feed(self, view: memoryview, start: int) -> int:
        """Take what it still needs from ``view[start:]``; the offset after it."""
        n = min(len(self.buf) - self.filled, len(view) - start)
        self.buf[self.filled:self.filled + n] = view[start:start + n]
        self.filled += n
        return start + n

    def message(self) -> dict[str, Any]:
        """The message with its texts decoded (the buffer is freed first thing after)."""
        msg, off = self.msg, 0
        with memoryview(self.buf) as view:
            for field, n in self.fields:
                msg[field] = str(view[off:off + n], "utf-8", "replace")
                off += n
        self.buf = bytearray()
        return msg


def _raw_fields(announced: Any, cap: int) -> list[tuple[str, int]] | None:
    """The (field, bytes) pairs a result's ``raw`` announces, or None when they are
    not a short list of distinct known fields with sizes within ``cap`` in all."""
    if not isinstance(announced, list) or len(announced) > len(RAW_FIELDS):
        return None
    fields: list[tuple[str, int]] = []
    for item in announced:
        if not (isinstance(item, list) and len(item) == 2):
            return None
        field, n = item
        if field not in RAW_FIELDS or type(n) is not int or n < 0 or any(f == field for f, _ in fields):
            return None
        fields.append((field, n))
    return fields if sum(n for _, n in fields) <= cap else None


def _widen_pipe(fd: int) -> None:
    """Give a pipe a 1 MiB buffer (Linux; an unprivileged process may go up to
    /proc/sys/fs/pipe-max-size, 1 MiB by default) instead of 64 KiB. Best
    effort: elsewhere, or refused, the pipe keeps its size."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, setsize, RESULT_PIPE_BYTES)


def _well_formed(s: str) -> str:
    """``s`` with lone surrogates replaced; ``s`` itself (no copy) when it has none."""
    if s.isascii() or not _SURROGATE.search(s):
        return s
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@lru_cache(maxsize=1)
def _unshare_prefix() -> tuple[str, ...] | None:
    """A command prefix that gives the kernel an empty network namespace, if the platform allows."""
    import shutil

    exe = shutil.which("unshare")
    if not exe:
        return None
    candidates: list[tuple[str, ...]] = [(exe, "--net", "--")] if os.geteuid() == 0 else []
    candidates.append((exe, "--map-root-user", "--net", "--"))
    for prefix in candidates:
        try:
            ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            ip, sh = shutil.which("ip"), shutil.which("sh")
            if ip and sh:
                # bring the namespace's own loopback up, then become node (same pid)
                script = f"{shlex.quote(ip)} link set lo up >/dev/null 2>&1; exec \"$@\""
                return (*prefix, sh, "-c", script, "sh")
            return prefix
    return None


def network_isolation_available() -> bool:
    return _unshare_prefix() is not None


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


class _TextBuffer:
    """Text read from the child's fd 1 or 2: kept up to ``limit`` characters, the rest counted."""

    __slots__ = ("parts", "size", "dropped", "limit")

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.limit = limit

    def add(self, text: str, dropped: int = 0) -> None:
        self.dropped += dropped
        room = self.limit - self.size
        if len(text) > room:
            self.dropped += len(text) - max(room, 0)
            text = text[: max(room, 0)]
        if text:
            self.parts.append(text)
            self.size += len(text)

    def take(self) -> tuple[str, int]:
        text, dropped = "".join(self.parts), self.dropped
        self.parts, self.size, self.dropped = [], 0, 0
        return text, dropped


@dataclass
class _Execution:
    id: int
    future: asyncio.Future[dict[str, Any]]
    limit: int
    fd_out: _TextBuffer = field(init=False)
    fd_err: _TextBuffer = field(init=False)

    def __post_init__(self) -> None:
        self.fd_out = _TextBuffer(self.limit)
        self.fd_err = _TextBuffer(self.limit)


class Kernel:
    """A session's Node.js process (see module docstring)."""

    def __init__(
        self, *, workdir: Path, settings: PoolSettings, node: NodeRuntime, state_dir: Path | None = None
    ) -> None:
        self.workdir = workdir
        self.settings = settings
        self.node = node
        # The pool's own directory: the kernel's temporary directory and a record of
        # its process live there, for the sweep after a pool that was killed.
        self.state_dir = state_dir
        self.pid = 0
        self.network_isolated = False
        self.sandboxed = False  # Node's permission model (the fallback)
        self.os_sandboxed = False  # bubblewrap
        self._sandbox: os_sandbox.BwrapSandbox | None = None
        self._tag_file: Path | None = None
        self.output_cap = max(1, int(settings.output_cap))
        self.boot_ms = 0.0
        self.tmpdir: Path | None = None  # the kernel's own os.tmpdir(), removed with it
        self._teardown_done: asyncio.Future[None] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fds: dict[str, int] = {}
        self._cmd_fd = -1
        self._outbox = bytearray()
        self._dead = False
        self._dead_event = asyncio.Event()
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._exec: _Execution | None = None
        # fd 1/2 text that arrived while no execution ran: it goes to the next one
        self._pending_out = _TextBuffer(self.output_cap)
        self._pending_err = _TextBuffer(self.output_cap)
        # Characters of one result message at most: three capped texts, each char up
        # to 6 characters of JSON (\\uXXXX), plus the error text; junk beyond it
        # (no newline in sight) stops the kernel.
        self.result_pipe_cap = 24 * self.output_cap + (1 << 20)
        # The results pipe's unfinished line, as bytes (a newline byte never
        # occurs inside a UTF-8 sequence, so lines are split before decoding).
        self._res_buf = bytearray()
        self._raw: _RawTail | None = None  # a result whose raw texts are still arriving
        self._framing_lost = False  # a line announced raw texts that no result can have
        self._decoders = {
            "out": codecs.getincrementaldecoder("utf-8")("replace"),
            "err": codecs.getincrementaldecoder("utf-8")("replace"),
        }
        self._exit_msg: dict[str, Any] | None = None
        self._kill_reason: str | None = None
        self._returncode: int | None = None
        self._lock = asyncio.Lock()
        self._seq = 0
        self._rss_handle: asyncio.TimerHandle | None = None
        self._cpu_seen: float | None = None  # CPU seconds of the tree at the last sample
        self._idle_cpu_left = float(settings.idle_cpu_seconds)
        self._sampled_at = 0.0

    # ------------------------------------------------------------------ start
    @classmethod
    async def start(cls, *, workdir: Path, settings: PoolSettings, state_dir: Path | None = None) -> Kernel:
        loop = asyncio.get_running_loop()
        # These probe with a subprocess the first time (then cached): not on the loop.
        node = await loop.run_in_executor(None, find_node)
        bwrap = None
        if settings.sandbox and settings.os_sandbox:
            bwrap = (await loop.run_in_executor(None, os_sandbox.bwrap_status))[0]
            if bwrap and settings.egress == "enabled":
                await loop.run_in_executor(None, os_sandbox.slirp_status)
        if not bwrap:
            if settings.egress == "disabled":
                await loop.run_in_executor(None, _unshare_prefix)
            await loop.run_in_executor(None, _pdeathsig_prefix)
        # The directory must exist: it is not created here, so a session directory
        # removed while its kernel was starting (DELETE /session) stays removed.
        workdir = Path(workdir).resolve()
        if not workdir.is_dir():
            raise KernelStartError(f"the session directory {workdir} does not exist")
        for attempt in range(SANDBOX_SETUP_ATTEMPTS):
            kernel = cls(workdir=workdir, settings=settings, node=node, state_dir=state_dir)
            try:
                await kernel._spawn()
            except KernelStartError as exc:
                # bwrap's own set-up fails now and then under load (seen in gVisor:
                # "loopback: Failed RTM_NEWADDR: No child processes"); such a failure
                # says "bwrap:" and is tried again, a little later each time.
                if attempt + 1 < SANDBOX_SETUP_ATTEMPTS and kernel.os_sandboxed and "\nbwrap: " in str(exc):
                    await asyncio.sleep(0.05 * 2**attempt)
                    continue
                raise
            return kernel
        raise AssertionError("unreachable")

    def _command(self, cmd_fd: int, res_fd: int) -> list[str]:
        s = self.settings
        bwrap = os_sandbox.bwrap_status()[0] if s.sandbox and s.os_sandbox else None
        if bwrap:
            assert self.tmpdir is not None
            self._sandbox = os_sandbox.BwrapSandbox(
                bwrap, settings=s, node_path=self.node.path, harness=HARNESS,
                workdir=self.workdir, tmpdir=self.tmpdir,
            )
            self.os_sandboxed = True
            self.network_isolated = True
            options: dict[str, object] = {"egress": s.egress, "isolated": True, "tmpdir": None, "sandboxed": False}
            return self._sandbox.command(
                [f"--max-old-space-size={max(16, int(s.memory_mb))}"],
                [str(cmd_fd), str(res_fd), os_sandbox.MNT, json.dumps(options)],
            )
        args: list[str] = list(_pdeathsig_prefix())
        if s.egress == "disabled" and os.environ.get("ACAJS_KERNEL_NETNS", "1") != "0":
            prefix = _unshare_prefix()
            if prefix:
                args += prefix
                self.network_isolated = True
        args.append(self.node.path)
        args.append(f"--max-old-space-size={max(16, int(s.memory_mb))}")
        flag = self.node.permission_flag if s.sandbox else None
        if flag:
            self.sandboxed = True
            args += [
                flag,
                f"--allow-fs-read={self.workdir}",
                f"--allow-fs-read={HARNESS}",
                f"--allow-fs-write={self.workdir}",
            ]
            if self.tmpdir is not None:
                args += [f"--allow-fs-read={self.tmpdir}", f"--allow-fs-write={self.tmpdir}"]
            if self.node.has_disable_warning:
                args.append("--disable-warning=ExperimentalWarning")
        options = {
            "egress": s.egress,
            "isolated": self.network_isolated,
            "tmpdir": str(self.tmpdir) if self.tmpdir is not None else None,
            "sandboxed": self.sandboxed,
        }
        args += [str(HARNESS), str(cmd_fd), str(res_fd), str(self.workdir), json.dumps(options)]
        return args

    def _env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.setdefault("LANG", "C.UTF-8")
        if self._sandbox is not None:
            env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
            env["HOME"] = os_sandbox.MNT
            env["TMPDIR"] = env["TMP"] = env["TEMP"] = "/tmp"
            return env
        env["HOME"] = str(self.workdir)
        if self.tmpdir is not None:
            env["TMPDIR"] = env["TMP"] = env["TEMP"] = str(self.tmpdir)
        return env

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        tmp_base = None
        if self.state_dir is not None:
            tmp_base = self.state_dir / "tmp"
            tmp_base.mkdir(mode=0o711, exist_ok=True)
        self.tmpdir = Path(tempfile.mkdtemp(prefix="acajs-kernel-tmp-", dir=tmp_base)).resolve()
        # The command channel is a Unix socket: the harness makes it Node's IPC channel
        # (nel's server gets its requests that way, and stacks show it).
        cmd_a, cmd_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cmd_r, cmd_w = cmd_b.detach(), cmd_a.detach()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        _widen_pipe(res_w)  # a large result crosses in fewer wake-ups and reads
        child_fds = (cmd_r, res_w, out_w, err_w)
        try:
            command = self._command(cmd_r, res_w)
            extra_fds: tuple[int, ...] = ()
            if self._sandbox is not None:
                extra_fds = tuple(self._sandbox.pass_fds)
                uid = self._sandbox.uid
                if uid is not None:  # root: the kernel runs as nobody and owns its directories
                    os.chown(self.tmpdir, uid, os_sandbox.SANDBOX_GID)
                    await loop.run_in_executor(None, _own_workdir, self.workdir, uid)
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
                pass_fds=(cmd_r, res_w, *extra_fds),
                cwd=self.workdir if self._sandbox is None else "/",
                env=self._env(),
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            for fd in (*child_fds, cmd_w, res_r, out_r, err_r):
                os.close(fd)
            if self._sandbox is not None:
                self._sandbox.close()
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            raise
        for fd in child_fds:
            os.close(fd)
        if self._sandbox is not None:
            self._sandbox.spawned()
        self.pid = self._proc.pid
        self._record_process()
        for fd in (cmd_w, res_r, out_r, err_r):
            os.set_blocking(fd, False)
        self._cmd_fd = cmd_w
        self._fds = {"res": res_r, "out": out_r, "err": err_r}
        self._ready = loop.create_future()
        # Whoever gives up waiting on it (a cancelled or timed-out start), its outcome
        # counts as seen: a death before "ready" must never surface later as
        # "Future exception was never retrieved".
        self._ready.add_done_callback(_mark_retrieved)
        loop.add_reader(res_r, self._on_res)
        loop.add_reader(out_r, self._on_fd, "out")
        loop.add_reader(err_r, self._on_fd, "err")
        try:
            pidfd = os.pidfd_open(self.pid) if self.use_pidfd else -1
        except (AttributeError, OSError):
            pidfd = -1
        if pidfd >= 0:
            self._fds["pid"] = pidfd
            loop.add_reader(pidfd, self._on_exit)
        self._start_watch()
        try:
            if self._sandbox is not None:
                await asyncio.wait_for(self._sandbox.start_network(), START_TIMEOUT)
            await asyncio.wait_for(asyncio.shield(self._ready), START_TIMEOUT)
        except BaseException as exc:
            await self.kill()
            text = (self._pending_err.take()[0] + str((self._exit_msg or {}).get("stderr", ""))).strip()
            if isinstance(exc, (asyncio.TimeoutError, KernelStartError, RuntimeError)):
                reason = str(exc) or f"no answer within {START_TIMEOUT:.0f} s"
                raise KernelStartError(
                    f"Node.js kernel ({self.node.path} {self.node.version_text}) did not start: "
                    f"{reason}" + (f"\n{text}" if text else "")
                ) from None
            raise
        ready = self._ready.result()
        self.boot_ms = float(ready.get("boot_ms", 0.0))  # Node's start-up until the harness was ready
        # Synchronous code is stopped by a SIGINT from here when the harness has Node's
        # SIGINT watchdog (cheaper than vm's per-call timeout thread) and this side can
        # reach the Node process; otherwise the harness uses vm's timeout.
        if ready.get("sigint"):
            self._find_interrupt_target(ready.get("pid"))
        # Output printed while starting (none expected) is not the first execution's.
        self._pending_out.take()
        self._pending_err.take()

    # ------------------------------------------------------------------ readers
    def _on_fd(self, name: str) -> None:
        self._read_fd_once(name)

    def _drain_fd(self, name: str) -> None:
        while self._read_fd_once(name):
            pass

    def _read_fd_once(self, name: str) -> bool:
        """Route what one read of the child's stdout/stderr pipe gives.

        False when nothing more can be read now (empty, or closed at EOF).
        """
        fd = self._fds.get(name)
        if fd is None:
            return False
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self._close_fd(name)
            text = self._decoders[name].decode(b"", final=True)
        else:
            text = self._decoders[name].decode(data)
        if text:
            self._route(name, text)
        return bool(data)

    def _route(self, name: str, text: str) -> None:
        if name == "err" and "JavaScript heap out of memory" in text:
            self._heap_oom = True
        ex = self._exec
        if ex is not None:
            (ex.fd_out if name == "out" else ex.fd_err).add(text)
        else:
            (self._pending_out if name == "out" else self._pending_err).add(text)

    def _on_res(self) -> None:
        fd = self._fds.get("res")
        if fd is None:
            return
        while True:
            raw = self._raw
            try:
                if raw is not None:  # straight into the result's buffer, no copy in between
                    with memoryview(raw.buf) as view:
                        wanted = len(raw.buf) - raw.filled
                        got = os.readv(fd, [view[raw.filled:]])
                    data = b""
                else:
                    wanted = RESULT_PIPE_BYTES
                    data = os.read(fd, RESULT_PIPE_BYTES)
                    got = len(data)
            except BlockingIOError:
                break
            except OSError:
                got = 0
            if not got:
                self._raw = None
                self._close_fd("res")
                if "pid" not in self._fds and not self._dead and self._proc is not None:
                    # No pidfd: the results pipe closing is how the death shows.
                    assert self._loop is not None
                    waited = self._loop.run_in_executor(None, self._proc.wait)
                    waited.add_done_callback(lambda _f: self._on_exit())
                break
            last = got < wanted  # the pipe held less than was asked for: drained
            if raw is not None:
                raw.filled += got
                if raw.complete:
                    self._raw = None
                    self._on_message(raw.message())
            else:
                self._take_messages(data)
                del data
            if self._junk():
                break
            if last:
                break

    def _junk(self) -> bool:
        """Stop the kernel on junk in the results pipe (no newline in sight, or a
        result announcing more raw text than a result can hold); True if so."""
        if len(self._res_buf) <= self.result_pipe_cap and not self._framing_lost:
            return False
        self._res_buf = bytearray()
        self._raw = None
        self._kill_reason = self._kill_reason or "pipe"
        self._signal_group()
        self._close_fd("res")
        return True

    def _take_messages(self, data: bytes) -> None:
        """Parse the lines ``data`` completes. Only the new bytes are searched for
        a newline (linear in the output). A long line grows in one buffer and is
        decoded once, and the buffer is freed before the text is parsed: with
        the parsed message, at most two copies of an output exist at a time, and
        no freed pieces are left behind in the allocator's heap. The bytes after
        a line that announces raw texts are those texts (``_RawTail``)."""
        view = memoryview(data)
        start = 0
        nl = data.find(b"\n")
        while nl >= 0:
            if self._res_buf:
                self._res_buf += view[start:nl]
                line = self._res_buf.decode("utf-8", "replace")
                self._res_buf = bytearray()
            else:
                line = str(view[start:nl], "utf-8", "replace")
            start = nl + 1
            self._parse_message(line)
            del line
            if self._framing_lost:
                # Nothing after this line can be told apart from texts: no later line
                # (the execution's real result, read in the same chunk) is believed.
                view.release()
                return
            raw = self._raw
            if raw is not None:
                start = raw.feed(view, start)
                if not raw.complete:
                    break  # the rest of the texts comes in the next reads
                self._raw = None
                self._on_message(raw.message())
            nl = data.find(b"\n", start)
        if start < len(data) and self._raw is None:
            self._res_buf += view[start:]
        view.release()

    def _parse_message(self, line: str) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        if "raw" in msg:
            fields = _raw_fields(msg.pop("raw"), self.result_pipe_cap)
            if fields is None:
                self._framing_lost = True  # what follows cannot be told apart from texts
                return
            if fields:
                self._raw = _RawTail(msg, fields)
                return
        self._on_message(msg)

    def _on_message(self, msg: dict[str, Any]) -> None:
        ev = msg.get("ev")
        if ev == "ready":
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(msg)
        elif ev == "done":
            ex = self._exec
            if ex is not None and msg.get("id") == ex.id and not ex.future.done():
                # Whatever the child wrote to fd 1/2 before answering is in the pipes now.
                self._drain_fd("out")
                self._drain_fd("err")
                ex.future.set_result(msg)
        elif ev == "exit":
            self._exit_msg = msg

    def _close_fd(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is None:
            return
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)

    def _on_exit(self) -> None:
        """The process is gone (pidfd readable): collect what it left, reap it."""
        if self._dead:
            return
        self._on_res()
        self._drain_fd("out")
        self._drain_fd("err")
        self._mark_dead()

    def _mark_dead(self, *, wait: bool = True) -> None:
        if self._dead:
            return
        self._dead = True
        if self._proc is not None:
            try:
                self._returncode = self._proc.wait(timeout=5) if wait else self._proc.poll()
            except subprocess.TimeoutExpired:
                self._returncode = None
        self._stop_rss_watch()
        if self._tag_file is not None:
            with contextlib.suppress(OSError):
                self._tag_file.unlink()
        for name in list(self._fds):
            self._close_fd(name)
        if self._cmd_fd >= 0:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_writer(self._cmd_fd)
            with contextlib.suppress(OSError):
                os.close(self._cmd_fd)
            self._cmd_fd = -1
        if not wait:
            self._teardown(wait=False)
        else:
            # In a worker thread: slirp4netns takes ~30 ms to exit once its exit fd
            # closes, which on the pool's loop stalled every other session's requests.
            try:
                if self._loop is None or self._loop.is_closed():
                    raise RuntimeError("no event loop")
                self._teardown_done = self._loop.run_in_executor(None, self._teardown)
            except RuntimeError:  # no loop or executor any more: do it now
                self._teardown()
        self._dead_event.set()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(KernelStartError(self._death_reason()))
        ex = self._exec
        if ex is not None and not ex.future.done():
            ex.future.set_result({"ev": "died"})

    # ------------------------------------------------------------------ writing
    def _send(self, obj: dict[str, Any]) -> None:
        self._outbox += (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode(
            "utf-8", "surrogatepass"
        )
        self._flush()

    def _flush(self) -> None:
        if self._cmd_fd < 0:
            self._outbox.clear()
            return
        while self._outbox:
            try:
                n = os.write(self._cmd_fd, self._outbox)
            except BlockingIOError:
                break
            except OSError:
                self._outbox.clear()
                return
            del self._outbox[:n]
        assert self._loop is not None
        if self._outbox:
            self._loop.add_writer(self._cmd_fd, self._flush)
        else:
            with contextlib.suppress(Exception):
                self._loop.remove_writer(self._cmd_fd)

    # ------------------------------------------------------------------ public API
    @property
    def alive(self) -> bool:
        if self._dead:
            return False
        if "pid" in self._fds:
            return True  # the pidfd's reader marks the death (no waitpid per check)
        if self._proc is not None and self._proc.poll() is not None:
            # no pidfd on this platform: notice the death here
            self._on_exit_without_pidfd()
            return False
        return True

    def _on_exit_without_pidfd(self) -> None:
        if "pid" not in self._fds and not self._dead:
            self._on_exit()

    async def wait(self) -> int | None:
        """Wait until the process has ended (on its own or killed); its return code."""
        await self._dead_event.wait()
        return self._returncode

    def rss_bytes(self) -> int | None:
        """Resident memory of the kernel's whole process tree (what the watchdog checks)."""
        if self._dead or not self.pid:
            return None
        usage = tree_usage(self.pid)
        return usage.rss if usage is not None else None

    def memory_info(self) -> dict[str, int] | None:
        """Resident memory in bytes, summed over the kernel's processes (with the OS
        sandbox: bwrap's two small processes, Node, its children, and the network
        stack): ``rss`` (VmRSS), ``anon`` (RssAnon: the kernel's own memory) and
        ``pss`` (proportional set size: shared pages of the node binary are divided
        among the processes that map them). None once the kernel is gone."""
        if self._dead or not self.pid:
            return None
        pids = _tree_pids(self.pid)
        if self._sandbox is not None and self._sandbox.slirp_pid:
            pids.append(self._sandbox.slirp_pid)
        info: dict[str, int] = {}
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status", "rb") as f:
                    for line in f:
                        if line.startswith(b"VmRSS:"):
                            info["rss"] = info.get("rss", 0) + int(line.split()[1]) * 1024
                        elif line.startswith(b"RssAnon:"):
                            info["anon"] = info.get("anon", 0) + int(line.split()[1]) * 1024
                with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                    for line in f:
                        if line.startswith(b"Pss:"):
                            info["pss"] = info.get("pss", 0) + int(line.split()[1]) * 1024
            except (OSError, ValueError, IndexError):
                continue
        if info:
            info["processes"] = len(pids)
        return info or None

    async def adopt_files(self) -> None:
        """Give the OS sandbox's kernel (uid 65534, when the pool runs as root) what
        the pool itself created in the session directory (uploads, directories), so
        session code can change them as on the service.  No-op otherwise."""
        sandbox = self._sandbox
        if sandbox is None or sandbox.uid is None:
            return
        await asyncio.to_thread(os_sandbox.adopt_tree, self.workdir, sandbox.uid, os_sandbox.SANDBOX_GID)

    @property
    def rss_headroom_mb(self) -> int:
        return RSS_HEADROOM_MB + int(self.settings.memory_mb) // 8

    @property
    def rss_limit_bytes(self) -> int:
        return (int(self.settings.memory_mb) + self.rss_headroom_mb) * 1024 * 1024

    async def execute(self, code: str, *, timeout: float, output_limit: int | None = None) -> KernelResult:
        async with self._lock:
            return await self._execute(code, timeout=timeout, output_limit=output_limit)

    async def _execute(self, code: str, *, timeout: float, output_limit: int | None) -> KernelResult:
        # outputStreamsMaxLength may lower the pool's cap, never raise it
        limit = min(output_limit, self.output_cap) if output_limit and output_limit > 0 else self.output_cap
        if not self.alive:
            # Output the kernel produced after its last execution, up to its end, is shown once.
            late = self._exit_msg if self._exit_msg and self._exit_msg.get("id") is None else {}
            out_text, out_dropped = self._pending_out.take()
            err_text, err_dropped = self._pending_err.take()
            stdout = _cap(str(late.pop("stdout", "")) + out_text, out_dropped, limit)
            stderr = _cap(str(late.pop("stderr", "")) + err_text, err_dropped, limit)
            return KernelResult(
                status="died",
                stdout=_well_formed(stdout),
                stderr=_well_formed(stderr)
                + f"{AZURE_ABORTED_TEXT}: the session's kernel had already ended "
                f"({self._death_reason()}). The session's state is lost.\n",
                value_text="",
                value="",
                duration_ms=0.0,
                state_lost=True,
            )
        assert self._loop is not None
        self._seq += 1
        ex = _Execution(self._seq, self._loop.create_future(), limit)
        ex.fd_out.add(*self._pending_out.take())
        ex.fd_err.add(*self._pending_err.take())
        self._exec = ex
        timeout = max(0.001, float(timeout))
        t0 = time.perf_counter()
        command: dict[str, Any] = {"op": "run", "id": ex.id, "code": code, "timeout": timeout * 1000, "limit": limit}
        if self.interrupt_by_signal:
            command["interrupt"] = "sigint"
            self._interrupt_handle = self._loop.call_later(timeout, self._interrupt, ex)
        self._send(command)
        # The future is awaited directly, a timer settling it if the kernel never
        # answers: `wait_for(shield(...))` cost two more turns of the loop (each
        # future's callbacks run on the next turn) in every execution.
        unresponsive = self._loop.call_later(timeout + TIMEOUT_GRACE, _settle, ex.future, {"ev": "unresponsive"})
        try:
            msg = await ex.future
        finally:
            unresponsive.cancel()
            if self._interrupt_handle is not None:
                self._interrupt_handle.cancel()
                self._interrupt_handle = None
            if self._exec is ex:
                self._exec = None
                self._idle_cpu_left = float(self.settings.idle_cpu_seconds)
        wall_ms = (time.perf_counter() - t0) * 1000
        return await self._result(msg, ex, limit, timeout, wall_ms)

    async def _result(
        self, msg: dict[str, Any], ex: _Execution, limit: int, timeout: float, wall_ms: float
    ) -> KernelResult:
        ev = msg.get("ev")
        fd_out, fd_out_dropped = ex.fd_out.take()
        fd_err, fd_err_dropped = ex.fd_err.take()
        if ev == "done":
            status = msg.get("status", "error")
            stdout = _cap(msg.get("stdout", "") + fd_out, int(msg.get("stdout_dropped", 0)) + fd_out_dropped, limit)
            stderr = _cap(msg.get("stderr", "") + fd_err, int(msg.get("stderr_dropped", 0)) + fd_err_dropped, limit)
            error = msg.get("error") or ""
            if error:
                stderr += _cap(error, 0, limit) + "\n"
            value_text = _cap(msg.get("value", ""), int(msg.get("value_dropped", 0)), limit)
            duration = float(msg.get("ms", wall_ms))
            state_lost = False
            if status == "timeout":
                value_text = ""
                if msg.get("timeout") == "sync":
                    stderr += (
                        f"{AZURE_TIMEOUT_TEXT}: the code ran for more than {timeout:g} s "
                        "and was stopped. The session's state is kept.\n"
                    )
                else:
                    await self._kill("timeout")
                    state_lost = True
                    stderr += (
                        f"{AZURE_TIMEOUT_TEXT}: the execution did not finish within {timeout:g} s "
                        "(it was still waiting for $$.done()/$$.sendResult() or a promise), so the "
                        "session's kernel was stopped. The session's state is lost.\n"
                    )
            return KernelResult(
                status=status,
                stdout=_well_formed(stdout),
                stderr=_well_formed(stderr),
                value_text=_well_formed(value_text),
                # a value sent before or after an error ($$.sendError(e, true); $$.done(v)) is kept, as nel reports it
                value=value_from_text(value_text) if status in ("ok", "error") else "",
                duration_ms=duration,
                state_lost=state_lost,
            )
        if ev == "unresponsive":
            await self._kill("timeout")
            ev = "timed-out"
        else:
            await self._dead_event.wait()
        exit_msg = self._exit_msg or {}
        if exit_msg.get("id") not in (None, ex.id):
            exit_msg = {}
        stdout = _cap(str(exit_msg.pop("stdout", "")) + fd_out, fd_out_dropped, limit)
        stderr_raw = str(exit_msg.pop("stderr", "")) + fd_err
        if ev == "timed-out":
            stderr = _cap(stderr_raw, fd_err_dropped, limit)
            stderr += (
                f"{AZURE_TIMEOUT_TEXT}: the execution did not finish within {timeout:g} s and the "
                "kernel did not respond (its event loop was blocked), so it was stopped. "
                "The session's state is lost.\n"
            )
            status = "timeout"
        else:
            stderr_raw, fatal = _strip_v8_dump(stderr_raw)
            stderr = _cap(stderr_raw, fd_err_dropped, limit)
            if fatal and not stderr.endswith(fatal + "\n"):
                stderr += fatal + "\n"
            stderr += f"{AZURE_ABORTED_TEXT}: {self._death_reason()}. The session's state is lost.\n"
            status = "died"
        return KernelResult(
            status=status,
            stdout=_well_formed(stdout),
            stderr=_well_formed(stderr),
            value_text="",
            value="",
            duration_ms=wall_ms,
            state_lost=True,
        )

    def death_reason(self) -> str:
        """Why the kernel ended (its process exit, or what the pool stopped it for)."""
        return self._death_reason()

    def _death_reason(self) -> str:
        if self._kill_reason == "memory":
            return (
                f"the kernel used more than {self.rss_limit_bytes // (1024 * 1024)} MiB of memory "
                f"(memory limit {self.settings.memory_mb} MB plus {self.rss_headroom_mb} MiB for Node "
                "itself) and was stopped"
            )
        if self._kill_reason == "idle_cpu":
            return (
                f"the kernel kept the CPU busy while no execution was running (more than "
                f"{self.settings.idle_cpu_seconds:g} s of CPU, beyond {IDLE_CPU_SHARE:.0%} of a core "
                "on average: a timer or callback in a loop) and was stopped"
            )
        if self._kill_reason == "pipe" and self._framing_lost:
            return "the kernel wrote a malformed result into its results pipe and was stopped"
        if self._kill_reason == "pipe":
            return (
                f"the kernel wrote more than {self.result_pipe_cap // (1024 * 1024)} Mi characters of "
                "unreadable data into its results pipe and was stopped"
            )
        if self._kill_reason == "timeout":
            return "the kernel was stopped after the execution timed out"
        if self._kill_reason == "killed":
            return "the kernel was stopped"
        if self._heap_oom:
            return (
                f"JavaScript heap out of memory (the heap limit is {self.settings.memory_mb} MB); "
                "the kernel was stopped"
            )
        rc = self._returncode
        if self._exit_msg is not None:
            return f"the code ended the kernel with process.exit({self._exit_msg.get('code', rc)})"
        if rc is None:
            return "the kernel ended"
        if rc > 128 and self.os_sandboxed:
            rc = -(rc - 128)  # bwrap reports a child killed by signal N as 128 + N
        if rc < 0:
            return f"the kernel crashed ({_signal_name(-rc)})"
        return f"the kernel exited with code {rc}"

    _heap_oom = False
    # Linux pidfds tell when the process ends; without them (older kernels, other
    # systems) the results pipe's end of file does.
    use_pidfd = hasattr(os, "pidfd_open")

    # The host pid of the Node process itself, when SIGINT may stop its scripts (above).
    _interrupt_pid: int | None = None

    @property
    def interrupt_by_signal(self) -> bool:
        return self._interrupt_pid is not None

    @property
    def interrupt_pid(self) -> int | None:
        """The host pid of the Node process a timeout's SIGINT goes to, if one does."""
        return self._interrupt_pid

    _interrupt_handle: asyncio.TimerHandle | None = None

    def _find_interrupt_target(self, ns_pid: object) -> None:
        """Which process a timeout's SIGINT goes to (``ns_pid``: Node's own pid, from
        the harness's ready message, sent before any code of a session ran).

        Without a pid namespace it is our child. Inside bwrap Node is a grandchild in
        a PID namespace of its own: it is found by its ``NSpid`` in bwrap's tree and
        signalled through a pidfd, so a pid reused after Node's death never gets it."""
        if not isinstance(ns_pid, int):
            return
        if ns_pid == self.pid and not self.os_sandboxed:
            self._interrupt_pid = self.pid
            return
        if not (self.os_sandboxed and self.use_pidfd and self.pid):
            return
        host = host_pid_of(self.pid, ns_pid)
        if host is None:
            return
        try:
            fd = os.pidfd_open(host)
        except OSError:
            return
        # Still the process found above (not a reused pid): the pidfd now pins it.
        if host_pid_of(self.pid, ns_pid) != host:
            os.close(fd)
            return
        self._fds["node"] = fd
        self._interrupt_pid = host

    def _send_interrupt(self) -> None:
        fd = self._fds.get("node")
        with contextlib.suppress(OSError):
            if fd is not None:
                signal.pidfd_send_signal(fd, signal.SIGINT)
            elif self._interrupt_pid:
                os.kill(self._interrupt_pid, signal.SIGINT)

    def _interrupt(self, ex: _Execution) -> None:
        """The timeout is up: SIGINT stops the execution's script if one still runs; again
        every 0.1 s while it does not answer (a script of the user's own that breaks on
        SIGINT and goes on takes the first one)."""
        self._interrupt_handle = None
        if self._exec is ex and not ex.future.done() and not self._dead and self._interrupt_pid:
            self._send_interrupt()
            assert self._loop is not None
            self._interrupt_handle = self._loop.call_later(0.1, self._interrupt, ex)

    # ------------------------------------------------------------------ memory and CPU watchdog
    def _start_watch(self) -> None:
        assert self._loop is not None
        self._sampled_at = time.monotonic()
        self._rss_handle = self._loop.call_later(RSS_POLL_INTERVAL, self._sample)

    def _stop_rss_watch(self) -> None:
        if self._rss_handle is not None:
            self._rss_handle.cancel()
            self._rss_handle = None

    def _sample(self) -> None:
        """One look at the kernel's process tree: stop it above the memory limit, or
        when, idle, it burns the CPU.  Runs every RSS_POLL_INTERVAL while it lives."""
        self._rss_handle = None
        if self._dead or not self.pid:
            return
        usage = tree_usage(self.pid)
        now = time.monotonic()
        if usage is not None:
            if usage.rss > self.rss_limit_bytes:
                self._kill_reason = self._kill_reason or "memory"
                self._signal_group()
                return
            if self._cpu_seen is not None and self._exec is None and self._ready is not None and self._ready.done():
                budget = float(self.settings.idle_cpu_seconds)
                self._idle_cpu_left = min(
                    budget, self._idle_cpu_left + IDLE_CPU_SHARE * (now - self._sampled_at)
                ) - max(0.0, usage.cpu - self._cpu_seen)
                if self._idle_cpu_left < 0:
                    self._kill_reason = self._kill_reason or "idle_cpu"
                    self._signal_group()
                    return
            self._cpu_seen = usage.cpu
        self._sampled_at = now
        if self._loop is not None and not self._loop.is_closed():
            self._rss_handle = self._loop.call_later(RSS_POLL_INTERVAL, self._sample)

    def _record_process(self) -> None:
        """Note the kernel's process in the pool's directory (for the sweep after a
        killed pool: see ``pool.remove_stale_roots``)."""
        if self.state_dir is None:
            return
        tag = process_tag(self.pid)
        if tag is None:
            return
        with contextlib.suppress(OSError):
            kernels = self.state_dir / "kernels"
            kernels.mkdir(mode=0o700, exist_ok=True)
            self._tag_file = kernels / str(self.pid)
            self._tag_file.write_text(tag)

    # ------------------------------------------------------------------ stopping
    def signal_kill(self) -> None:
        """SIGKILL to the kernel's process group now, without waiting for it to
        exit (``kill`` waits)."""
        self._signal_group()

    def _signal_group(self) -> None:
        if self._dead or not self.pid:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)

    async def _kill(self, reason: str) -> None:
        if self._dead:
            return
        self._kill_reason = self._kill_reason or reason
        self._signal_group()
        if "pid" in self._fds:
            try:
                await asyncio.wait_for(self._dead_event.wait(), 10)
            except TimeoutError:
                self._mark_dead()
        else:
            assert self._proc is not None
            await asyncio.get_running_loop().run_in_executor(None, self._proc.wait)
            self._on_exit()

    def _teardown(self, *, wait: bool = True) -> None:
        """What outlives the kernel's processes: its network stack, its temporary
        directory (``wait=False``: the network stack is SIGKILLed, not waited for)."""
        if self._sandbox is not None:
            self._sandbox.close(wait=wait)
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def abandon(self) -> None:
        """SIGKILL the kernel's process group (and its network stack) and let go of
        it without waiting for it to exit: for a one-shot pool, whose process exits
        next.  Nothing survives: the processes inside bwrap die with it (its
        ``--die-with-parent``, the PID namespace), and whatever was running on the
        kernel ends as if it died.  Its temporary directory is removed now."""
        self._kill_reason = self._kill_reason or "killed"
        self._signal_group()
        self._mark_dead(wait=False)

    async def kill(self) -> None:
        """Stop the process (and its process group); safe to call more than once.
        When it returns, the kernel's temporary directory and network stack are
        gone too."""
        await self._kill("killed")
        if self._teardown_done is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._teardown_done)


def _tree_pids(root: int) -> list[int]:
    from repl.local.procfs import children

    pids: list[int] = []
    stack = [root]
    while stack and len(pids) < 4096:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children(pid))
    return pids


def _own_workdir(workdir: Path, uid: int) -> None:
    os_sandbox.adopt_tree(workdir, uid, os_sandbox.SANDBOX_GID)


@lru_cache(maxsize=1)
def _pdeathsig_prefix() -> tuple[str, ...]:
    """``setpriv --pdeathsig KILL --``: without the OS sandbox, a kernel still dies
    with the pool (even one whose event loop is blocked, which never sees its
    command pipe close)."""
    exe = shutil.which("setpriv")
    if not exe or not sys.platform.startswith("linux"):
        return ()
    try:
        ok = subprocess.run([exe, "--pdeathsig", "KILL", "--", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return (exe, "--pdeathsig", "KILL", "--") if ok else ()


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _strip_v8_dump(text: str) -> tuple[str, str]:
    """Remove V8's out-of-memory dump from ``text``; return (text, the FATAL ERROR line)."""
    marker = text.find("<--- Last few GCs --->")
    fatal = ""
    for line in text.splitlines():
        if "FATAL ERROR:" in line:
            fatal = line.strip()
            break
    if marker >= 0:
        text = text[:marker].rstrip("\n")
        if text:
            text += "\n"
    return text, fatal
