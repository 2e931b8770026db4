"""The gate in front of textual-serve, attacked over real HTTP, and the ``web`` command's checks."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from repl.cli.main import build_parser, main
from repl.cli.web import forwarded
from repl.local.embedded import EmbeddedPool
from tests.web.conftest import WebServerProcess, start_web_server, stop_web_server


@contextmanager
def login(server: WebServerProcess) -> Iterator[httpx.Client]:
    """A client that holds the access cookie."""
    with httpx.Client(base_url=server.base, timeout=30) as client:
        r = client.get(f"/?token={server.token}")
        assert r.status_code == 302
        yield client


def test_nothing_without_the_token(web_server: WebServerProcess) -> None:
    with httpx.Client(base_url=web_server.base, timeout=30) as c:
        for path in ("/", "/static/js/textual.js", "/ws", "/download/abc", "/?token=wrong", "/?token="):
            r = c.get(path)
            assert r.status_code == 403, path
            assert "acajs-repl web" in r.text and "textual" not in r.text.lower()


def test_the_token_becomes_a_strict_cookie_and_leaves_the_url(web_server: WebServerProcess) -> None:
    with httpx.Client(base_url=web_server.base, timeout=30) as c:
        r = c.get(f"/?fontsize=24&token={web_server.token}")
        assert r.status_code == 302
        assert r.headers["location"] == "/?fontsize=24"
        assert r.headers["referrer-policy"] == "no-referrer"
        cookie = r.headers["set-cookie"]
        port = web_server.base.rsplit(":", 1)[1]
        assert cookie.startswith(f"acajs_web_{port}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert web_server.token not in cookie  # the browser holds another secret, not the token
        page = c.get("/")
        assert page.status_code == 200
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page.text
        assert "fonts.googleapis.com" not in page.text  # no third-party requests
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert c.get("/static/js/textual.js").status_code == 200
        # Reached as localhost, the page points its websocket at localhost (same site, same cookie).
        page = c.get("/", headers={"Host": f"localhost:{port}"})
        assert f'"ws://localhost:{port}/ws"' in page.text


def test_dns_rebinding_is_refused(web_server: WebServerProcess) -> None:
    """A site whose name resolves to 127.0.0.1 sends its own Host header."""
    with login(web_server) as c:
        port = web_server.base.rsplit(":", 1)[1]
        for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{int(port) + 1}"):
            r = c.get("/", headers={"Host": host})
            assert r.status_code == 403 and "Host" in r.text, host
        r = c.get(f"/?token={web_server.token}", headers={"Host": f"evil.example:{port}"})
        assert r.status_code == 403 and "set-cookie" not in r.headers


def test_websocket_needs_the_cookie_and_the_same_origin(web_server: WebServerProcess) -> None:
    port = web_server.base.rsplit(":", 1)[1]
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    with login(web_server) as c:
        for origin in ("http://evil.example", f"http://localhost:{port}", "null"):
            r = c.get("/ws", headers={**upgrade, "Origin": origin})
            assert r.status_code == 403 and "another origin" in r.text, origin
        r = c.get("/ws", headers=upgrade)  # no Origin at all: not a browser page of ours
        assert r.status_code == 403
    with httpx.Client(base_url=web_server.base, timeout=30) as c:  # right origin, no cookie
        r = c.get("/ws", headers={**upgrade, "Origin": f"http://127.0.0.1:{port}"})
        assert r.status_code == 403 and "no access" in r.text


def test_the_token_never_reaches_the_servers_output(local_pool: EmbeddedPool, web_env: dict[str, str]) -> None:
    server = start_web_server(["--endpoint", local_pool.endpoint, "--web-token", "a-chosen-token-123"], web_env)
    try:
        assert server.token == "a-chosen-token-123"
        with login(server) as c:
            assert c.get("/").status_code == 200
            c.get("/?token=wrong-token-456")
    finally:
        stop_web_server(server)
    printed = "".join(server.output)
    assert printed.count("a-chosen-token-123") == 1  # the URL line at start, and no access log
    assert "wrong-token-456" not in printed
    assert local_pool.token not in printed


def test_allow_remote_binds_beyond_loopback_and_still_needs_the_token(
        local_pool: EmbeddedPool, web_env: dict[str, str]) -> None:
    server = start_web_server(["--endpoint", local_pool.endpoint, "--host", "0.0.0.0", "--allow-remote"], web_env)
    try:
        port = server.base.rsplit(":", 1)[1]
        assert server.base == f"http://{socket.gethostname()}:{port}"
        local = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=local, timeout=30) as c:
            assert c.get("/").status_code == 403
            assert c.get(f"/?token={server.token}").status_code == 302
            # Any Host name is accepted beyond loopback (the token is the gate).
            assert c.get("/", headers={"Host": f"demo-box:{port}"}).status_code == 200
    finally:
        stop_web_server(server)
    assert "plain HTTP" in "".join(server.output)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "repl", "web", *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_usage_errors() -> None:
    r = run_cli("--host", "0.0.0.0")
    assert r.returncode == 2 and "--allow-remote" in r.stderr and r.stdout == ""
    r = run_cli("--web-token", "short")
    assert r.returncode == 2 and "at least 8 characters" in r.stderr
    r = run_cli("--port", "70000")
    assert r.returncode == 2 and "out of range" in r.stderr
    r = run_cli("--config", "/nonexistent/config.toml")
    assert r.returncode == 2 and "/nonexistent/config.toml" in r.stderr


def test_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        r = run_cli("--port", str(taken.getsockname()[1]))
    assert r.returncode == 3 and "cannot listen" in r.stderr


def test_settings_are_forwarded_and_the_bearer_token_only_in_the_environment() -> None:
    args = build_parser().parse_args(["web", "--endpoint", "https://x.example/p", "--token", "secret-bearer",
                                      "--session", "s 1", "--theme", "light", "--timeout", "90"])
    argv, env = forwarded(args)
    assert argv == ["--endpoint", "https://x.example/p", "--session", "s 1", "--timeout", "90.0",
                    "--theme", "light"]
    assert env == {"ACAJS_TOKEN": "secret-bearer"}
    assert forwarded(build_parser().parse_args(["web"])) == ([], {})


def test_a_missing_web_extra_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delitem(sys.modules, "repl.web.server", raising=False)
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["web"]) == 2
    assert "pip install 'acajs-repl[web]'" in capsys.readouterr().err


def test_app_process_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from repl.web.app_process import main as app_main

    bad = tmp_path / "config.toml"
    bad.write_text("timeout = 'soon'\n")
    assert app_main(["--config", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
