"""open_connection: the embedded pool, explicit endpoints and their auth, labels."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from repl.api.auth import AzureToken, NoAuth, StaticToken
from repl.api.errors import ApiError
from repl.config import Settings
from repl.connection import endpoint_label, open_connection

AZ = "https://eastus.dynamicsessions.io/subscriptions/sub-1/resourceGroups/rg-1/sessionPools/my-pool"


def test_endpoint_labels() -> None:
    assert endpoint_label(AZ) == "my-pool (eastus)"
    assert endpoint_label(AZ + "/") == "my-pool (eastus)"
    local = "http://127.0.0.1:8700/subscriptions/0/resourceGroups/local/sessionPools/local"
    assert endpoint_label(local) == "local pool 127.0.0.1:8700"
    assert endpoint_label("https://proxy.example.com/pools/x") == "proxy.example.com"


async def test_azure_endpoint_with_static_token() -> None:
    conn = await open_connection(Settings(endpoint=AZ, token="tok", api_version="2024-10-02-preview"))
    try:
        assert conn.kind == "azure" and conn.pool is None
        assert conn.endpoint == AZ and conn.label == "my-pool (eastus)"
        assert isinstance(conn.client.auth, StaticToken)
        assert await conn.client.auth.token() == "tok"
        # ARM needs its own audience: never the data-plane token
        assert isinstance(conn.client.arm_auth, AzureToken)
        assert conn.client.arm_auth.scope == "https://management.azure.com/.default"
        assert conn.client.api_version == "2024-10-02-preview"
    finally:
        await conn.aclose()


async def test_azure_endpoint_without_token_uses_azure_identity_lazily() -> None:
    conn = await open_connection(Settings(endpoint=AZ))
    try:
        assert isinstance(conn.client.auth, AzureToken)
        assert conn.client.auth.scope == "https://dynamicsessions.io/.default"
    finally:
        await conn.aclose()


async def test_local_endpoint_without_token_sends_none() -> None:
    conn = await open_connection(Settings(endpoint="http://127.0.0.1:9/x"))
    try:
        assert conn.kind == "local"
        assert isinstance(conn.client.auth, NoAuth)
    finally:
        await conn.aclose()


async def test_pool_without_subscription_is_an_api_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))  # no azureProfile.json there
    with pytest.raises(ApiError, match="subscription"):
        await open_connection(Settings(pool="p", resource_group="rg"))


async def test_embedded_pool_runs_code_and_stops_on_close() -> None:
    started = time.monotonic()
    conn = await open_connection(Settings())
    opened_in = time.monotonic() - started
    try:
        assert conn.kind == "local" and conn.pool is not None
        assert conn.endpoint.startswith("http://127.0.0.1:")
        assert conn.label.startswith("local pool 127.0.0.1:")
        assert opened_in < 5, opened_in  # binds and returns; kernels start in the background
        ex = await conn.client.execute("globalThis.z = 20; z + 22", identifier="conn-test")
        assert ex.ok and ex.value == 42
        ex = await conn.client.execute("z", identifier="conn-test")
        assert ex.value == 20
    finally:
        await conn.aclose()
    with pytest.raises(httpx.HTTPError):
        async with httpx.AsyncClient() as http:
            await http.get(conn.endpoint + "/metadata", timeout=2)


async def test_open_connection_does_not_block_the_event_loop() -> None:
    """The embedded pool binds and serves from its own thread and the client is built
    off the loop: a ticker on the loop keeps running while the connection opens."""
    import asyncio

    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    conn = await open_connection(Settings())
    stop.set()
    await task
    try:
        assert conn.kind == "local"
        assert max(gaps) < 0.3, max(gaps)
    finally:
        await conn.aclose()


async def test_close_right_after_open_is_quick() -> None:
    for _ in range(2):
        conn = await open_connection(Settings())
        started = time.monotonic()
        await conn.aclose()
        assert time.monotonic() - started < 8


def _child_processes() -> set[int]:
    """Pids of this process's live (not zombie) children, from /proc."""
    import os

    me, kids = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == me and fields[0] != "Z":
            kids.add(int(entry.name))
    return kids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see child processes")
async def test_close_right_after_open_stops_the_server_and_its_kernels() -> None:
    """aclose() before the pool's thread is up still stops it: the thread ends, the
    port refuses, and no kernel process is left behind."""
    import asyncio

    before = _child_processes()
    for _ in range(3):
        conn = await open_connection(Settings())
        pool = conn.pool
        await conn.aclose()
        assert pool is not None and not pool.running  # the server thread ended
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as http:
                await http.get(pool.endpoint + "/metadata", timeout=2)
    deadline = time.monotonic() + 5
    while _child_processes() - before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert _child_processes() - before == set()


async def test_no_node_is_said_at_once_and_the_pool_started_meanwhile_is_gone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The embedded pool starts before Node.js is checked (its kernel starts while
    the client's modules load); without a usable Node the check still raises
    NodeNotFound, and the pool it started is stopped: no thread, no directory."""
    import tempfile
    import threading

    from repl.local.node import NodeNotFound

    monkeypatch.setenv("ACAJS_NODE", str(tmp_path / "no-such-node"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the pool's directory goes
    before = set(threading.enumerate())  # (other tests' pools may be running)
    with pytest.raises(NodeNotFound, match="ACAJS_NODE"):
        await open_connection(Settings(), wait_ready=True, one_shot=True)
    assert not [t for t in set(threading.enumerate()) - before if t.name == "acajs-local-pool"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("acajs-pool-")] == []
