"""``acajs-repl session show|delete`` for the session named by --session."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from repl.cli.output import (
    EXIT_OK,
    EXIT_USAGE,
    fail,
    fmt_duration,
    fmt_time,
    local_pool_note,
    mode,
    run,
    shown,
    write_json,
    write_out,
)


def cmd_session(settings: Any, args: argparse.Namespace) -> int:
    action = args.session_command
    if not settings.session:
        return fail(f"session {action} needs --session ID (or ACAJS_SESSION)", EXIT_USAGE)
    identifier = settings.session

    if action == "show":

        async def show(conn: Any) -> int:
            local_pool_note(conn, settings, "this command")
            info = await conn.client.get_session(identifier)
            now = datetime.now(UTC)
            left = (info.expire_at - now).total_seconds() if info.expire_at else None
            if mode.json:
                write_json(
                    {
                        "identifier": info.identifier,
                        "created_at": info.created_at,
                        "last_accessed_at": info.last_accessed_at,
                        "expire_at": info.expire_at,
                        "seconds_left": None if left is None else round(max(left, 0.0), 1),
                        "etag": info.etag,
                    }
                )
                return EXIT_OK
            rows = [
                ("session", shown(info.identifier)),
                ("endpoint", conn.label),
                ("created", fmt_time(info.created_at)),
                ("last used", fmt_time(info.last_accessed_at)),
                ("expires", fmt_time(info.expire_at)),
                ("time left", "-" if left is None else fmt_duration(max(left, 0.0))),
            ]
            write_out("".join(f"{name:<10} {value}\n" for name, value in rows))
            return EXIT_OK

        return run(settings, show)

    if action == "delete":

        async def delete(conn: Any) -> int:
            local_pool_note(conn, settings, "this command")
            await conn.client.delete_session(identifier)
            if mode.json:
                write_json({"deleted": True})
            else:
                write_out("session deleted\n")
            return EXIT_OK

        return run(settings, delete)

    return fail(f"unknown session action {action!r}", EXIT_USAGE)  # pragma: no cover
