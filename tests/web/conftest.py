"""A real ``acajs-repl web`` process, and Debian's Chromium driven by Playwright.

``web_server`` runs the installed command (``python -m repl web``) on a free
loopback port with the shared local pool as its endpoint (the pool's token in
the environment, as a user would pass ``ACAJS_TOKEN``) and yields the URL it
printed. ``browser`` is the system Chromium (``/usr/bin/chromium``; a browser
build cannot be downloaded here, so ``playwright install`` is never used): the
browser tests skip when it is missing, except under CI (``CI=true``), where
they fail.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from repl.local.embedded import EmbeddedPool

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
START_DEADLINE_S = 60.0
URL = re.compile(r"acajs-repl web: open (http://\S+)")


@dataclass
class WebServerProcess:
    proc: subprocess.Popen[str]
    url: str  # with the token
    base: str  # http://127.0.0.1:PORT
    token: str
    output: list[str]  # what it printed so far (stdout and stderr)
    reader: threading.Thread | None = None

    def children(self) -> list[int]:
        """Processes started by the server (one shell or app process per browser tab)."""
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                kids.append(int(stat.parent.name))
        return kids


def start_web_server(extra_args: list[str], env: dict[str, str]) -> WebServerProcess:
    proc = subprocess.Popen(
        [sys.executable, "-m", "repl", "web", *extra_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    assert proc.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            m = URL.search(line)
            if m:
                url = m.group(1)
                base, token = url.split("/?token=")
                server = WebServerProcess(proc, url, base, token, output)
                server.reader = threading.Thread(target=_read_rest, args=(proc, output), daemon=True)
                server.reader.start()
                return server
    proc.kill()
    raise AssertionError(f"acajs-repl web did not print its URL: {''.join(output)!r}")


def _read_rest(proc: subprocess.Popen[str], output: list[str]) -> None:
    """Keep what the server prints (its app processes' stderr goes there too)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line)


def stop_web_server(server: WebServerProcess) -> None:
    """SIGTERM, as a service manager would; the server stops its app processes and exits."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
            raise AssertionError("acajs-repl web did not stop on SIGTERM") from None
    if server.reader is not None:
        server.reader.join(timeout=30)


@pytest.fixture(scope="module")
def web_env(local_pool: EmbeddedPool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("web-user")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACAJS_")}
    env.update(ACAJS_CONFIG_DIR=str(base / "config"), ACAJS_DATA_DIR=str(base / "data"),
               ACAJS_TOKEN=local_pool.token, ACAJS_ARM_BASE=local_pool.arm_base)
    return env


@pytest.fixture(scope="module")
def web_server(local_pool: EmbeddedPool, web_env: dict[str, str]) -> Iterator[WebServerProcess]:
    server = start_web_server(["--endpoint", local_pool.endpoint], web_env)
    try:
        yield server
    finally:
        stop_web_server(server)
    assert server.proc.returncode == 0
    assert not any("Traceback" in line for line in server.output), "".join(server.output)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing under CI: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
