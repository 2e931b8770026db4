"""The OS sandbox as session code and the pool's users see it: ordinary Node APIs
behave as in a normal Node, files the pool stores are the session's, the pool
says which protection is active, and the fallbacks are what they say."""

from __future__ import annotations

import os

import pytest

from repl.local import sandbox
from repl.local.settings import PoolSettings
from tests.local.sandbox_support import V, new_id, require_bwrap, run, sandboxed_pool


def test_ordinary_node_apis_behave_as_in_node() -> None:
    with sandboxed_pool() as (_pool, c):
        ident = new_id()
        cases: dict[str, object] = {
            "fs.existsSync('/no/such')": False,
            "(() => { try { fs.readFileSync('/no/such') } catch (e) { return e.code } })()": "'ENOENT'",
            "child_process.execSync('echo hi').toString()": "'hi\\n'",
            "$$.async(); new worker_threads.Worker('require(\"worker_threads\").parentPort.postMessage(6 * 7)',"
            " {eval: true}).on('message', (v) => $$.done(v))": 42,
            "process.cwd()": "'/mnt/data'",
            "os.tmpdir()": "'/tmp'",
        }
        for code, expected in cases.items():
            res = run(c, ident, code)
            assert (res["status"], res["executionResult"]) == ("Succeeded", expected), (code, res)


def test_files_the_pool_stores_are_the_sessions_own() -> None:
    """Uploads (and directories the files API makes) can be changed by session code,
    as on the service, though the pool runs as root and the kernel as nobody."""
    with sandboxed_pool() as (_pool, c):
        ident = new_id()
        run(c, ident, "1")
        r = c.post("/files", params={"api-version": V, "identifier": ident, "path": "sub"},
                   files={"file": ("up.txt", b"uploaded\n")})
        assert r.status_code in (200, 201), r.text
        res = run(c, ident, "fs.appendFileSync('/mnt/data/sub/up.txt', 'appended\\n');"
                            "fs.writeFileSync('/mnt/data/sub/new.txt', 'x');"
                            "fs.readFileSync('/mnt/data/sub/up.txt', 'utf8')")
        assert res["executionResult"] == "'uploaded\\nappended\\n'", res
        got = c.get("/files/up.txt/content", params={"api-version": V, "identifier": ident, "path": "sub"})
        assert got.content == b"uploaded\nappended\n"


def test_protection_says_which_layer_is_active(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.protection(PoolSettings(sandbox=False)).kind == "none"
    fallback = sandbox.protection(PoolSettings(os_sandbox=False), node_permission_flag="--permission")
    assert fallback.kind == "node-permission" and "--os-sandbox off" in fallback.missing
    require_bwrap()
    assert sandbox.protection(PoolSettings()).kind == "bwrap"
    assert "empty network namespace" in sandbox.protection(PoolSettings(egress="disabled")).network
    monkeypatch.setattr(sandbox, "slirp_status", lambda: (None, "slirp4netns is not installed"))
    assert "egress is not available" in sandbox.protection(PoolSettings()).network


def test_without_slirp4netns_egress_enabled_has_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the host's namespace: the kernel's network is then its own loopback only."""
    monkeypatch.setattr(sandbox, "slirp_status", lambda: (None, "slirp4netns is not installed"))
    with sandboxed_pool(egress="enabled") as (_pool, c):
        res = run(c, new_id(), "Object.keys(os.networkInterfaces()).join(',')")
        assert res["executionResult"] == "'lo'", res


def test_the_permission_model_fallback_is_used_when_the_os_sandbox_is_off() -> None:
    from repl.local.embedded import EmbeddedPool

    with EmbeddedPool(PoolSettings(os_sandbox=False, ready=0)) as pool:
        assert pool.pool.protection["kind"] == "node-permission"
        import httpx

        with httpx.Client(base_url=pool.endpoint, headers={"Authorization": f"Bearer {pool.token}"}) as c:
            res = run(c, new_id(), "child_process.execSync('echo hi')")
            assert res["status"] == "Failed" and ("ERR_ACCESS_DENIED" in res["stderr"] or "restricted" in res["stderr"])


def test_a_root_pools_kernel_is_nobody() -> None:
    if os.geteuid() != 0:
        pytest.skip("the pool runs as an ordinary user: the kernel keeps that uid")
    with sandboxed_pool() as (_pool, c):
        res = run(c, new_id(), "[process.getuid(), process.getgid(), os.userInfo().username].join(',')")
        assert res["executionResult"] == "'65534,65534,nobody'", res


def test_adopting_files_never_follows_links(tmp_path) -> None:
    """Session code may plant links in its directory before the pool adopts what it
    made there: a link (or what a hard link shares) is never handed over."""
    if os.geteuid() != 0:
        pytest.skip("adoption happens only when the pool runs as root")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "host.txt").write_text("host")
    session = tmp_path / "session"
    (session / "sub").mkdir(parents=True)
    (session / "sub" / "up.txt").write_text("uploaded")
    (session / "link").symlink_to(outside)
    os.link(outside / "host.txt", session / "hard.txt")
    changed = sandbox.adopt_tree(session, 65534, 65534)
    assert changed == 3  # session, sub, sub/up.txt
    assert (session / "sub" / "up.txt").stat().st_uid == 65534
    assert (outside / "host.txt").stat().st_uid == 0 and outside.stat().st_uid == 0
    assert os.lstat(session / "link").st_uid == 0


def test_a_root_pools_kernel_has_a_process_limit() -> None:
    """A fork bomb ends at RLIMIT_NPROC (the attack itself is not run: the machine
    is shared); the limit is checked where it applies, on the kernel's processes."""
    if os.geteuid() != 0:
        pytest.skip("the limit is set when the pool runs as root (the kernel's uid is then its own)")
    with sandboxed_pool() as (_pool, c):
        res = run(c, new_id(), "fs.readFileSync('/proc/self/limits', 'utf8').split('\\n')"
                               ".find((l) => l.startsWith('Max processes')).split(/\\s+/).slice(2, 4).join(',')")
        assert res["executionResult"] == f"'{sandbox.MAX_TASKS},{sandbox.MAX_TASKS}'", res
