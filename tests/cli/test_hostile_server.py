"""Every CLI subcommand against a hostile or broken server.

A real HTTP server on 127.0.0.1 (raw asyncio, so it can misbehave at the byte
level) answers every request the way its mode says: an HTML 502 from a
gateway, JSON cut off mid-body, JSON nested 100,000 deep, a drip of one byte
every 2 s, a 300 MB body (declared, and chunked without a length), a 200 of
the wrong shape, and errors whose text carries escape sequences and echoes the
token. Each subcommand must answer with one line on stderr (or, with --json,
one JSON object on stdout), the documented exit code, no traceback, no token,
and no control sequence; its time is bounded by the test's own timeout and its
memory by an address-space limit (RLIMIT_AS) on the process.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import clean_env

TOKEN = "hostile-test-token-6f1d2c"
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space of each CLI process: a 300 MB body read whole would not fit
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

pytestmark = pytest.mark.timeout(240)


class HostileServer:
    """Answers by the first path segment of the request: ``/MODE/...``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def endpoint(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                pairs = (line.partition(":") for line in lines[1:] if line)
                headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                mode = target.lstrip("/").split("/", 1)[0].split("?", 1)[0]
                keep = await self._answer(mode, method, headers, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: str, body: bytes, ctype: str = "application/json",
                    extra: str = "") -> bool:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                     f"x-ms-request-id: req-\x1b]2;PWNED\x07-1\r\n{extra}\r\n".encode("latin-1") + body)
        await writer.drain()
        return True

    async def _answer(self, mode: str, method: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        if mode == "html502":
            page = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>\x1b[2J</body></html>"
            return await self._send(writer, "502 Bad Gateway", page, "text/html")
        if mode == "truncated":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
                         b'{"status": "Succeeded", "result": {"stdout": "cut her')
            await writer.drain()
            return False
        if mode == "deep":
            return await self._send(writer, "200 OK", b"[" * 100_000 + b"]" * 100_000)
        if mode == "deeperror":
            return await self._send(writer, "400 Bad Request", b'{"error":' * 50_000 + b"1" + b"}" * 50_000)
        if mode == "drip":
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(2)
            return False
        if mode in ("huge", "hugechunked"):
            chunk = b'{"value": ["' + b"x" * (1024 * 1024)
            if mode == "huge":
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {300 * 1024 * 1024}\r\n\r\n".encode())
                for _ in range(300):
                    writer.write(chunk)
                    await writer.drain()
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                for _ in range(300):
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            return False
        if mode == "shape":
            if method == "DELETE":
                return await self._send(writer, "204 No Content", b"")
            return await self._send(writer, "200 OK", b'{"unexpected": [1, 2, 3], "value": "not a list"}')
        if mode == "escapes":
            auth = headers.get("authorization", "")
            body = json.dumps({"error": {
                "code": "Bad\x1b]2;PWNED\x07Thing",
                "message": f"\x1b[2J\x1b[Howned \x1b]52;c;cm0gLXJmIH4=\x07\x9b1;1H you sent {auth}",
            }}).encode()
            return await self._send(writer, "400 Bad Request", body)
        return await self._send(writer, "404 Not Found", b'{"error": {"code": "NoSuchMode"}}')


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


# Every subcommand that talks to the service, with what it needs.
COMMANDS: dict[str, list[str]] = {
    "exec": ["exec", "1+1", "--timeout", "1"],
    "run": ["run", "script.js", "--timeout", "1"],
    "files ls": ["files", "ls"],
    "files put": ["files", "put", "data.txt"],
    "files get": ["files", "get", "data.txt", "out.txt"],
    "files rm": ["files", "rm", "data.txt"],
    "session show": ["session", "show"],
    "session delete": ["session", "delete"],
    "pool": ["pool", "--sessions"],
}

# (mode, exit code per command; default 3)
MODES: dict[str, dict[str, int]] = {
    "html502": {},
    "truncated": {},
    "deep": {"files rm": 0, "session delete": 0, "files get": 0},  # a body nobody reads
    "deeperror": {},
    "drip": {},
    "huge": {"files get": 0},  # a big file is streamed to disk, never held in memory
    "hugechunked": {"files get": 0},
    "shape": {"files put": 0, "files get": 0, "files rm": 0, "session delete": 0},
    "escapes": {},
}


@dataclass
class Outcome:
    name: str
    as_json: bool
    rc: int
    stdout: str
    stderr: str


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(tmp: Path, endpoint: str, name: str, as_json: bool) -> Outcome:
    work = tmp / f"{name.replace(' ', '-')}-{int(as_json)}"
    work.mkdir()
    (work / "script.js").write_text("1+1\n")
    (work / "data.txt").write_text("data\n")
    args = [*COMMANDS[name], "--endpoint", endpoint, "--session", "hostile-session"]
    if as_json:
        args.append("--json")
    proc = subprocess.run([sys.executable, "-m", "repl", *args], capture_output=True, text=True,
                          errors="replace", env=clean_env(work, ACAJS_TOKEN=TOKEN), cwd=work,
                          timeout=200, preexec_fn=_limit_memory)
    (work / "out.txt").unlink(missing_ok=True)
    return Outcome(name, as_json, proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("mode", list(MODES))
def test_every_subcommand_answers_a_hostile_server_in_one_line(hostile: HostileServer, tmp_path: Path, mode: str):
    endpoint = hostile.endpoint(mode)
    jobs = [(name, as_json) for name in COMMANDS for as_json in (False, True)]
    with ThreadPoolExecutor(max_workers=len(jobs) if mode == "drip" else 6) as pool:
        outcomes = list(pool.map(lambda job: _run(tmp_path, endpoint, *job), jobs))
    for o in outcomes:
        where = f"{mode} / {o.name}{' --json' if o.as_json else ''}: rc={o.rc} stdout={o.stdout!r} stderr={o.stderr!r}"
        expected = MODES[mode].get(o.name, 3)
        assert o.rc == expected, where
        both = o.stdout + o.stderr
        assert "Traceback" not in both and "RecursionError" not in both and "MemoryError" not in both, where
        assert TOKEN not in both, where
        assert "PWNED" not in both, where
        if expected == 0:
            continue
        if o.as_json:
            assert o.stderr == "", where
            assert o.stdout.count("\n") == 1, where
            data = json.loads(o.stdout)
            assert data["exit_code"] == expected and data["error"]["message"], where
            assert isinstance(data["error"]["code"], str) and data["error"]["code"], where
            assert not CONTROL.search(data["error"]["message"]), where
        else:
            assert o.stdout == "", where
            assert o.stderr.count("\n") == 1 and o.stderr.startswith("acajs-repl: "), where
            assert not CONTROL.search(o.stderr.rstrip("\n")), where
