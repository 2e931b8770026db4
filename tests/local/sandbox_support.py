"""Helpers of the attack tests: a real local pool with the OS sandbox, sessions run over HTTP."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from repl.local.embedded import EmbeddedPool
from repl.local.sandbox import bwrap_status
from repl.local.settings import PoolSettings

V = "2025-10-02-preview"


def require_bwrap() -> None:
    """Skip when bubblewrap is missing, except under CI (which installs it): fail there."""
    if shutil.which("bwrap") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bwrap is missing under CI; .ci/run installs bubblewrap")
        pytest.skip("bubblewrap (bwrap) is not installed")
    path, why = bwrap_status()
    assert path, f"bwrap is installed but cannot sandbox here: {why}"


@contextmanager
def sandboxed_pool(**settings: Any) -> Iterator[tuple[EmbeddedPool, httpx.Client]]:
    require_bwrap()
    settings.setdefault("ready", 0)
    settings.setdefault("max_sessions", 8)
    with EmbeddedPool(PoolSettings(**settings)) as pool:
        assert pool.pool.protection["kind"] == "bwrap", pool.pool.protection
        with httpx.Client(base_url=pool.endpoint, headers={"Authorization": f"Bearer {pool.token}"},
                          timeout=120) as c:
            yield pool, c


def run(c: httpx.Client, identifier: str, code: str, timeout: int = 15) -> dict[str, Any]:
    """The ``result`` of a synchronous execution (asserting the request itself succeeded)."""
    r = c.post("/executions", params={"api-version": V, "identifier": identifier},
               json={"codeInputType": "Inline", "executionType": "Synchronous", "code": code,
                     "timeoutInSeconds": timeout})
    assert r.status_code == 200, r.text
    body = r.json()
    return {"status": body["status"], **body["result"]}


def new_id() -> str:
    return str(uuid.uuid4())


def healthy(c: httpx.Client, identifier: str | None = None) -> None:
    """The server answers and a session (a fresh one unless given) still computes."""
    res = run(c, identifier or new_id(), "6 * 7")
    assert (res["status"], res["executionResult"]) == ("Succeeded", 42), res


def kernel_pid(pool: EmbeddedPool, identifier: str) -> int:
    session = pool.pool.get(identifier)
    assert session is not None and session.kernel is not None
    return int(session.kernel.pid)
