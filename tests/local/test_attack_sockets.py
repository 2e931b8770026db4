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


@pytest.fixture
def host_listener() -> Iterator[tuple[socket.socket, str]]:
    """A TCP server on all the host's addresses (a service a developer runs on the
    machine), with the host's address on its default route."""
    addr = _host_address()
    if addr is None:
        pytest.skip("no non-loopback address on this machine")
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen()
    server.setblocking(False)
    yield server, addr
    server.close()


def test_the_hosts_own_addresses_are_out_of_reach_with_egress_enabled(host_listener) -> None:
    """Egress reaches the internet, not the machine the pool runs on: its own
    addresses are prohibited routes inside the sandbox's namespace."""
    server, addr = host_listener
    port = server.getsockname()[1]
    with sandboxed_pool(egress="enabled") as (_pool, c):
        ident = new_id()
        res = run(c, ident, CONNECT.format(target=f"{port}, {addr!r}"))
        assert res["executionResult"].startswith("'failed"), res
        # Session code cannot take the fence down: it holds no capability in its namespace.
        routes = f"[['route', 'del', 'prohibit', '{addr}/32'], ['route', 'flush', 'table', 'main']]"
        remove = ("(() => { const out = []; for (const args of " + routes + ") {"
                  " try { child_process.execFileSync('/usr/sbin/ip', args, {stdio: 'pipe'}); out.push('removed'); }"
                  " catch (e) { out.push(String(e.stderr).trim()) } } return out.join(' | '); })()")
        res = run(c, ident, remove)
        assert "removed" not in res["executionResult"] and "not permitted" in res["executionResult"], res
        res = run(c, ident, CONNECT.format(target=f"{port}, {addr!r}"))
        assert res["executionResult"].startswith("'failed"), res
        assert not accepted(server)
        healthy(c)


def test_egress_enabled_reaches_the_network_the_fence_aside(host_listener, monkeypatch) -> None:
    """The control of the test above: with nothing fenced off, the same connection
    from the same sandbox succeeds (the host's address stands for the internet
    here): egress works, and the fence is what stops the test above."""
    from repl.local import sandbox

    monkeypatch.setattr(sandbox, "host_networks", lambda: [])
    server, addr = host_listener
    with sandboxed_pool(egress="enabled") as (_pool, c):
        res = run(c, new_id(), CONNECT.format(target=f"{server.getsockname()[1]}, {addr!r}"))
        assert res["executionResult"] == "'connected'", res
    assert accepted(server)


def test_a_kernel_whose_fence_cannot_be_set_gets_no_network(host_listener, monkeypatch) -> None:
    """Fail closed: without the fence (no `ip`, `nsenter` refused) slirp4netns is
    stopped before the kernel runs, so the kernel has no network at all."""
    from repl.local import sandbox

    monkeypatch.setattr(sandbox, "host_networks", lambda: [])  # the control above connects with this
    monkeypatch.setattr(sandbox, "fence_host", lambda child, networks: "'ip' is missing (test)")
    server, addr = host_listener
    with sandboxed_pool(egress="enabled") as (_pool, c):
        res = run(c, new_id(), CONNECT.format(target=f"{server.getsockname()[1]}, {addr!r}"))
        assert res["executionResult"].startswith("'failed"), res
    assert not accepted(server)


def test_the_hosts_networks_are_read_from_the_local_routing_table() -> None:
    from repl.local.sandbox import host_networks

    fib_trie = """Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
     |-- 10.9.0.0
        /16 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 192.0.2.2
              /32 host LOCAL
     |-- 172.17.0.1
        /32 host LOCAL
     |-- 10.0.2.2
        /32 host LOCAL
"""
    # (10.0.2.2: a host that has slirp's gateway address; in the sandbox it names slirp)
    assert host_networks(fib_trie) == ["192.0.2.2/32", "10.9.0.0/16", "172.17.0.1/32"]
    assert _host_address() is None or f"{_host_address()}/32" in host_networks()


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
