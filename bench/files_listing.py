"""``.files`` with 1,000 files against a local directory walk, and where the time goes.

Against an EmbeddedPool started here (real HTTP on 127.0.0.1), with 1,000 small
files written into the session's ``/mnt/data``:

- anchor: ``os.scandir`` + ``lstat`` of every entry of that directory;
- ``SessionsClient.list_files(recursive=True)``: what ``.files`` asks (the
  engine's ``format_files`` adds the text, timed apart);
- the parts: the pool's walk (``fileaccess.walk``), building and encoding the
  JSON body, the HTTP round trip with a bare ``http.client`` (the server's whole
  answer, no client-side parsing), and the client's parsing of the body
  (``parse_file_list``).

Interleaved, medians of ``--runs`` rounds. From the repository root::

    .venv/bin/python bench/files_listing.py [--files 1000] [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from repl.api import SessionsClient, StaticToken
from repl.api.dialects import parse_file_list
from repl.engine import format_files
from repl.local.embedded import EmbeddedPool
from repl.local.fileaccess import DIR_FLAGS, walk
from repl.local.listing import listing_json
from repl.local.settings import PoolSettings

V = "2025-10-02-preview"


def scandir_lstat(path: Path) -> int:
    n = 0
    with os.scandir(path) as it:
        for e in it:
            e.stat(follow_symlinks=False)
            n += 1
    return n


def server_body(directory: Path) -> bytes:
    fd = os.open(directory, DIR_FLAGS)
    try:
        entries = walk(fd, recursive=True)
    finally:
        os.close(fd)
    return listing_json(entries)


def walk_only(directory: Path) -> int:
    fd = os.open(directory, DIR_FLAGS)
    try:
        return len(walk(fd, recursive=True))
    finally:
        os.close(fd)


def measure(n_files: int = 1000, runs: int = 30) -> dict[str, Any]:
    """Milliseconds (medians) of each part; ``ratio`` is the client's listing over the anchor."""
    with tempfile.TemporaryDirectory(prefix="acajs-bench-files-") as tmp, EmbeddedPool(
        PoolSettings(ready=0, data_dir=Path(tmp))
    ) as pool:
        ident = f"bench-{uuid.uuid4()}"
        loop = asyncio.new_event_loop()
        client = SessionsClient(pool.endpoint, StaticToken(pool.token), arm_base=pool.arm_base)  # as the REPL builds it
        try:
            ex = loop.run_until_complete(client.execute("1+1", identifier=ident))
            assert ex.ok, ex
            directory = pool.pool.get(ident).directory
            for i in range(n_files):
                (directory / f"file-{i:04d}.txt").write_bytes(b"x" * (i % 100))
            url = urlsplit(pool.endpoint)
            conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
            query = f"/files?api-version={V}&identifier={ident}&recursive=true"
            hdrs = {"Authorization": f"Bearer {pool.token}"}

            def raw_http() -> bytes:
                conn.request("GET", query, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                assert resp.status == 200, data[:200]
                return data

            body = raw_http()
            decoded = json.loads(body)

            def via_client() -> int:
                files = loop.run_until_complete(client.list_files(ident, recursive=True))
                assert len(files) == n_files
                return len(files)

            parts: dict[str, Callable[[], object]] = {
                "scandir_lstat": lambda: scandir_lstat(directory),
                "client_list_files": via_client,
                "walk": lambda: walk_only(directory),
                "server_body": lambda: server_body(directory),
                "http_raw": raw_http,
                "json_loads": lambda: json.loads(body),
                "parse_file_list": lambda: parse_file_list(decoded),
                "format_files": lambda: format_files(parse_file_list(decoded)),
            }
            for fn in parts.values():  # warm up
                fn()
            samples: dict[str, list[float]] = {k: [] for k in parts}
            for _ in range(runs):
                for key, fn in parts.items():
                    t = time.perf_counter()
                    fn()
                    samples[key].append((time.perf_counter() - t) * 1000)
            conn.close()
        finally:
            loop.run_until_complete(client.aclose())
            loop.close()
    out: dict[str, Any] = {k: statistics.median(v) for k, v in samples.items()}
    out["ratio"] = out["client_list_files"] / out["scandir_lstat"]
    out["body_bytes"] = len(body)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    res = measure(args.files, args.runs)
    for key, value in res.items():
        print(f"{key:>18}: {value:9.3f}" if isinstance(value, float) else f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
