"""Printing for the scriptable CLI, and the one place errors become exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

EXIT_OK = 0
EXIT_CODE_FAILED = 1
EXIT_USAGE = 2
EXIT_SERVICE = 3

T = TypeVar("T")


class UsageError(Exception):
    """A command-line problem found after parsing (exit 2)."""


def fail(err: BaseException | str, code: int) -> int:
    """Print one line (never a traceback) to stderr and return ``code``."""
    text = str(err).strip() or type(err).__name__
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    print(f"acajs-repl: {text}", file=sys.stderr, flush=True)
    return code


def run(settings, body: Callable[[Any], Awaitable[int]]) -> int:
    """Open a connection, run ``body(connection)``, close it; map errors to exit codes."""
    from repl.connection import open_connection

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
        if type(err).__name__ in ("NodeNotFound", "PoolStartError"):
            return fail(f"the embedded local pool cannot start: {err}", EXIT_SERVICE)
        if os.environ.get("ACAJS_DEBUG"):
            raise
        return fail(f"unexpected error: {type(err).__name__}: {err} (set ACAJS_DEBUG=1 for a traceback)",
                    EXIT_CODE_FAILED)


def _is_api_error(err: BaseException) -> bool:
    try:
        from repl.api.errors import ApiError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, ApiError)


def write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


def print_execution(execution) -> None:
    """stdout to stdout, stderr to stderr, then the value (if any) on stdout."""
    out, err = sys.stdout, sys.stderr
    if execution.stdout:
        out.write(execution.stdout)
        out.flush()
    if execution.stderr:
        err.write(execution.stderr)
        if not execution.stderr.endswith("\n"):
            err.write("\n")
        err.flush()
    if execution.value_text:
        if execution.stdout and not execution.stdout.endswith("\n"):
            out.write("\n")
        out.write(execution.value_text + "\n")
        out.flush()
    status = getattr(execution.status, "value", str(execution.status))
    if status not in ("succeeded",) and not execution.stderr:
        err.write(f"acajs-repl: execution {status.replace('_', ' ')}\n")
        err.flush()


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
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


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


def local_pool_note(conn, settings, what: str) -> None:
    """Warn when a command that needs a lasting session runs on a throwaway embedded pool."""
    if conn.pool is not None:
        print(
            f"acajs-repl: note: no endpoint configured, so {what} ran on an embedded local pool that "
            "stops when this command exits; start `acajs-repl serve` and pass its --endpoint/--token "
            "to keep sessions across invocations",
            file=sys.stderr,
            flush=True,
        )
