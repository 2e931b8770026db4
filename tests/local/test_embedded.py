"""The embedded runner: synchronous bind, lazy heavy imports, foreground serve with clean-up."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def _exit_code(proc: subprocess.Popen, timeout: float) -> int:
    """``proc.wait(timeout)``; on a timeout, fail with the stacks of all its threads
    (the child runs with PYTHONFAULTHANDLER=1, so SIGABRT makes it print them)."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _out, err = proc.communicate(timeout=10)
        __import__("pytest").fail(f"still running {timeout} s after the signal; its threads:\n{err[-8000:]}")


def _serve_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACAJS_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"
    return env


def test_import_and_start_do_not_load_the_server_stack_in_the_caller() -> None:
    code = (
        "import sys, time\n"
        "from repl.local.embedded import EmbeddedPool\n"
        "from repl.local.settings import PoolSettings\n"
        "heavy = [m for m in ('starlette', 'uvicorn', 'repl.local.server') if m in sys.modules]\n"
        "p = EmbeddedPool(PoolSettings(ready=0))\n"
        "t = time.perf_counter(); p.start(); took = time.perf_counter() - t\n"
        "known = bool(p.endpoint and p.arm_base and p.token and p.port)\n"
        "p.wait_started(); p.stop()\n"
        "print(heavy, known, took)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    heavy, known, took = out.stdout.rsplit(maxsplit=2)[0], out.stdout.split()[-2], float(out.stdout.split()[-1])
    assert heavy.strip() == "[]"
    assert known == "True"
    assert took < 0.5  # binding a socket and starting a thread, nothing more


def test_endpoint_shape(local_pool) -> None:
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/subscriptions/00000000-0000-0000-0000-000000000000"
        r"/resourceGroups/local/sessionPools/local",
        local_pool.endpoint,
    )
    assert local_pool.endpoint.startswith(local_pool.arm_base + "/")
    assert local_pool.arm_base == f"http://127.0.0.1:{local_pool.port}"


def test_python_m_repl_local_serves_until_interrupted(tmp_path: Path) -> None:
    env = _serve_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "repl.local", "--port", "0", "--ready", "0", "--data-dir", str(tmp_path),
         "--token", "tok-123", "--cooldown", "400"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        endpoint = None
        while endpoint is None:
            assert time.monotonic() < deadline, lines
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
            if m := re.search(r"endpoint:\s+(\S+)", line):
                endpoint = m.group(1)
        token_line = proc.stdout.readline()
        assert "tok-123" in token_line
        headers = {"Authorization": "Bearer tok-123"}
        r = httpx.post(endpoint + "/executions", params={"api-version": "2025-10-02-preview", "identifier": "t"},
                       json={"codeInputType": "Inline", "executionType": "Synchronous", "code": "6*7"},
                       headers=headers, timeout=60)
        assert r.json()["result"]["executionResult"] == 42
        arm = httpx.get(endpoint.replace("/sessionPools/", "/providers/Microsoft.App/sessionPools/"),
                        params={"api-version": "2025-10-02-preview"}, headers=headers, timeout=10)
        assert arm.json()["properties"]["dynamicPoolConfiguration"]["lifecycleConfiguration"][
            "cooldownPeriodInSeconds"] == 400
        assert any(tmp_path.iterdir())  # the pool's directory exists while serving
        proc.send_signal(signal.SIGINT)
        assert _exit_code(proc, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(tmp_path.iterdir()) == []  # every session directory removed
    with __import__("pytest").raises(httpx.ConnectError):
        httpx.get(endpoint + "/metadata", timeout=2)


def test_sigterm_also_cleans_up(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "repl.local", "--ready", "1", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=_serve_env(),
    )
    try:
        deadline = time.monotonic() + 30
        while "Press Ctrl-C" not in (line := proc.stdout.readline()):
            assert line and time.monotonic() < deadline, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        assert _exit_code(proc, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(tmp_path.iterdir()) == []


def test_request_before_the_server_thread_is_up_waits(tmp_path: Path) -> None:
    code = (
        "import httpx, json\n"
        "from repl.local.embedded import EmbeddedPool\n"
        "from repl.local.settings import PoolSettings\n"
        f"p = EmbeddedPool(PoolSettings(ready=0, data_dir={str(tmp_path)!r})).start()\n"
        "r = httpx.post(p.endpoint + '/executions', params={'api-version': '2025-10-02-preview', 'identifier': 'a'},\n"
        "    json={'codeInputType': 'Inline', 'executionType': 'Synchronous', 'code': '1+1'},\n"
        "    headers={'Authorization': 'Bearer ' + p.token}, timeout=60)\n"
        "print(json.dumps(r.json()))\n"
        "p.stop()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"]["executionResult"] == 2


def test_without_node_executions_get_a_clear_503_and_files_still_work(tmp_path: Path) -> None:
    code = (
        "import httpx, json\n"
        "from repl.local.embedded import EmbeddedPool\n"
        "from repl.local.settings import PoolSettings\n"
        f"p = EmbeddedPool(PoolSettings(ready=1, data_dir={str(tmp_path)!r})).start()\n"
        "h = {'Authorization': 'Bearer ' + p.token}\n"
        "q = {'api-version': '2025-10-02-preview', 'identifier': 'a'}\n"
        "r = httpx.post(p.endpoint + '/executions', params=q, headers=h, timeout=60,\n"
        "    json={'codeInputType': 'Inline', 'executionType': 'Synchronous', 'code': '1+1'})\n"
        "f = httpx.post(p.endpoint + '/files', params=q, headers=h, files={'file': ('x.txt', b'x')})\n"
        "print(json.dumps([r.status_code, r.json(), r.headers.get('retry-after'), f.status_code]))\n"
        "p.stop()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACAJS_")}
    env["ACAJS_NODE"] = str(tmp_path / "no-such-node")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO, env=env)
    assert out.returncode == 0, out.stderr
    status, body, retry_after, files_status = json.loads(out.stdout.splitlines()[-1])
    assert status == 503
    assert body["error"]["code"] == "SessionKernelUnavailable"
    assert "node" in body["error"]["message"].lower()
    assert retry_after is not None
    assert files_status == 200
    assert list(tmp_path.iterdir()) == []
    # Embedded, the pool writes nothing to stderr (it would garble a terminal UI).
    assert out.stderr == ""


def test_stop_right_after_start_does_not_hang(tmp_path: Path) -> None:
    from repl.local.embedded import EmbeddedPool
    from repl.local.settings import PoolSettings

    for _ in range(3):
        pool = EmbeddedPool(PoolSettings(ready=1, data_dir=tmp_path))
        pool.start()
        t = time.monotonic()
        pool.stop()
        assert time.monotonic() - t < 10
        assert not pool.running
    assert list(tmp_path.iterdir()) == []


def test_garbage_request_is_refused_quietly(tmp_path: Path) -> None:
    code = (
        "import socket\n"
        "from repl.local.embedded import EmbeddedPool\n"
        "from repl.local.settings import PoolSettings\n"
        f"p = EmbeddedPool(PoolSettings(ready=0, data_dir={str(tmp_path)!r})).start(); p.wait_started()\n"
        "s = socket.create_connection(('127.0.0.1', p.port)); s.sendall(b'GARBAGE \\x00 HTTP/9\\r\\n\\r\\n')\n"
        "print(s.recv(100).split(b'\\r\\n')[0].decode()); s.close()\n"
        "p.stop()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "HTTP/1.1 400 Bad Request"
    assert out.stderr == ""


def _kernels_under(directory: Path) -> dict[int, list[str]]:
    """pid -> command line of the kernel processes whose session directory is under ``directory``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(a.endswith("harness.js") for a in argv) and any(a.startswith(str(directory)) for a in argv):
            found[int(entry.name)] = argv
    return found


def test_acajs_repl_serve_end_to_end(tmp_path: Path) -> None:
    """`acajs-repl serve`: prints endpoint and token, its own "Try it" lines and the tutorial's
    curl work as printed, and Ctrl-C stops every kernel and removes every directory."""
    import shutil

    from tests.local.test_server_execute import TUTORIAL_CURL

    if shutil.which("curl") is None or shutil.which("bash") is None:
        __import__("pytest").skip("curl or bash is not installed")
    data = tmp_path / "data"
    env = _serve_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "repl", "serve", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        printed = []
        deadline = time.monotonic() + 30
        while not printed or "Press Ctrl-C" not in printed[-1]:
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, (printed, proc.stderr.read())
            printed.append(line)
        text = "".join(printed)
        endpoint = re.search(r"endpoint:\s+(\S+)", text).group(1)
        token = re.search(r"token:\s+(\S+)", text).group(1)
        assert "max sessions 5" in text and "cooldown 300 s" in text  # the tutorial pool's defaults
        try_it = [line.strip() for line in printed if line.startswith("  AUTH_HEADER=") or line.startswith("  curl ")]
        assert len(try_it) == 2 and token in try_it[0]
        mine = subprocess.run(["bash", "-c", "\n".join(try_it)], capture_output=True, text=True, timeout=60)
        assert json.loads(mine.stdout)["result"]["executionResult"] == 42, mine
        tutorial = subprocess.run(
            ["bash", "-c", TUTORIAL_CURL], capture_output=True, text=True, timeout=60,
            env={"PATH": os.environ["PATH"], "AUTH_HEADER": f"Authorization: Bearer {token}",
                 "SESSION_POOL_MANAGEMENT_ENDPOINT": endpoint},
        )
        props = json.loads(tutorial.stdout)["properties"]
        assert (props["status"], props["stdout"], props["stderr"], props["executionResult"]) == (
            "Success", "hello-world\n", "", "")
        kernels = _kernels_under(data)
        # the session "test" (both curls), plus the refilled ready kernel once it is up
        assert len(kernels) >= 1, kernels
        # (bwrap: "--bind <tmpdir> /tmp"; the permission model: "--allow-fs-write=<tmpdir>")
        tmpdirs = {Path(a.split("=", 1)[-1]) for argv in kernels.values() for a in argv
                   if "acajs-kernel-tmp-" in a}
        assert tmpdirs and all(p.is_dir() for p in tmpdirs)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert _exit_code(proc, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Stopping" in proc.stdout.read()
    for pid in kernels:  # gone, not just orphaned (the server waited for each)
        cmdline = Path(f"/proc/{pid}/cmdline")
        assert not cmdline.parent.exists() or "harness.js" not in cmdline.read_text(errors="replace")
    assert _kernels_under(data) == {}
    assert [p for p in tmpdirs if p.exists()] == []
    assert list(data.iterdir()) == []
