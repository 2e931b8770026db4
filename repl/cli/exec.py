"""``acajs-repl exec``, ``acajs-repl run`` and code on stdin."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from repl.cli.output import (
    EXIT_CODE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    local_pool_note,
    print_execution,
    run,
    write_json,
)


def read_stdin() -> str | None:
    """All of stdin as UTF-8 text; None (after saying why) when it is not UTF-8."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # replaced by a text-only stream
        return sys.stdin.read()
    data = stream.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(f"the code on stdin is not UTF-8 text (byte {err.start})", EXIT_USAGE)
        return None


def cmd_exec(settings, args: argparse.Namespace) -> int:
    code = args.code
    if code == "-":
        if sys.stdin.isatty():
            return fail("exec needs CODE (or code on stdin)", EXIT_USAGE)
        code = read_stdin()
        if code is None:
            return EXIT_USAGE
    return cmd_exec_code(settings, code, as_json=args.json)


def cmd_run(settings, args: argparse.Namespace) -> int:
    if args.file == "-":
        code = read_stdin()
        if code is None:
            return EXIT_USAGE
    else:
        path = Path(args.file)
        try:
            code = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return fail(f"{path}: no such file", EXIT_USAGE)
        except IsADirectoryError:
            return fail(f"{path}: is a directory, expected a JavaScript file", EXIT_USAGE)
        except UnicodeDecodeError:
            return fail(f"{path}: not UTF-8 text", EXIT_USAGE)
        except OSError as err:
            return fail(f"{path}: cannot read: {err.strerror}", EXIT_USAGE)
        if code.startswith("#!"):  # a shebang line is not JavaScript
            code = "//" + code
    return cmd_exec_code(settings, code, as_json=args.json)


def cmd_exec_code(settings, code: str, *, as_json: bool) -> int:
    if not code.strip():
        return fail("no code to run", EXIT_USAGE)
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in an argument (surrogate escapes)
        return fail("the code is not UTF-8 text", EXIT_USAGE)

    async def body(conn) -> int:
        identifier = settings.session or str(uuid.uuid4())
        if settings.session:
            local_pool_note(conn, settings, "this session")
        execution = await conn.client.execute(code, identifier=identifier, timeout=settings.timeout)
        if not settings.session and conn.pool is None:
            # A one-shot session: free its slot in the pool now instead of after the cooldown.
            try:
                await conn.client.delete_session(identifier)
            except Exception:  # noqa: BLE001 - best effort; older api-versions lack the route
                pass
        if as_json:
            write_json(execution.to_json())
        else:
            print_execution(execution)
        return EXIT_OK if execution.ok else EXIT_CODE_FAILED

    return run(settings, body)
