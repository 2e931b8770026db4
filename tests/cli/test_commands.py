"""``acajs-repl files|session|pool|config`` end to end against a served local pool."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from .conftest import Cli, Served, free_port


def new_session() -> str:
    return "cli-" + uuid.uuid4().hex


def test_files_round_trip_byte_for_byte(remote: Cli, tmp_path: Path) -> None:
    sid = new_session()
    payload = bytes(range(256)) * 64 + os.urandom(50_000) + b"\r\n\x00end"
    src = tmp_path / "blob.bin"
    src.write_bytes(payload)

    r = remote("files", "put", str(src), "--session", sid)
    assert r.returncode == 0, r.stderr
    assert "blob.bin" in r.stdout

    r = remote("files", "ls", "--session", sid)
    assert r.returncode == 0, r.stderr
    assert "blob.bin" in r.stdout

    r = remote("files", "ls", "--json", "--session", sid)
    listed = {f["name"]: f for f in json.loads(r.stdout)}
    assert listed["blob.bin"]["size"] == len(payload)

    # the code sees the file at /mnt/data, as on Azure
    r = remote("exec", "--session", sid, "require('fs').readFileSync('/mnt/data/blob.bin').length")
    assert (r.returncode, r.stdout) == (0, f"{len(payload)}\n"), r.stderr

    dest = tmp_path / "back.bin"
    r = remote("files", "get", "blob.bin", str(dest), "--session", sid)
    assert r.returncode == 0, r.stderr
    assert dest.read_bytes() == payload

    # no overwrite without --force
    r = remote("files", "get", "blob.bin", str(dest), "--session", sid)
    assert r.returncode == 2 and "--force" in r.stderr

    r = remote("files", "get", "blob.bin", "-", "--session", sid, input=b"")
    assert r.returncode == 0
    assert r.stdout == payload

    r = remote("files", "rm", "blob.bin", "--session", sid)
    assert r.returncode == 0, r.stderr
    r = remote("files", "ls", "--session", sid)
    assert "blob.bin" not in r.stdout
    r = remote("files", "get", "blob.bin", str(tmp_path / "gone.bin"), "--session", sid)
    assert r.returncode == 3
    assert not (tmp_path / "gone.bin").exists()


def test_files_put_named_into_directory(remote: Cli, tmp_path: Path) -> None:
    sid = new_session()
    src = tmp_path / "local-name.txt"
    src.write_text("hello files\n")
    r = remote("files", "put", str(src), "--name", "remote.txt", "--dir", "sub", "--session", sid)
    assert r.returncode == 0, r.stderr
    r = remote("exec", "--session", sid, "require('fs').readFileSync('/mnt/data/sub/remote.txt', 'utf8')")
    assert r.returncode == 0, r.stderr
    assert "hello files" in r.stdout


def test_files_bad_local_paths_exit_2_in_one_line_and_write_nothing(remote: Cli, tmp_path: Path) -> None:
    sid = new_session()
    src = tmp_path / "x.txt"
    src.write_text("x\n")
    assert remote("files", "put", str(src), "--session", sid).returncode == 0

    r = remote("files", "put", str(tmp_path), "--session", sid)  # a directory
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "is a directory" in r.stderr

    missing = tmp_path / "no-such-dir" / "x.txt"
    r = remote("files", "get", "x.txt", str(missing), "--session", sid)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr

    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    r = remote("files", "get", "x.txt", str(blocked / "x.txt"), "--session", sid)  # parent is a file
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unexpected" not in r.stderr, r.stderr

    (tmp_path / "into").mkdir()
    r = remote("files", "get", "x.txt", str(tmp_path / "into"), "--session", sid)  # a directory: NAME inside it
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "into" / "x.txt").read_text() == "x\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert ((tmp_path / "into" / "x.txt").stat().st_mode & 0o777) == 0o666 & ~umask  # not the temp file's 0600
    assert [p.name for p in (tmp_path / "into").iterdir()] == ["x.txt"]  # no .part left behind


def test_files_need_a_session(remote: Cli) -> None:
    r = remote("files", "ls")
    assert r.returncode == 2 and "--session" in r.stderr


def test_session_show_and_delete(remote: Cli) -> None:
    sid = new_session()
    r = remote("exec", "--session", sid, "globalThis.alive = 'here'")
    assert r.returncode == 0, r.stderr

    r = remote("session", "show", "--session", sid)
    assert r.returncode == 0, r.stderr
    assert sid in r.stdout
    assert "time left" in r.stdout and "expires" in r.stdout

    r = remote("session", "show", "--json", "--session", sid)
    data = json.loads(r.stdout)
    assert data["identifier"] == sid
    assert 200 < data["seconds_left"] <= 300  # the served pool's cooldown is 300 s

    r = remote("session", "delete", "--session", sid)
    assert r.returncode == 0, r.stderr

    # the same identifier later gets a fresh session: the state is gone
    r = remote("exec", "--session", sid, "typeof alive")
    assert r.stdout == "'undefined'\n"


def test_pool_status(remote: Cli) -> None:
    r = remote("pool")
    assert r.returncode == 0, r.stderr
    assert "max sessions" in r.stdout and "20" in r.stdout  # served with --max-sessions 20
    assert "cooldown" in r.stdout and "300 s" in r.stdout

    r = remote("pool", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["max_sessions"] == 20
    assert data["cooldown_seconds"] == 300
    assert data["kind"] == "local"


def test_pool_on_embedded_pool(cli: Cli) -> None:
    r = cli("pool", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["max_sessions"] == 5  # PoolSettings default, like the tutorial's pool
    assert data["endpoint"].startswith("http://127.0.0.1:")


def test_config_shows_sources_never_the_token(cli: Cli) -> None:
    endpoint = "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/rg/sessionPools/p"
    secret_env = "env-secret-" + uuid.uuid4().hex
    secret_flag = "flag-secret-" + uuid.uuid4().hex
    cfg = Path(cli.env["ACAJS_CONFIG_DIR"]) / "config.toml"
    cfg.write_text('theme = "nord"\ntimeout = 90\ntoken = "file-secret-token"\n[keys]\nrun = "ctrl+r"\n')

    r = cli("config", env={"ACAJS_TOKEN": secret_env, "ACAJS_ENDPOINT": endpoint})
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert secret_env not in out and "file-secret-token" not in out
    assert "set (from env ACAJS_TOKEN)" in out
    assert f"{endpoint} (from env ACAJS_ENDPOINT)" in out
    assert f"nord (from file {cfg})" in out
    assert "90" in out and "ctrl+r" in out

    r = cli("config", "--token", secret_flag, "--session", "abc", env={"ACAJS_TOKEN": secret_env})
    out = r.stdout + r.stderr
    assert secret_flag not in out and secret_env not in out
    assert "set (from flag --token)" in out
    assert "abc (from flag --session)" in out

    r = cli("config", "--json", env={"ACAJS_TOKEN": secret_env})
    data = json.loads(r.stdout)
    assert data["token"] == {"value": "set", "source": "env ACAJS_TOKEN"}
    assert secret_env not in r.stdout


def test_help_documents_exit_codes(cli: Cli) -> None:
    r = cli("--help")
    assert r.returncode == 0
    for line in ("0  success", "1  the code failed", "2  usage or configuration error", "3  the service"):
        assert line in r.stdout
    r = cli("exec", "--help")
    assert "3  the service" in r.stdout


def test_exec_does_not_import_the_front_ends(remote: Cli) -> None:
    code = (
        "import sys\n"
        "from repl.cli.main import main\n"
        "rc = main(['exec', '1+1'])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'prompt_toolkit')]\n"
        "print('BAD', bad, rc)\n"
    )
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=remote.env,
                       timeout=60, cwd=remote.cwd)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("BAD [] 0")
    assert r.stdout.startswith("2\n")


def test_pool_lists_unknown_parts(remote: Cli, served: Served) -> None:
    # The pool's root URL serves the data plane but names no subscription/resource
    # group/pool, so ARM is not asked: the ARM-only parts are unknown.
    root = served.endpoint.split("/subscriptions/")[0]
    r = remote("pool", "--endpoint", root)
    assert r.returncode == 0, r.stderr
    unknown = next(line for line in r.stdout.splitlines() if line.startswith("unknown "))
    assert "max sessions" in unknown and "cooldown" in unknown
    assert "runtime" not in unknown  # the data plane's metadata answered
    assert "node " in r.stdout
    assert "Azure Resource Manager was not asked" in r.stdout


def test_pool_unreachable_exits_3(cli: Cli) -> None:
    port = free_port()
    r = cli("pool", "--endpoint", f"http://127.0.0.1:{port}/subscriptions/s/resourceGroups/rg/sessionPools/p",
            "--token", "t")
    assert r.returncode == 3
    assert "could not read any status" in r.stderr and "unreachable" in r.stderr


def test_readme_config_example_is_accepted_and_its_key_ids_exist(cli: Cli) -> None:
    """The config file shown in the README loads, and its [keys] ids are real binding ids."""
    import re
    import tomllib

    from repl.tui.app import all_binding_ids

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```toml\n(.*?)```", readme, re.S)
    cfg = Path(cli.env["ACAJS_CONFIG_DIR"]) / "config.toml"
    cfg.write_text(example, encoding="utf-8")
    r = cli("config", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    keys = tomllib.loads(example)["keys"]
    assert keys and set(keys) <= set(all_binding_ids()), set(keys) - set(all_binding_ids())
    for binding, spec in keys.items():
        assert data[f"keys.{binding}"] == {"value": spec, "source": f"file {cfg}"}


def test_connection_flags_are_the_same_on_the_repl_and_every_subcommand() -> None:
    from repl.cli.main import build_parser

    flags = ["--endpoint", "http://127.0.0.1:1/x", "--token", "t", "--session", "s", "--api-version", "v",
             "--pool", "p", "--resource-group", "rg", "--subscription", "sub", "--config", "c.toml",
             "--timeout", "5"]
    expected = {"endpoint": "http://127.0.0.1:1/x", "token": "t", "session": "s", "api_version": "v",
                "pool": "p", "resource_group": "rg", "subscription": "sub", "config": "c.toml", "timeout": 5.0}
    commands = [[], ["exec", "1"], ["run", "f.js"], ["files", "ls"], ["files", "put", "f"], ["files", "get", "f"],
                ["files", "rm", "f"], ["session", "show"], ["session", "delete"], ["pool"], ["config"]]
    parser = build_parser()
    for command in commands:
        for argv in (flags + command, command + flags):  # before or after the subcommand
            ns = vars(parser.parse_args(argv))
            assert {k: ns.get(k) for k in expected} == expected, argv
