"""Attack: directory trees a session can make (deep chains, huge directories,
links inside them) against listing and deletion.

Whatever tree the session makes, the pool lists it, deletes it (DELETE file,
DELETE session, the stale-directory sweep at start), never follows a link out
of it, and other sessions are served while it works.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from repl.local import handlers_files
from repl.local.fileaccess import DIR_FLAGS
from repl.local.pool import OWNER_FILE, ROOT_PREFIX, remove_stale_roots
from tests.local.http_attack import tree_depth

V = "2025-10-02-preview"
CHAIN_JS = "let p='/mnt/data'; for (let i=0;i<1500;i++){p+='/d'; require('fs').mkdirSync(p)}"


def run(pool_http: httpx.Client, identifier: str, code: str) -> dict:
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier},
                       json={"codeInputType": "Inline", "executionType": "Synchronous", "code": code,
                             "timeoutInSeconds": 120})
    assert r.status_code == 200, r.text
    return r.json()


def session_dir(local_pool, identifier: str) -> Path:
    session = local_pool.pool.get(identifier)
    assert session is not None
    return Path(session.directory)


def make_chain(top: Path, depth: int, *, leaf_link_to: Path | None = None) -> None:
    """``depth`` nested ``d`` directories under ``top``, made through descriptors
    (so deeper than PATH_MAX is fine), with a file or a link at the bottom."""
    fd = os.open(top, DIR_FLAGS)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        if leaf_link_to is not None:
            os.symlink(leaf_link_to, "link", dir_fd=fd)
        leaf = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"bottom")
        os.close(leaf)
    finally:
        os.close(fd)


def test_a_1500_level_chain_made_by_one_line_of_js_is_listed_and_deleted(
    local_pool, pool_http: httpx.Client, identifier: str
) -> None:
    out = run(pool_http, identifier, CHAIN_JS)
    assert out["status"] == "Succeeded", out
    top = session_dir(local_pool, identifier)
    assert tree_depth(top) == 1500
    q = {"api-version": V, "identifier": identifier}

    r = pool_http.get("/files", params={**q, "recursive": "true"})
    assert r.status_code == 200, r.text[:300]
    dirs = [e for e in r.json()["value"] if e["type"] == "Directory"]
    assert len(dirs) == 1500
    assert max(len(e["directory"]) for e in dirs) == len("/".join(["d"] * 1499))

    legacy = pool_http.get("/files", params={**q, "api-version": "2024-08-02-preview"})
    assert legacy.status_code == 200 and legacy.json()["value"] == []  # files only: none

    deep = "/".join(["d"] * 1000)
    r = pool_http.get("/files", params={**q, "path": deep})
    assert r.status_code == 200 and [e["name"] for e in r.json()["value"]] == ["d"]

    assert pool_http.delete("/files/d", params=q).status_code == 204
    assert not (top / "d").exists()

    # Again, and this time the whole session goes.
    assert run(pool_http, identifier, "{" + CHAIN_JS + "}")["status"] == "Succeeded"  # p is declared
    r = pool_http.delete("/session", params=q)
    assert r.status_code == 204, r.text
    assert not top.exists()
    assert local_pool.pool.get(identifier) is None


def test_a_chain_deeper_than_path_max(local_pool, pool_http: httpx.Client, identifier: str) -> None:
    """3,000 levels (a path of 6,000 bytes, beyond PATH_MAX): no path is ever built."""
    run(pool_http, identifier, "1")
    top = session_dir(local_pool, identifier)
    make_chain(top, 3000)
    q = {"api-version": V, "identifier": identifier}
    r = pool_http.get("/files", params={**q, "recursive": "true"})
    assert r.status_code == 200
    names = [e["name"] for e in r.json()["value"]]
    assert names.count("d") == 3000 and names.count("leaf.txt") == 1
    legacy = pool_http.get("/files", params={**q, "api-version": "2024-02-02-preview"})
    assert legacy.status_code == 200
    [leaf] = legacy.json()["value"]
    assert leaf["properties"]["filename"] == "/".join(["d"] * 3000) + "/leaf.txt"
    assert pool_http.delete("/session", params=q).status_code == 204
    assert not top.exists()


def test_links_deep_in_a_tree_are_skipped_and_never_followed_by_delete(
    local_pool, pool_http: httpx.Client, identifier: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    run(pool_http, identifier, "1")
    top = session_dir(local_pool, identifier)
    make_chain(top, 1200, leaf_link_to=outside)
    q = {"api-version": V, "identifier": identifier}
    r = pool_http.get("/files", params={**q, "recursive": "true"})
    assert r.status_code == 200
    assert "link" not in {e["name"] for e in r.json()["value"]}
    assert "precious.txt" not in {e["name"] for e in r.json()["value"]}
    assert pool_http.delete("/files/d", params=q).status_code == 204
    assert (outside / "precious.txt").read_text() == "keep me"
    assert not (top / "d").exists()


def test_unreadable_and_unwritable_directories_are_deleted(
    local_pool, pool_http: httpx.Client, identifier: str
) -> None:
    run(pool_http, identifier, "1")
    top = session_dir(local_pool, identifier)
    make_chain(top, 50)
    locked = top / "locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "f").write_text("x")
    (locked / "inner").chmod(0o000)
    locked.chmod(0o500)
    q = {"api-version": V, "identifier": identifier}
    assert pool_http.delete("/files/locked", params=q).status_code == 204
    assert not locked.exists()


def _blocking(real, started: threading.Event, release: threading.Event):
    def wrapper(*args, **kwargs):
        started.set()
        # Held until another session has been served: on the event loop this
        # would deadlock (the other request could never be answered).
        assert release.wait(60), "the other session was not served while this ran"
        return real(*args, **kwargs)

    return wrapper


@pytest.mark.timeout(600)  # 100,000 files made, listed or deleted: minutes on a loaded CI machine
@pytest.mark.parametrize("operation", ["list", "delete"])
def test_100k_files_never_stall_other_sessions(
    local_pool, pool_http: httpx.Client, identifier: str, monkeypatch: pytest.MonkeyPatch, operation: str,
    tmp_path: Path,
) -> None:
    # Made aside and moved in, so a slow machine cannot let the session expire meanwhile.
    aside = tmp_path / "many"
    aside.mkdir()
    fd = os.open(aside, DIR_FLAGS)
    try:
        for i in range(100_000):
            os.close(os.open(f"f{i}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    run(pool_http, identifier, "1")
    many = session_dir(local_pool, identifier) / "many"
    os.rename(aside, many)
    started, release = threading.Event(), threading.Event()
    name = "walk" if operation == "list" else "remove_at"
    monkeypatch.setattr(handlers_files, name, _blocking(getattr(handlers_files, name), started, release))
    q = {"api-version": V, "identifier": identifier}
    result: dict[str, httpx.Response] = {}

    def big() -> None:
        with httpx.Client(base_url=local_pool.endpoint, headers=dict(pool_http.headers), timeout=120) as c:
            if operation == "list":
                result["r"] = c.get("/files", params={**q, "path": "many"})
            else:
                result["r"] = c.delete("/files/many", params=q)

    worker = threading.Thread(target=big)
    worker.start()
    try:
        assert started.wait(60)
        other = run(pool_http, str(uuid.uuid4()), "'served meanwhile'")
        assert other["result"]["executionResult"] == "'served meanwhile'"
        assert pool_http.get("/session", params=q).status_code == 200
    finally:
        release.set()
        worker.join(120)
    r = result["r"]
    if operation == "list":
        assert r.status_code == 200 and len(r.json()["value"]) == 100_000
    else:
        assert r.status_code == 204 and not many.exists()


def test_stale_pool_directories_with_deep_trees_are_swept(tmp_path: Path) -> None:
    """A pool killed without cleanup leaves its directory; the next pool's start
    removes it, whatever depth its sessions left behind."""
    stale = tmp_path / f"{ROOT_PREFIX}dead"
    (stale / "sessions" / "s1").mkdir(parents=True)
    (stale / OWNER_FILE).write_text("999999999 1")  # no such process
    make_chain(stale / "sessions" / "s1", 2500)
    assert remove_stale_roots(tmp_path) == [stale]
    assert not stale.exists()
