"""Helpers for the attack tests of the local pool's HTTP side: raw sockets, a pool
with small connection limits, ``acajs-repl serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

V = "2025-10-02-preview"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def half_request(url: str, *, body: bool = False) -> socket.socket:
    """A connection that sent part of a request head (or all of it and part of a body)."""
    host, port = host_port(url)
    s = socket.create_connection((host, port), timeout=30)
    if body:
        s.sendall(
            f"POST /executions?api-version={V}&identifier=x HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"code\":".encode()
        )
    else:
        s.sendall(f"GET /metadata?api-version={V} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode())
    return s


def read_until_closed(s: socket.socket, timeout: float = 60.0) -> bytes:
    """Everything the server sends until it closes the connection (raises on timeout)."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def authed(pool_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {pool_token}"}


class ServeProcess:
    """``acajs-repl serve`` in a subprocess; ``endpoint`` read from its banner."""

    def __init__(self, proc: subprocess.Popen[str], banner: list[str]) -> None:
        self.proc = proc
        self.banner = banner
        self.endpoint = next(line.split()[1] for line in banner if line.strip().startswith("endpoint:"))
        self.stderr_lines: list[str] = []


@contextmanager
def serve_process(
    args: list[str], env: dict[str, str], *, preexec: object = None, timeout: float = 60.0
) -> Iterator[ServeProcess]:
    full_env = {**os.environ, **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "repl.cli.main", "serve", "--ready", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
        preexec_fn=preexec,
    )
    banner: list[str] = []
    done = threading.Event()

    def read_banner() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        done.set()

    threading.Thread(target=read_banner, daemon=True).start()
    try:
        if not done.wait(timeout) or not any("endpoint:" in line for line in banner):
            proc.kill()
            _out, err = proc.communicate(timeout=10)
            raise AssertionError(f"serve did not start: {banner!r} {err!r}")
        yield ServeProcess(proc, banner)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def client(endpoint: str, token: str, **kw: object) -> httpx.Client:
    return httpx.Client(base_url=endpoint, headers=authed(token), **{"timeout": 5, **kw})


def run_code(http: httpx.Client, identifier: str, code: str) -> dict:
    r = http.post("/executions", params={"api-version": V, "identifier": identifier},
                  json={"codeInputType": "Inline", "executionType": "Synchronous", "code": code})
    assert r.status_code == 200, r.text
    return r.json()


def tree_depth(root: Path) -> int:
    depth, p = 0, root
    while (p / "d").is_dir():
        p, depth = p / "d", depth + 1
    return depth
