"""Printing for the scriptable CLI, and the one place errors become exit codes."""

from __future__ import annotations

import asyncio
import atexit
import gc
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from repl.terminal_text import plain_text, safe_text

if TYPE_CHECKING:  # pragma: no cover
    from repl.api.models import Execution

EXIT_OK = 0
EXIT_CODE_FAILED = 1
EXIT_USAGE = 2
EXIT_SERVICE = 3

T = TypeVar("T")


class UsageError(Exception):
    """A command-line problem found after parsing (exit 2)."""


class OutputMode:
    """How this invocation prints: ``json`` (errors too, as one object on stdout)
    and ``raw`` (True: bytes as received, False: sanitised, None: sanitised only
    on a terminal)."""

    def __init__(self) -> None:
        self.json = False
        self.raw: bool | None = None

    def safe(self, stream: TextIO) -> bool:
        """Whether remote text written to ``stream`` goes through the sanitiser."""
        if self.raw is not None:
            return not self.raw
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False


mode = OutputMode()


def configure(args: Any) -> None:
    """Read ``--json`` and ``--raw-output``/``--safe-output`` from parsed arguments."""
    mode.json = bool(getattr(args, "json", False))
    output = getattr(args, "output", None)
    mode.raw = None if output is None else output == "raw"


def shown(text: str) -> str:
    """Remote text (a file name, a pool's answer) as it may be printed on stdout."""
    return plain_text(text) if mode.safe(sys.stdout) else text


def _write_all(stream: TextIO, text: str | bytes) -> None:
    """Write every byte of ``text`` or raise ``BrokenPipeError``.

    ``TextIOWrapper.write`` can drop the rest of a large write silently when the
    reader goes away mid-way (the kernel reports a short write, not EPIPE), so
    a closed pipe would end in exit 0; writing the bytes ourselves sees it.
    """
    if not text:
        return
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):  # a replaced stream (tests)
        if isinstance(text, bytes):
            stream.buffer.write(text)
        else:
            stream.write(text)
        stream.flush()
        return
    stream.flush()
    data = memoryview(text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape"))
    while data:
        n = os.write(fd, data[:1 << 20])
        data = data[n:]


def write_out(text: str) -> None:
    _write_all(sys.stdout, text)


def write_out_bytes(data: bytes) -> None:
    _write_all(sys.stdout, data)


def write_err(text: str) -> None:
    _write_all(sys.stderr, text)


# Stable names of what went wrong, for scripts reading ``--json`` errors.
_ERROR_CODES = {
    "AuthError": "unauthorized",
    "ForbiddenError": "forbidden",
    "MissingFileError": "no_such_file",
    "NotFoundError": "not_found",
    "PayloadTooLargeError": "payload_too_large",
    "CapacityError": "pool_full",
    "ServerError": "server_error",
    "BadResponseError": "bad_response",
    "ConnectError": "connection_failed",
    "RequestTimeout": "timeout",
    "SessionNotFoundError": "no_such_session",
    "BadRequestError": "bad_request",
    "ConfigError": "config",
    "UsageError": "usage",
}


def error_code(err: BaseException | str, exit_code: int) -> str:
    if isinstance(err, BaseException):
        for cls in type(err).__mro__:
            if cls.__name__ in _ERROR_CODES:
                return _ERROR_CODES[cls.__name__]
        if exit_code == EXIT_SERVICE:
            return "service"
    return {EXIT_USAGE: "usage", EXIT_SERVICE: "service", EXIT_CODE_FAILED: "failed"}.get(exit_code, "error")


def fail(err: BaseException | str, code: int, *, error: str | None = None) -> int:
    """Report one error and return ``code``: one line on stderr (never a traceback),
    or with ``--json`` one object on stdout: ``{"exit_code", "error": {"code",
    "message", "service_code", "request_id"}}``. The text goes through the
    sanitiser: a server's message cannot drive the terminal."""
    text = str(err).strip() or type(err).__name__
    text = plain_text(" ".join(line.strip() for line in text.splitlines() if line.strip()))
    if mode.json:
        detail: dict[str, Any] = {"code": error or error_code(err, code), "message": text}
        for attr, key in (("code", "service_code"), ("request_id", "request_id"), ("status_code", "http_status")):
            value = getattr(err, attr, None)
            if value is not None:
                detail[key] = value
        write_json({"exit_code": code, "error": detail})
        return code
    write_err(f"acajs-repl: {text}\n")
    return code


def note(text: str) -> None:
    """One ``acajs-repl: note: …`` line on stderr (also under --json: stdout stays one object)."""
    write_err(f"acajs-repl: note: {plain_text(text)}\n")


def run(settings: Any, body: Callable[[Any], Awaitable[int]]) -> int:
    """Open a connection, run ``body(connection)``, close it; map errors to exit codes."""
    from repl.connection import open_connection

    # The process exits after the command: the interpreter's last garbage
    # collection would walk every object the imports made (~20 ms) to find
    # nothing that matters (what the commands write is closed by `with`), so
    # everything is frozen out of it (atexit runs just before it).
    atexit.unregister(gc.freeze)  # (once, however often this runs in one process)
    atexit.register(gc.freeze)

    async def go() -> int:
        conn = await open_connection(settings, wait_ready=True, one_shot=True)  # one CLI command
        try:
            return await body(conn)
        finally:
            await conn.aclose()

    return guarded(lambda: asyncio.run(go()))


def guarded(fn: Callable[[], int]) -> int:
    from repl.config import ConfigError

    try:
        return fn()
    except UsageError as err:
        return fail(err, EXIT_USAGE)
    except ConfigError as err:
        return fail(err, EXIT_USAGE)
    except (KeyboardInterrupt, BrokenPipeError):
        raise  # main() handles both
    except Exception as err:  # noqa: BLE001 - the CLI never shows a traceback
        if _is_api_error(err):
            return fail(err, EXIT_SERVICE)
        if type(err).__name__ in ("NodeNotFound", "PoolStartError", "KernelStartError"):
            return fail(f"the embedded local pool cannot start: {err}", EXIT_SERVICE, error="pool_start")
        if os.environ.get("ACAJS_DEBUG"):
            raise
        return fail(f"unexpected error: {type(err).__name__}: {err} (set ACAJS_DEBUG=1 for a traceback)",
                    EXIT_CODE_FAILED, error="unexpected")


def _is_api_error(err: BaseException) -> bool:
    try:
        from repl.api.errors import ApiError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, ApiError)


_C1 = re.compile("[\x7f-\x9f\u2028\u2029]")


def write_json(data: Any) -> None:
    """One JSON object on one line. C0 controls are escaped by ``json`` itself;
    DEL, C1 controls and the line separators are escaped too, so the line is
    safe on a terminal and still the same JSON."""
    text = json.dumps(data, ensure_ascii=False, default=_json_default)
    text = _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    write_out(text + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


def print_execution(execution: Execution) -> None:
    """stdout to stdout, stderr to stderr, then the value (if any) on stdout;
    each sanitised when it goes to a terminal (see :class:`OutputMode`). What the
    pool cut is said on stderr."""
    safe_out, safe_err = mode.safe(sys.stdout), mode.safe(sys.stderr)
    stdout = safe_text(execution.stdout) if safe_out else execution.stdout
    stderr = safe_text(execution.stderr) if safe_err else execution.stderr
    value = safe_text(execution.value_text) if safe_out else execution.value_text
    if stdout:
        write_out(stdout)
    if stderr:
        write_err(stderr if stderr.endswith("\n") else stderr + "\n")
    if value:
        sep = "\n" if stdout and not stdout.endswith("\n") else ""
        write_out(sep + value + "\n")
    for text in execution.truncation_notes():
        note(text)
    status = execution.status.value
    if status != "succeeded" and not execution.stderr:
        write_err(f"acajs-repl: execution {status.replace('_', ' ')}\n")


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def fmt_time(dt: datetime | None) -> str:
    if dt is None:
        return "-"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{sign}{h}h{m:02d}m{s:02d}s"
    if m:
        return f"{sign}{m}m{s:02d}s"
    return f"{sign}{s}s"


def local_pool_note(conn: Any, settings: Any, what: str) -> None:
    """Warn when a command that needs a lasting session runs on a throwaway embedded pool."""
    if conn.pool is not None:
        note(f"no endpoint configured, so {what} ran on an embedded local pool that "
             "stops when this command exits; start `acajs-repl serve` and pass its --endpoint/--token "
             "to keep sessions across invocations")
