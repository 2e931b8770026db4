"""Shared fixtures: a real local pool over HTTP, fresh identifiers, private user dirs.

``local_pool`` is one ``EmbeddedPool`` for the whole test run: real HTTP on
127.0.0.1, real Node kernels.  It yields the pool itself; rely only on
``.endpoint`` (the data-plane endpoint, Azure-shaped), ``.arm_base`` (for the
ARM-shaped pool route) and ``.token`` (send ``Authorization: Bearer <token>``).
Use a fresh ``identifier`` per test so tests never share session state; the
sessions a test creates in ``local_pool`` are deleted when it ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings

if TYPE_CHECKING:
    import httpx

# Short enough that idle sessions of finished tests go away during a run, long
# enough that no test's session expires under it.
TEST_COOLDOWN_SECONDS = 60
# Sessions a test creates are deleted when it ends (below); leave room anyway.
TEST_MAX_SESSIONS = 64  # tests of the client assert this value: keep it


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read or write the real user config and data directories."""
    base = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("ACAJS_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("ACAJS_DATA_DIR", str(base / "data"))


def running_pool(settings: PoolSettings) -> Iterator[EmbeddedPool]:
    """An embedded pool serving for as long as the generator is open (for fixtures)."""
    pool = EmbeddedPool(settings).start()
    pool.wait_started()
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="session")
def local_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPool]:
    yield from running_pool(
        PoolSettings(
            max_sessions=TEST_MAX_SESSIONS,
            ready=1,
            cooldown=TEST_COOLDOWN_SECONDS,
            data_dir=tmp_path_factory.mktemp("local-pool"),
        )
    )


#: The cooldown of ``short_pool``: sessions expire while a test watches.
SHORT_COOLDOWN_SECONDS = 3


@pytest.fixture(scope="session")
def short_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPool]:
    """A second local pool whose sessions expire after ``SHORT_COOLDOWN_SECONDS``
    (session continuity: warnings, expiry, replay, keep-alive)."""
    yield from running_pool(
        PoolSettings(
            max_sessions=16, ready=1, cooldown=SHORT_COOLDOWN_SECONDS, data_dir=tmp_path_factory.mktemp("short-pool")
        )
    )


@pytest.fixture(autouse=True)
def _release_local_pool_sessions(request: pytest.FixtureRequest) -> Iterator[None]:
    """Delete the sessions a test created in ``local_pool`` when it ends.

    Keeps the shared pool small (each session is a Node process) so a long test
    run never reaches its capacity.  Sessions that existed before the test, such
    as those made while setting up module- or session-scoped fixtures, are left alone.
    """
    if "local_pool" not in request.fixturenames:
        yield
        return
    pool = request.getfixturevalue("local_pool")

    async def identifiers() -> set[str]:  # read on the pool's own loop
        return {s.identifier for s in pool.pool.sessions()}

    before = pool.run(identifiers())
    yield
    if not pool.running:
        return

    async def release() -> None:
        for s in pool.pool.sessions():
            if s.identifier not in before:
                await pool.pool.delete(s.identifier)

    pool.run(release())


@pytest.fixture
def identifier() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def pool_http(local_pool: EmbeddedPool) -> Iterator[httpx.Client]:
    """An httpx client for ``local_pool`` with its bearer token and base URL set."""
    import httpx

    with httpx.Client(
        base_url=local_pool.endpoint,
        headers={"Authorization": f"Bearer {local_pool.token}"},
        timeout=60,
    ) as client:
        yield client


@pytest.fixture
async def engine(local_pool, tmp_path: Path):
    """A ``ReplEngine`` on ``local_pool`` with a private history file and a
    fresh identifier; its client is closed afterwards."""
    from repl.api.auth import StaticToken
    from repl.api.client import SessionsClient
    from repl.connection import Connection
    from repl.engine import ReplEngine
    from repl.history import History

    client = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), arm_base=local_pool.arm_base)
    conn = Connection(client=client, kind="local", endpoint=local_pool.endpoint, label="test pool")
    eng = ReplEngine(conn, history=History(tmp_path / "history.jsonl"), timeout=20)
    try:
        yield eng
    finally:
        await client.aclose()
