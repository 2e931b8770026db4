"""``acajs-repl exec``, ``acajs-repl run`` and code on stdin."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any

from repl.cli.output import (
    EXIT_CODE_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    local_pool_note,
    mode,
    note,
    print_execution,
    run,
    write_json,
)


def read_stdin() -> str | None:
    """All of stdin as UTF-8 text; None (after saying why) when it is not UTF-8."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # replaced by a text-only stream
        return str(sys.stdin.read())
    data: bytes = stream.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(f"the code on stdin is not UTF-8 text (byte {err.start})", EXIT_USAGE)
        return None


def cmd_exec(settings: Any, args: argparse.Namespace) -> int:
    code = args.code
    if code == "-":
        if sys.stdin.isatty():
            return fail("exec needs CODE (or code on stdin)", EXIT_USAGE)
        code = read_stdin()
        if code is None:
            return EXIT_USAGE
    return cmd_exec_code(settings, code, as_json=mode.json, verbatim=args.verbatim)


def cmd_run(settings: Any, args: argparse.Namespace) -> int:
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
        if code.startswith("#!") and not args.verbatim:  # a shebang line is not JavaScript
            code = "//" + code
    return cmd_exec_code(settings, code, as_json=mode.json, verbatim=args.verbatim)


def code_to_send(code: str) -> str:
    """What goes over the wire: the REPL's top-level ``await`` rewrite, else the code as is."""
    if "await" not in code:
        return code  # no parser to load
    from repl.js.await_rewrite import rewrite_top_level_await

    try:
        rewritten = rewrite_top_level_await(code)
    except Exception:  # noqa: BLE001 - a rewrite bug must not stop the run: send as written
        rewritten = None
    return code if rewritten is None else rewritten


def cmd_exec_code(settings: Any, code: str, *, as_json: bool, verbatim: bool = False) -> int:
    if not code.strip():
        return fail("no code to run", EXIT_USAGE)
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in an argument (surrogate escapes)
        return fail("the code is not UTF-8 text", EXIT_USAGE)

    sent = code if verbatim else code_to_send(code)

    async def body(conn: Any) -> int:
        identifier = settings.session or str(uuid.uuid4())
        if settings.session:
            local_pool_note(conn, settings, "this session")
        execution = await conn.client.execute(sent, identifier=identifier, timeout=settings.timeout)
        if not settings.session and conn.pool is None:
            # A one-shot session: free its slot in the pool now instead of after the cooldown.
            try:
                await conn.client.delete_session(identifier)
            except Exception:  # noqa: BLE001 - best effort; older api-versions lack the route
                pass
        if as_json:
            data = execution.to_json()
            data["rewritten"] = sent != code
            for text in execution.truncation_notes():
                note(text)
            write_json(data)
        else:
            print_execution(execution)
        return EXIT_OK if execution.ok else EXIT_CODE_FAILED

    return run(settings, body)
