"""``acajs-repl exec``/``run``/stdin end to end: real subprocesses, real HTTP, real Node."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from .conftest import Cli, Served, free_port


def test_exec_on_embedded_pool_prints_value(cli: Cli) -> None:
    r = cli("exec", "6*7")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "42\n"
    assert r.stderr == ""


def test_exec_stdout_stderr_then_value(remote: Cli) -> None:
    r = remote("exec", 'console.log("out-line"); console.error("err-line"); [1, 2].length + 40')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "out-line\n42\n"
    assert r.stderr == "err-line\n"


def test_exec_without_value_prints_only_output(remote: Cli) -> None:
    r = remote("exec", 'console.log("just this")')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "just this\n"


def test_exec_string_value_is_inspect_text(remote: Cli) -> None:
    r = remote("exec", "'a' + 'b'")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "'ab'\n"


def test_exec_failure_exits_1_with_error_on_stderr(remote: Cli) -> None:
    r = remote("exec", 'console.log("before"); throw new TypeError("boom-" + (20 + 22))')
    assert r.returncode == 1
    assert r.stdout == "before\n"
    assert "TypeError" in r.stderr and "boom-42" in r.stderr
    assert "Traceback" not in r.stderr


def test_usage_errors_exit_2(cli: Cli, tmp_path: Path) -> None:
    r = cli("exec", "1", "--no-such-flag")
    assert r.returncode == 2
    assert "--no-such-flag" in r.stderr
    assert r.stderr.count("\n") == 1 and "--help" in r.stderr  # one line, not the usage block

    r = cli("files", "--session", "s")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith("acajs-repl files: ") and "ACTION" in r.stderr

    r = cli("exec", "1", "--timeout", "soon")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "'soon'" in r.stderr

    r = cli("exec", "1", "--endpoint", "not-a-url")
    assert r.returncode == 2
    assert "--endpoint" in r.stderr and "not a URL" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

    r = cli("exec", "   ")
    assert r.returncode == 2 and "no code" in r.stderr

    r = cli("run", str(tmp_path / "missing.js"))
    assert r.returncode == 2 and "missing.js" in r.stderr


def test_bad_config_file_exits_2_naming_file_and_key(cli: Cli) -> None:
    cfg = Path(cli.env["ACAJS_CONFIG_DIR"]) / "config.toml"
    cfg.write_text("timeout = 'soon'\n")
    r = cli("exec", "1")
    assert r.returncode == 2
    assert str(cfg) in r.stderr and "'timeout'" in r.stderr and "number of seconds" in r.stderr
    assert "Traceback" not in r.stderr
    cfg.write_text("[oops\n")
    r = cli("config")
    assert r.returncode == 2 and "invalid TOML" in r.stderr


def test_unreachable_endpoint_exits_3_with_one_line(cli: Cli) -> None:
    port = free_port()  # bound then closed: nothing listens there
    secret = "secret-token-" + uuid.uuid4().hex
    r = cli("exec", "1", "--endpoint", f"http://127.0.0.1:{port}", "--token", secret)
    assert r.returncode == 3
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("acajs-repl: ")
    assert "Traceback" not in r.stderr
    assert secret not in r.stderr


def test_wrong_token_exits_3(served: Served, cli: Cli) -> None:
    r = cli("exec", "1", "--endpoint", served.endpoint, "--token", "not-the-token")
    assert r.returncode == 3
    assert "not-the-token" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_json_output_is_the_normalised_execution(remote: Cli) -> None:
    r = remote("exec", "--json", 'console.log("hi"); ({a: 1}).a + 41')
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["status"] == "succeeded"
    assert data["stdout"] == "hi\n"
    assert data["value"] == 42 and data["value_text"] == "42"
    assert data["round_trip_ms"] > 0
    assert r.stdout.count("\n") == 1  # one JSON object on one line

    r = remote("exec", "--json", "null.x")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["status"] == "failed" and "TypeError" in data["stderr"]


def test_code_on_stdin_runs_like_exec(remote: Cli) -> None:
    r = remote(input='const xs = [3, 1, 2];\nconsole.log(xs.length);\nMath.max(...xs) * 10\n')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "3\n30\n"
    r = remote("--json", input="throw new Error('from stdin')")
    assert r.returncode == 1
    assert "from stdin" in json.loads(r.stdout)["stderr"]
    r = remote("exec", "-", input="2 ** 10")
    assert r.returncode == 0 and r.stdout == "1024\n"


def test_run_file(remote: Cli, tmp_path: Path) -> None:
    script = tmp_path / "script.js"
    script.write_text(
        "#!/usr/bin/env node\n"
        "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n"
        "console.log('fib');\n"
        "fib(20)\n"
    )
    r = remote("run", str(script))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "fib\n6765\n"


def test_session_state_persists_across_invocations(remote: Cli) -> None:
    sid = "cli-state-" + uuid.uuid4().hex
    r = remote("exec", "--session", sid, "globalThis.counter = 41; let kept = 'yes'")
    assert r.returncode == 0, r.stderr
    r = remote("exec", "--session", sid, "counter + 1")
    assert (r.returncode, r.stdout) == (0, "42\n"), r.stderr
    r = remote("exec", "--session", sid, "kept")
    assert (r.returncode, r.stdout) == (0, "'yes'\n"), r.stderr
    # another session does not see it
    r = remote("exec", "--session", "other-" + uuid.uuid4().hex, "typeof counter")
    assert r.stdout == "'undefined'\n"
    # ACAJS_SESSION works as well as the flag
    r = remote("exec", "counter", env={"ACAJS_SESSION": sid})
    assert r.stdout == "41\n"


def test_session_on_embedded_pool_warns_it_does_not_persist(cli: Cli) -> None:
    r = cli("exec", "--session", "s1", "1")
    assert r.returncode == 0
    assert r.stdout == "1\n"
    assert "acajs-repl serve" in r.stderr
    for args in (("files", "ls"), ("files", "get", "x.txt", "-"), ("files", "rm", "x.txt"), ("session", "show"),
                 ("session", "delete")):
        r = cli(*args, "--session", "s1")  # an embedded pool never holds an earlier session's files
        assert "embedded local pool that stops when this command exits" in r.stderr, (args, r.stderr)
        assert "acajs-repl serve" in r.stderr


def test_one_shot_exec_frees_its_session(remote: Cli) -> None:
    def live_sessions() -> int:
        r = remote("pool", "--json", "--sessions")
        assert r.returncode == 0, r.stderr
        return len(json.loads(r.stdout)["sessions"])

    before = live_sessions()
    r = remote("exec", "globalThis.tmp = 1; 5")
    assert (r.returncode, r.stdout) == (0, "5\n"), r.stderr
    assert live_sessions() == before
    sid = "kept-" + uuid.uuid4().hex
    r = remote("exec", "--session", sid, "6")
    assert r.returncode == 0, r.stderr
    assert live_sessions() == before + 1
    remote("session", "delete", "--session", sid)


def test_timeout_flag_stops_a_long_execution(remote: Cli) -> None:
    import time

    started = time.monotonic()
    r = remote("exec", "--timeout", "1", "--json", "const t0 = Date.now(); while (Date.now() - t0 < 20000) {}")
    elapsed = time.monotonic() - started
    assert r.returncode == 1, r.stderr
    assert json.loads(r.stdout)["status"] in ("timed_out", "failed")
    assert elapsed < 15, elapsed


def test_serve_refuses_bad_flags(cli: Cli) -> None:
    r = cli("serve", "--host", "0.0.0.0")
    assert r.returncode == 2 and "--allow-remote" in r.stderr
    r = cli("serve", "--port", "70000")
    assert r.returncode == 2 and "--port" in r.stderr
    r = cli("serve", "--max-sessions", "0")
    assert r.returncode == 2 and "--max-sessions" in r.stderr
    r = cli("serve", "--egress", "sometimes")
    assert r.returncode == 2


def test_no_node_for_the_embedded_pool_exits_3_saying_how_to_get_one(cli: Cli, tmp_path: Path) -> None:
    r = cli("exec", "1", env={"ACAJS_NODE": str(tmp_path / "no-node")})
    assert r.returncode == 3, r.stderr
    assert r.stderr.count("\n") == 1 and "the embedded local pool cannot start" in r.stderr
    assert "ACAJS_NODE" in r.stderr and "acajs-repl[local]" in r.stderr
    (tmp_path / "a-file").write_text("")
    r = cli("serve", "--data-dir", str(tmp_path / "a-file"))
    assert r.returncode == 2 and "--data-dir" in r.stderr and "not a directory" in r.stderr


def test_serve_on_a_port_in_use_exits_3(served: Served, cli: Cli) -> None:
    port = urlsplit(served.endpoint).port
    r = cli("serve", "--port", str(port))
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in r.stderr and "in use" in r.stderr


def test_api_version_picks_the_dialect(remote: Cli) -> None:
    r = remote("exec", "--json", "--api-version", "2024-08-02-preview", "6*7")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["value"] == 42 and data["raw_status"] == "Success"  # legacy code/execute answers Success
    r = remote("exec", "--json", "6*7", env={"ACAJS_API_VERSION": "2025-10-02-preview"})
    data = json.loads(r.stdout)
    assert data["value"] == 42 and data["raw_status"] == "Succeeded"


def test_pool_and_resource_group_resolve_the_endpoint_through_arm(cli: Cli, served: Served) -> None:
    root = served.endpoint.split("/subscriptions/")[0]
    env = {"ACAJS_ARM_BASE": root, "ACAJS_TOKEN": served.token}
    sub = "00000000-0000-0000-0000-000000000000"
    args = ("--pool", "local", "--resource-group", "local", "--subscription", sub)
    r = cli("exec", *args, "6*7", env=env)
    assert (r.returncode, r.stdout) == (0, "42\n"), r.stderr
    r = cli("pool", "--json", *args, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["endpoint"] == served.endpoint
    r = cli("exec", "--pool", "no-such-pool", "--resource-group", "local", "--subscription", sub, "1", env=env)
    assert r.returncode == 3
    assert "no-such-pool" in r.stderr
    assert served.token not in r.stderr


def test_output_closed_early_stops_quietly(remote: Cli) -> None:
    """`acajs-repl exec ... | head -1`: no traceback, no 'unexpected error', exit 141 like SIGPIPE."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "repl", "exec", "for (let i = 0; i < 200000; i++) console.log('line ' + i); 1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=remote.env, cwd=remote.cwd,
    )
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""


def test_code_that_is_not_utf8_exits_2_in_one_line(cli: Cli) -> None:
    for args in (("exec",), (), ("run", "-")):
        r = cli(*args, input=b"\xff\xfe 1")
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.decode().count("\n") == 1 and "not UTF-8" in r.stderr.decode(), (args, r.stderr)
    r = cli(input="console.log('\u00e9'); '\u00fc'")  # UTF-8 is fine
    assert (r.returncode, r.stdout) == (0, "\u00e9\n'\u00fc'\n"), r.stderr


def test_serve_json_prints_one_object_and_errors_as_one_object(served: Served, cli: Cli, tmp_path: Path) -> None:
    import subprocess
    import sys

    from .conftest import clean_env

    # a failure to start: one JSON object on stdout, exit 3
    port = urlsplit(served.endpoint).port
    r = cli("serve", "--json", "--port", str(port))
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    error = json.loads(r.stdout)
    assert error["exit_code"] == 3 and "in use" in error["error"]["message"]
    # a usage error under --json: one object too
    r = cli("serve", "--json", "--port", "70000")
    assert r.returncode == 2 and json.loads(r.stdout)["exit_code"] == 2
    # started: the banner as one JSON line, then it serves until SIGTERM
    proc = subprocess.Popen([sys.executable, "-m", "repl", "serve", "--json", "--port", "0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env(tmp_path), cwd=tmp_path, text=True)
    try:
        assert proc.stdout is not None
        banner = json.loads(proc.stdout.readline())
        assert banner["endpoint"].startswith("http://127.0.0.1:") and banner["token"]
        assert banner["output_cap"] == 1_048_576 and banner["protection"]
        env = {"ACAJS_ENDPOINT": banner["endpoint"], "ACAJS_TOKEN": banner["token"]}
        r = cli("exec", "6*7", env=env)
        assert r.returncode == 0 and r.stdout.strip() == "42"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert out.strip() == ""  # nothing else on stdout: "Stopping…" went to stderr
