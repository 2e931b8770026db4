"""Every CLI subcommand against a hostile or broken server.

A real HTTP server on 127.0.0.1 (tests/hostile_server.py) answers every
request the way its mode says: an HTML 502 from a gateway, JSON cut off
mid-body, JSON nested 100,000 deep, a drip of one byte every 2 s, a 300 MB body
(declared, and chunked without a length), a 200 of the wrong shape, and errors
whose text carries escape sequences and echoes the token. Each subcommand must
answer with one line on stderr (or, with --json, one JSON object on stdout),
the documented exit code, no traceback, no token, and no control sequence;
its time is bounded by the test's own timeout and its memory by an
address-space limit (RLIMIT_AS) on the process.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import clean_env
from tests.hostile_server import HostileServer

TOKEN = "hostile-test-token-6f1d2c"
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space of each CLI process: a 300 MB body read whole would not fit
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

pytestmark = pytest.mark.timeout(240)


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
    env = clean_env(work, ACAJS_TOKEN=TOKEN)
    if as_json:
        args.append("--json")
        # With the ARM base on loopback too, the client uses its lean loopback transport
        # (as for the local pool); the runs without --json use httpx's (as for Azure).
        env["ACAJS_ARM_BASE"] = endpoint.rsplit("/", 1)[0]
    proc = subprocess.run([sys.executable, "-m", "repl", *args], capture_output=True, text=True,
                          errors="replace", env=env, cwd=work,
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
