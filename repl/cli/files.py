"""``acajs-repl files ls|put|get|rm``: the session's files under /mnt/data."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path, PurePosixPath

from repl.cli.output import EXIT_OK, EXIT_USAGE, fail, fmt_time, human_size, local_pool_note, run, write_json


def cmd_files(settings, args: argparse.Namespace) -> int:
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

        async def body(conn) -> int:
            local_pool_note(conn, settings, "the upload")
            info = await conn.client.upload(identifier, local, name=args.name, directory=args.directory)
            print(f"uploaded {info.path} ({human_size(info.size)})")
            return EXIT_OK

        return run(settings, body)

    if action == "ls":

        async def body(conn) -> int:
            local_pool_note(conn, settings, "the listing")
            items = await conn.client.list_files(identifier, directory=args.directory, recursive=args.recursive)
            if args.json:
                write_json([_file_json(i) for i in items])
                return EXIT_OK
            for i in items:
                kind = "dir " if i.is_dir else "file"
                size = "-" if i.is_dir else human_size(i.size)
                print(f"{kind}  {size:>9}  {fmt_time(i.last_modified):>23}  {i.path}{'/' if i.is_dir else ''}")
            return EXIT_OK

        return run(settings, body)

    if action == "get":
        to_stdout = args.dest == "-"
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

        async def body(conn) -> int:
            local_pool_note(conn, settings, "the download")
            if to_stdout:
                with tempfile.TemporaryDirectory(prefix="acajs-get-") as tmp:
                    tmp_path = Path(tmp) / "content"
                    await conn.client.download(identifier, args.name, tmp_path)
                    sys.stdout.flush()
                    with tmp_path.open("rb") as fh:
                        shutil.copyfileobj(fh, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
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
            print(f"downloaded {args.name} to {dest} ({human_size(written)})", file=sys.stderr)
            return EXIT_OK

        return run(settings, body)

    if action == "rm":

        async def body(conn) -> int:
            local_pool_note(conn, settings, "the deletion")
            for name in args.names:
                await conn.client.delete_file(identifier, name)
                print(f"deleted {name}")
            return EXIT_OK

        return run(settings, body)

    return fail(f"unknown files action {action!r}", EXIT_USAGE)  # pragma: no cover


def _file_json(info) -> dict:
    return {
        "name": info.name,
        "path": info.path,
        "type": info.type,
        "size": info.size,
        "content_type": info.content_type,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
        "directory": info.directory,
    }
