"""``acajs-repl files ls|put|get|rm``: the session's files under /mnt/data."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from repl.api.models import FileInfo
from repl.cli.output import (
    EXIT_OK,
    EXIT_USAGE,
    fail,
    fmt_time,
    human_size,
    local_pool_note,
    mode,
    run,
    shown,
    write_err,
    write_json,
    write_out,
    write_out_bytes,
)
from repl.terminal_text import safe_text


def cmd_files(settings: Any, args: argparse.Namespace) -> int:
    if not settings.session:
        return fail(
            f"files {args.files_command} needs --session ID (or ACAJS_SESSION): the session whose files to use",
            EXIT_USAGE,
        )
    action = args.files_command
    identifier = settings.session

    if action == "put":
        local = Path(args.local)
        if local.is_dir():
            return fail(f"{local}: is a directory; files put uploads one file", EXIT_USAGE)
        if not local.is_file():
            return fail(f"{local}: no such file", EXIT_USAGE)
        if not os.access(local, os.R_OK):
            return fail(f"{local}: cannot read it (permission denied)", EXIT_USAGE)

        async def body(conn: Any) -> int:
            local_pool_note(conn, settings, "the upload")
            info = await conn.client.upload(identifier, local, name=args.name, directory=args.directory)
            if mode.json:
                write_json({"uploaded": _file_json(info)})
            else:
                write_out(f"uploaded {shown(info.path)} ({human_size(info.size)})\n")
            return EXIT_OK

        return run(settings, body)

    if action == "ls":

        async def body(conn: Any) -> int:
            local_pool_note(conn, settings, "the listing")
            items = await conn.client.list_files(identifier, directory=args.directory, recursive=args.recursive)
            if mode.json:
                write_json([_file_json(i) for i in items])
                return EXIT_OK
            lines = []
            for i in items:
                kind = "dir " if i.is_dir else "file"
                size = "-" if i.is_dir else human_size(i.size)
                lines.append(f"{kind}  {size:>9}  {fmt_time(i.last_modified):>23}  "
                             f"{shown(i.path)}{'/' if i.is_dir else ''}\n")
            write_out("".join(lines))
            return EXIT_OK

        return run(settings, body)

    if action == "get":
        to_stdout = args.dest == "-"
        if to_stdout and mode.json:
            return fail("files get NAME - writes the file to stdout; --json needs a destination file", EXIT_USAGE)
        if not to_stdout:
            dest = Path(args.dest) if args.dest else Path(PurePosixPath(args.name).name)
            if dest.is_dir():
                dest = dest / PurePosixPath(args.name).name
            if dest.exists() and not args.force:
                return fail(f"{dest} exists; pass --force to overwrite it", EXIT_USAGE)
            folder = dest.parent
            if not folder.is_dir():
                return fail(f"cannot download to {dest}: directory {folder} does not exist", EXIT_USAGE)
            if not os.access(folder, os.W_OK | os.X_OK):
                return fail(f"cannot download to {dest}: directory {folder} is not writable", EXIT_USAGE)

        async def body(conn: Any) -> int:
            local_pool_note(conn, settings, "the download")
            if to_stdout:
                with tempfile.TemporaryDirectory(prefix="acajs-get-") as tmp:
                    tmp_path = Path(tmp) / "content"
                    await conn.client.download(identifier, args.name, tmp_path)
                    safe = mode.safe(sys.stdout)
                    with tmp_path.open("rb") as fh:
                        while chunk := fh.read(1 << 20):
                            if safe:  # a file shown on a terminal cannot drive it either
                                write_out(safe_text(chunk.decode("utf-8", "replace")))
                            else:
                                write_out_bytes(chunk)
                return EXIT_OK
            # Download next to the destination, then rename: no half-written file on failure.
            try:
                fd, part = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent or ".")
            except OSError as err:
                return fail(f"cannot download to {dest}: {err.strerror or err}", EXIT_USAGE)
            os.close(fd)
            part_path = Path(part)
            try:
                written = await conn.client.download(identifier, args.name, part_path)
                os.replace(part_path, dest)
            finally:
                part_path.unlink(missing_ok=True)
            if mode.json:
                write_json({"downloaded": args.name, "dest": str(dest), "bytes": written})
            else:
                write_err(f"downloaded {shown(args.name)} to {dest} ({human_size(written)})\n")
            return EXIT_OK

        return run(settings, body)

    if action == "rm":

        async def body(conn: Any) -> int:
            local_pool_note(conn, settings, "the deletion")
            deleted: list[str] = []
            for name in args.names:  # a failure stops here; its message names the file
                await conn.client.delete_file(identifier, name)
                deleted.append(name)
                if not mode.json:
                    write_out(f"deleted {shown(name)}\n")
            if mode.json:
                write_json({"deleted": deleted})
            return EXIT_OK

        return run(settings, body)

    return fail(f"unknown files action {action!r}", EXIT_USAGE)  # pragma: no cover


def _file_json(info: FileInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "path": info.path,
        "type": info.type,
        "size": info.size,
        "content_type": info.content_type,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
        "directory": info.directory,
    }
