"""The CLI contract: exit codes per subcommand, --json everywhere (errors as one
object), a closed pipe through a real shell, top-level await, truncation said,
and remote output sanitised on a terminal but byte for byte into a pipe."""

from __future__ import annotations

import json
import os
import pty
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

UNREACHABLE = "http://127.0.0.1:1/subscriptions/s/resourceGroups/rg/sessionPools/p"
ATTACK_JS = r'console.log("a\x1b]2;PWNED\x07b\x1b[2J\x1b[31mred\x1b[0m 10%\r100%")'

# subcommand -> (arguments for a success on the served pool, arguments that are a usage error)
SUBCOMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "exec": (["exec", "6*7"], ["exec", "--no-such-flag"]),
    "run": (["run", "script.js"], ["run", "missing.js"]),
    "files ls": (["files", "ls"], ["files", "ls", "--no-such-flag"]),
    "files put": (["files", "put", "data.txt"], ["files", "put", "missing.txt"]),
    "files get": (["files", "get", "data.txt", "out.txt"], ["files", "get"]),
    "files rm": (["files", "rm", "data.txt"], ["files", "rm"]),
    "session show": (["session", "show"], ["session", "show", "--no-such-flag"]),
    "session delete": (["session", "delete"], ["session", "delete", "--no-such-flag"]),
    "pool": (["pool"], ["pool", "--no-such-flag"]),
    "config": (["config"], ["config", "--no-such-flag"]),
}
ORDER = ["exec", "run", "files put", "files ls", "files get", "files rm", "session show", "pool", "config",
         "session delete"]


def _one_json_error(r: subprocess.CompletedProcess, code: int, where: object) -> dict:
    assert r.returncode == code, (where, r.stdout, r.stderr)
    assert r.stderr == "" and r.stdout.count("\n") == 1, (where, r.stdout, r.stderr)
    data = json.loads(r.stdout)
    assert data["exit_code"] == code and data["error"]["code"] and data["error"]["message"], (where, data)
    return data


def test_every_subcommand_exit_codes_and_json(remote: Cli, tmp_path: Path) -> None:
    (tmp_path / "script.js").write_text("const r = await Promise.resolve(20); r + 22\n")
    (tmp_path / "data.txt").write_text("data\n")
    session = ["--session", "contract-session"]
    for name in ORDER:
        ok, usage = SUBCOMMANDS[name]
        for as_json in (False, True):
            flag = ["--json"] if as_json else []
            (tmp_path / "out.txt").unlink(missing_ok=True)
            if name == "files rm" and as_json:  # the plain run removed it: put it back
                assert remote("files", "put", "data.txt", *session).returncode == 0
            r = remote(*ok, *session, *flag)
            (tmp_path / "out.txt").unlink(missing_ok=True)
            where = (name, as_json)
            if name == "session delete" and as_json:
                assert r.returncode == 3, (where, r.stdout, r.stderr)  # deleted just before: no such session
                _one_json_error(r, 3, where)
                continue
            assert r.returncode == 0, (where, r.stdout, r.stderr)
            if as_json:
                assert r.stdout.count("\n") == 1 and json.loads(r.stdout) is not None, (where, r.stdout)
            # Usage errors: exit 2, one line or one JSON object.
            u = remote(*usage, *session, *flag)
            if as_json:
                _one_json_error(u, 2, where)
            else:
                assert u.returncode == 2 and u.stdout == "" and u.stderr.count("\n") == 1, (where, u.stderr)
            # The service cannot be reached: exit 3 (config needs no service).
            if name != "config":
                s = remote(*ok, *session, *flag, "--endpoint", UNREACHABLE)
                if as_json:
                    _one_json_error(s, 3, where)
                else:
                    assert s.returncode == 3 and s.stderr.count("\n") == 1, (where, s.stderr)
    # The code failing is 1, as a plain line on stderr or as the execution's JSON.
    r = remote("exec", "throw new Error('boom')")
    assert r.returncode == 1 and "boom" in r.stderr
    r = remote("exec", "throw new Error('boom')", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["status"] == "failed"


def test_json_usage_errors_from_the_parser_are_one_object(cli: Cli) -> None:
    for argv in (["--json", "files", "ls"], ["files", "ls", "--json"], ["exec", "--json", "--timeout", "x"],
                 ["--json", "nosuchcommand"]):
        data = _one_json_error(cli(*argv), 2, argv)
        assert data["error"]["code"] in ("usage", "config"), (argv, data)


def test_a_closed_pipe_exits_141_quietly_through_a_real_shell(remote: Cli) -> None:
    command = (f"{shlex.quote(sys.executable)} -m repl exec 'for(let i=0;i<1e5;i++) console.log(i)' | head -1; "
               'echo "status=${PIPESTATUS[0]}"')
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=remote.env, cwd=remote.cwd,
                       timeout=120)
    assert r.stdout == "0\nstatus=141\n", (r.stdout, r.stderr)
    assert r.stderr == ""


def test_exec_and_run_apply_the_top_level_await_rewrite(remote: Cli, tmp_path: Path) -> None:
    r = remote("exec", "await Promise.resolve(41) + 1")
    assert (r.returncode, r.stdout) == (0, "42\n"), r.stderr
    (tmp_path / "a.js").write_text("#!/usr/bin/env node\n"
                                   "const x = await new Promise(r => setTimeout(() => r(6), 10));\n"
                                   "console.log('x is', x);\nx * 7\n")
    r = remote("run", "a.js")
    assert (r.returncode, r.stdout) == (0, "x is 6\n42\n"), r.stderr
    r = remote("exec", "await Promise.resolve(1)", "--json")
    assert json.loads(r.stdout)["rewritten"] is True
    r = remote(input="await Promise.resolve(5)")  # code on stdin runs like exec
    assert (r.returncode, r.stdout) == (0, "5\n"), r.stderr
    r = remote("exec", "await Promise.resolve(1)", "--verbatim")  # byte for byte: the kernel has no top-level await
    assert r.returncode == 1 and "SyntaxError" in r.stderr


def test_truncation_is_said_on_stderr_and_in_json(remote: Cli) -> None:
    code = "void process.stdout.write('x'.repeat(1100000))"
    r = remote("exec", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "x" * 1048576  # what the pool kept, without a marker inside the data
    assert r.stderr == ("acajs-repl: note: stdout was cut by the pool: 51,424 more characters not shown "
                        "(limit 1,048,576 characters)\n")
    r = remote("exec", code, "--json")
    data = json.loads(r.stdout)
    assert (data["truncated"], data["stdout_dropped"], data["output_limit"]) == (True, 51424, 1048576)
    assert data["stdout"] == "x" * 1048576 and "cut by the pool" in r.stderr


def test_remote_output_is_raw_into_a_pipe_unless_told(remote: Cli) -> None:
    r = remote("exec", ATTACK_JS, input=b"")
    assert r.stdout == b"a\x1b]2;PWNED\x07b\x1b[2J\x1b[31mred\x1b[0m 10%\r100%\n"  # scripts get the bytes
    r = remote("exec", ATTACK_JS, "--safe-output", input=b"")
    # As a terminal shows it: "100%" over "ab" + red "red", the title and the clear screen gone.
    assert r.stdout == b"100%\x1b[0m\x1b[31md\x1b[0m 10%\n"


def _on_a_terminal(remote: Cli, *args: str) -> bytes:
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "repl", *args], stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=slave, env=remote.env, cwd=remote.cwd)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(timeout=60) == 0, out
        return out
    finally:
        os.close(master)


@pytest.mark.timeout(120)
def test_remote_output_on_a_terminal_is_sanitised_unless_told(remote: Cli) -> None:
    out = _on_a_terminal(remote, "exec", ATTACK_JS)
    assert b"PWNED" not in out and b"\x1b[2J" not in out and b"\x1b]" not in out
    assert b"\x1b[31m" in out and b"100%" in out
    out = _on_a_terminal(remote, "exec", ATTACK_JS, "--raw-output")
    assert b"\x1b]2;PWNED\x07" in out
