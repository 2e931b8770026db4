"""Helpers for the CLI tests: run ``python -m repl`` as a real subprocess, and a
``acajs-repl serve`` subprocess shared by the tests of this directory."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 60


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any acajs setting, with private config/data dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACAJS_", "ACA_POOL_"))}
    (tmp / "config").mkdir(parents=True, exist_ok=True)
    (tmp / "data").mkdir(parents=True, exist_ok=True)
    env["ACAJS_CONFIG_DIR"] = str(tmp / "config")
    env["ACAJS_DATA_DIR"] = str(tmp / "data")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Cli:
    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None,
                 timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
        text = not isinstance(input, bytes)
        return subprocess.run(
            [sys.executable, "-m", "repl", *args],
            input=input if input is not None else ("" if text else b""),
            capture_output=True,
            text=text,
            env={**self.env, **(env or {})},
            cwd=self.cwd,
            timeout=timeout,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Runs ``acajs-repl`` with no endpoint configured (the embedded local pool)."""
    return Cli(clean_env(tmp_path), tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    endpoint: str
    token: str
    proc: subprocess.Popen
    log: Path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """``acajs-repl serve`` running in the background for the whole test session;
    its endpoint and token are read from what it prints."""
    tmp = tmp_path_factory.mktemp("serve")
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "repl", "serve", "--port", "0", "--max-sessions", "20", "--cooldown", "300"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=clean_env(tmp), cwd=tmp,
        )
    deadline = time.monotonic() + 30
    endpoint = token = None
    while endpoint is None or token is None:
        text = log.read_text(errors="replace")
        ep = re.search(r"endpoint:\s*(http://127\.0\.0\.1:\d+/\S+)", text)
        tok = re.search(r"token:\s*(\S+)", text)
        if ep and tok:
            endpoint, token = ep.group(1), tok.group(1)
            break
        if proc.poll() is not None:
            pytest.fail(f"acajs-repl serve exited with {proc.returncode}: {text}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"acajs-repl serve printed no endpoint/token in 30 s: {text}")
        time.sleep(0.05)
    yield Served(endpoint, token, proc, log)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def remote(served: Served, tmp_path: Path) -> Cli:
    """Runs ``acajs-repl`` against the served pool (endpoint and token in the environment)."""
    return Cli(clean_env(tmp_path, ACAJS_ENDPOINT=served.endpoint, ACAJS_TOKEN=served.token), tmp_path)
