"""Attack: session code reaches the host's sockets, loopback services or files.

Under bubblewrap the kernel has its own network namespace (abstract Unix sockets
are per namespace too) and a filesystem that holds no host socket, no /run, no
host /tmp: a Unix socket the test makes on the host is not there, a TCP server
on the host's 127.0.0.1 is out of reach with egress enabled (slirp4netns with
--disable-host-loopback) and disabled (no network), and a server the session
starts listens in its own namespace, never on the host's addresses.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local.sandbox_support import healthy, new_id, run, sandboxed_pool

CONNECT = (
    "$$.async(); {{ const s = net.connect({target});"
    "s.on('connect', () => {{ s.destroy(); $$.done('connected'); }});"
    "s.on('error', (e) => $$.done('failed: ' + e.code));"
    "setTimeout(() => $$.done('failed: no answer'), 3000); }}"
)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on the host's loopback (what a developer's database would be)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def accepted(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize("egress", ["enabled", "disabled"])
def test_host_loopback_and_the_pool_itself_are_out_of_reach(egress: str, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with sandboxed_pool(egress=egress) as (pool, c):
        ident = new_id()
        for target in (f"{port}, '127.0.0.1'", f"{port}, 'localhost'", f"{port}, '10.0.2.2'",
                       f"{pool.port}, '127.0.0.1'", f"{pool.port}, '10.0.2.2'"):
            res = run(c, ident, CONNECT.format(target=target))
            assert res["executionResult"].startswith("'failed"), (target, res)
        fetch = (f"$$.async(); fetch('http://10.0.2.2:{pool.port}/')"
                 ".then(() => $$.done('fetched'), () => $$.done('failed'))")
        res = run(c, ident, fetch)
        assert res["executionResult"] == "'failed'"
        assert not accepted(listener)
        healthy(c)


def _host_address() -> str | None:
    """This machine's address on its default route, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.254", 9))
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_egress_enabled_still_reaches_the_network() -> None:
    """The control of the test above: egress enabled does reach beyond the sandbox
    (a server on the host's own network address stands for the internet here)."""
    addr = _host_address()
    if addr is None:
        pytest.skip("no non-loopback address on this machine")
    server = socket.socket()
    server.bind((addr, 0))
    server.listen()
    try:
        with sandboxed_pool(egress="enabled") as (_pool, c):
            res = run(c, new_id(), CONNECT.format(target=f"{server.getsockname()[1]}, {addr!r}"))
            assert res["executionResult"] == "'connected'", res
    finally:
        server.close()


@pytest.mark.parametrize("egress", ["enabled", "disabled"])
def test_host_unix_sockets_are_not_reachable(egress: str, tmp_path: Path) -> None:
    path = tmp_path / "host.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    os.chmod(path, 0o777)
    tmp_path.chmod(0o755)
    server.listen()
    server.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX)
    name = f"\0acajs-attack-{os.getpid()}"
    abstract.bind(name)
    abstract.listen()
    abstract.setblocking(False)
    try:
        with sandboxed_pool(egress=egress) as (_pool, c):
            ident = new_id()
            for target in (repr(str(path)), "'/run/systemd/private'", "'/var/run/docker.sock'",
                           f"'\\0acajs-attack-{os.getpid()}'"):
                res = run(c, ident, CONNECT.format(target=target))
                assert res["executionResult"].startswith("'failed"), (target, res)
            assert not accepted(server) and not accepted(abstract)
            healthy(c)
    finally:
        server.close()
        abstract.close()


def test_a_session_listens_in_its_own_namespace_only() -> None:
    with sandboxed_pool(egress="enabled") as (_pool, c):
        ident = new_id()
        res = run(c, ident, "$$.async(); globalThis.srv = net.createServer((s) => s.end('hi'))"
                            ".listen(0, '0.0.0.0', () => $$.done(srv.address().port))")
        port = res["executionResult"]
        assert isinstance(port, int), res
        for host in ("127.0.0.1", _host_address()):
            if host is None:
                continue
            with socket.socket() as probe:
                probe.settimeout(5)
                assert probe.connect_ex((host, port)) != 0, host  # nothing listens there on the host
        # inside, it works
        res = run(c, ident, CONNECT.format(target=f"{port}, '127.0.0.1'"))
        assert res["executionResult"] == "'connected'"


def test_host_files_outside_the_session_are_not_in_view(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("host secret")
    canary.chmod(0o644)
    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$hash")
    shadow.chmod(0o600)
    tmp_path.chmod(0o755)
    with sandboxed_pool() as (_pool, c):
        ident = new_id()
        for path in (canary, shadow, Path("/etc/shadow"), Path("/root"), Path("/home"), Path("/run"),
                     Path("/var/run"), Path("/etc/hostname")):
            probe = (f"[fs.existsSync({str(path)!r}), (() => {{ try {{ fs.readFileSync({str(path)!r}); "
                     "return 'read' } catch (e) { return e.code } })()]")
            res = run(c, ident, probe)
            assert res["executionResult"] == "[ false, 'ENOENT' ]", (path, res)
        res = run(c, ident, "fs.readdirSync('/').join(',')")
        listed = res["executionResult"].strip("'").split(",")
        assert not {"home", "root", "run", "var", "srv", "work"} & set(listed), listed
        res = run(c, ident, "fs.readFileSync('/etc/passwd', 'utf8').split('\\n').length")
        assert res["executionResult"] <= 3  # synthesized, not the host's
        healthy(c)
