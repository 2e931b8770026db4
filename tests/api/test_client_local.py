"""The client end to end against the local pool over real HTTP (both dialects)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import pytest

from repl.api import (
    AuthError,
    ConnectError,
    ExecutionStatus,
    MissingFileError,
    NotFoundError,
    SessionsClient,
    StaticToken,
)
from repl.api.errors import ApiError
from repl.api.retry import RetryPolicy


@pytest.fixture
async def client(local_pool):
    c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token),
                       arm_base=local_pool.arm_base, arm_auth=StaticToken(local_pool.token))
    yield c
    await c.aclose()


@pytest.fixture
async def legacy(local_pool):
    c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), api_version="2024-08-02-preview")
    yield c
    await c.aclose()


async def test_execute_current_state_persists(client, identifier):
    first = await client.execute("globalThis.answer = 41; console.log('hi'); 'set'", identifier=identifier)
    assert first.status is ExecutionStatus.SUCCEEDED and first.stdout == "hi\n"
    assert first.value_text == "'set'" and first.execution_id and first.round_trip_ms > 0
    second = await client.execute("answer + 1", identifier=identifier)
    assert second.ok and second.value == 42 and second.value_text == "42"
    assert client.dialect == "current" and client.api_version == "2025-10-02-preview"


async def test_execute_failure_is_an_execution(client, identifier):
    ex = await client.execute("throw new TypeError('nope')", identifier=identifier)
    assert ex.status is ExecutionStatus.FAILED and "TypeError" in ex.stderr and "nope" in ex.stderr
    assert not ex.ok


async def test_execute_legacy_dialect_state_persists(legacy, identifier):
    assert legacy.dialect == "legacy"
    a = await legacy.execute("var legacyVar = [1, 2]; console.error('warn')", identifier=identifier)
    assert a.ok and a.raw_status == "Success" and a.stderr == "warn\n"
    b = await legacy.execute("legacyVar", identifier=identifier)
    assert b.ok and b.value == [1, 2]


async def test_execute_asynchronous_polls_until_done(client, identifier):
    ex = await client.execute("$$.async(); setTimeout(() => $$.done(7 * 6), 300)", identifier=identifier,
                              asynchronous=True)
    assert ex.ok and ex.value == 42 and ex.round_trip_ms >= 250


async def test_execution_timeout(client, identifier):
    ex = await client.execute("while (true) {}", identifier=identifier, timeout=1)
    assert ex.status is ExecutionStatus.TIMED_OUT and not ex.ok


async def test_files_round_trip_byte_for_byte(client, identifier, tmp_path):
    data = os.urandom(300_000) + b"\x00\r\n\xff"
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    up = await client.upload(identifier, src, name="data.bin", directory="sub")
    assert up.name == "data.bin" and up.size == len(data) and up.directory == "sub"
    listed = await client.list_files(identifier, recursive=True)
    assert "sub/data.bin" in [f.path for f in listed]
    info = await client.file_info(identifier, "sub/data.bin")
    assert info.size == len(data) and not info.is_dir
    # The code sees it under /mnt/data.
    ex = await client.execute("require('fs').statSync('/mnt/data/sub/data.bin').size", identifier=identifier)
    assert ex.value == len(data)
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    assert await client.download(identifier, "sub/data.bin", dest) == len(data)
    assert dest.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "out.bin"]
    await client.delete_file(identifier, "sub/data.bin")
    with pytest.raises(NotFoundError):
        await client.file_info(identifier, "sub/data.bin")
    with pytest.raises(ApiError):
        await client.download(identifier, "sub/data.bin", dest)
    assert dest.read_bytes() == data  # a failed download leaves the old file alone


async def test_legacy_files_round_trip(legacy, identifier, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_bytes("héllo\nwörld\n".encode())
    up = await legacy.upload(identifier, src)
    assert up.name == "notes.txt" and up.size == src.stat().st_size
    assert [f.name for f in await legacy.list_files(identifier)] == ["notes.txt"]
    assert (await legacy.file_info(identifier, "notes.txt")).size == up.size
    assert await legacy.download(identifier, "notes.txt", tmp_path / "back.txt") == up.size
    assert (tmp_path / "back.txt").read_bytes() == src.read_bytes()
    await legacy.delete_file(identifier, "notes.txt")
    assert await legacy.list_files(identifier) == []


async def test_session_get_and_delete(client, identifier):
    await client.execute("globalThis.keep = 1", identifier=identifier)
    s = await client.get_session(identifier)
    now = datetime.now(UTC)
    assert s.identifier == identifier and s.expire_at is not None
    assert 0 < (s.expire_at - now).total_seconds() <= 61
    assert identifier in [x.identifier for x in await client.list_sessions()]
    await client.delete_session(identifier)
    ex = await client.execute("typeof keep", identifier=identifier)
    assert ex.value_text == "'undefined'"


async def test_metadata(client):
    md = await client.metadata()
    assert md.runtimes and md.runtimes[0].name == "node" and md.runtimes[0].version
    assert md.kernel_name


async def test_pool_status_via_local_arm(client, identifier):
    await client.execute("1", identifier=identifier)
    st = await client.pool_status()
    assert st.name == "local" and st.max_sessions == 64 and st.cooldown_seconds == 60
    assert st.sessions_in_use is not None and st.sessions_in_use >= 1
    assert st.runtime and st.runtime.startswith("node ")
    assert st.notes == ()
    assert identifier not in repr(st)


async def test_pool_status_when_arm_rejects(local_pool, identifier):
    c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token),
                       arm_base=local_pool.arm_base, arm_auth=StaticToken("wrong-token"))
    try:
        st = await c.pool_status()
    finally:
        await c.aclose()
    assert st.max_sessions is None and "max_sessions" in st.unknown and "cooldown_seconds" in st.unknown
    assert st.runtime and st.sessions_in_use is not None and st.name == "local"
    assert any("401" in n for n in st.notes)


async def test_wrong_token_is_auth_error(local_pool, identifier):
    c = SessionsClient(local_pool.endpoint, StaticToken("not-the-token-123"))
    try:
        with pytest.raises(AuthError) as ei:
            await c.execute("1", identifier=identifier)
    finally:
        await c.aclose()
    assert "not-the-token-123" not in str(ei.value) and identifier not in str(ei.value)


async def test_connection_refused_is_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = SessionsClient(f"http://127.0.0.1:{port}", StaticToken("t"), retry_policy=RetryPolicy(retries=1, base=0.01))
    try:
        with pytest.raises(ConnectError) as ei:
            await c.execute("1", identifier="x")
    finally:
        await c.aclose()
    assert "connection refused" in str(ei.value)


async def test_file_names_with_spaces_and_unicode(client, identifier, tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"data \xe2\x9c\x93")
    name = "my report é#1.txt"
    up = await client.upload(identifier, src, name=name)
    assert up.name == name
    assert name in [f.name for f in await client.list_files(identifier)]
    assert (await client.file_info(identifier, name)).size == src.stat().st_size
    assert await client.download(identifier, name, tmp_path / "back") == src.stat().st_size
    assert (tmp_path / "back").read_bytes() == src.read_bytes()
    await client.delete_file(identifier, name)
    assert await client.list_files(identifier) == []


async def test_explicit_2024_10_uses_current_route_answering_202(local_pool, identifier):
    c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), api_version="2024-10-02-preview")
    try:
        ex = await c.execute("'a' + 'b'", identifier=identifier)
        assert ex.ok and ex.value_text == "'ab'" and c.dialect == "current"
        # Files at 2024-10-02-preview use the current routes and shapes.
        assert await c.list_files(identifier) == []
    finally:
        await c.aclose()


async def test_legacy_client_still_reads_session_and_metadata(legacy, identifier):
    await legacy.execute("1", identifier=identifier)
    s = await legacy.get_session(identifier)
    assert s.identifier == identifier and s.expire_at is not None
    assert (await legacy.metadata()).runtimes


# --- one negotiated dialect, files before the first execute --------------------------------


@pytest.mark.parametrize("version", ["2024-08-02-preview", "2024-02-02-preview"])
async def test_explicit_legacy_version_files_before_the_first_execute(local_pool, identifier, tmp_path, version):
    c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), api_version=version)
    try:
        src = tmp_path / "first.txt"
        src.write_bytes(b"before any execute\n")
        up = await c.upload(identifier, src, directory="in")
        assert (up.name, up.directory, up.size) == ("first.txt", "in", src.stat().st_size)
        assert [f.path for f in await c.list_files(identifier)] == ["in/first.txt"]
        assert (await c.file_info(identifier, "in/first.txt")).size == up.size
        assert await c.download(identifier, "in/first.txt", tmp_path / "back") == up.size
        assert (tmp_path / "back").read_bytes() == src.read_bytes()
        ex = await c.execute("require('fs').readFileSync('/mnt/data/in/first.txt', 'utf8')", identifier=identifier)
        assert ex.ok and ex.raw_status == "Success" and "before any execute" in ex.value_text
        await c.delete_file(identifier, "in/first.txt")
        with pytest.raises(MissingFileError):
            await c.file_info(identifier, "in/first.txt")
        assert (c.dialect, c.api_version) == ("legacy", version)
    finally:
        await c.aclose()


async def test_default_client_files_first_keep_the_current_dialect(local_pool, identifier, tmp_path):
    """The local pool serves the current version: a file operation first settles it, no fall back."""
    c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token))
    try:
        assert await c.list_files(identifier) == []
        assert (c.dialect, c.api_version) == ("current", "2025-10-02-preview")
        ex = await c.execute("1+1", identifier=identifier)
        assert ex.ok and ex.raw_status == "Succeeded"
    finally:
        await c.aclose()


# --- a missing file is not a wrong endpoint -------------------------------------------------


@pytest.mark.parametrize("op", ["download", "file_info", "delete_file", "list_files"])
async def test_missing_file_says_so_before_any_other_request(local_pool, identifier, tmp_path, op):
    c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token))
    try:
        with pytest.raises(MissingFileError) as ei:
            if op == "download":
                await c.download(identifier, "sub/nope.txt", tmp_path / "nope.txt")
            elif op == "list_files":
                await c.list_files(identifier, directory="sub")
            else:
                await getattr(c, op)(identifier, "sub/nope.txt")
        text = str(ei.value)
        assert ("/mnt/data/sub" if op == "list_files" else "/mnt/data/sub/nope.txt") in text
        assert "endpoint" not in text and "pool name" not in text and ei.value.code == "FileNotFound"
        assert (c.dialect, c.api_version) == ("current", "2025-10-02-preview")  # no fall back
        assert identifier not in text and local_pool.token not in text
        assert list(tmp_path.iterdir()) == []
    finally:
        await c.aclose()


async def test_wrong_endpoint_is_not_a_missing_file(local_pool, identifier, tmp_path):
    c = SessionsClient(local_pool.endpoint + "/no-such-pool", StaticToken(local_pool.token))
    try:
        with pytest.raises(NotFoundError) as ei:
            await c.download(identifier, "data.csv", tmp_path / "d")
        assert not isinstance(ei.value, MissingFileError) and "endpoint" in str(ei.value)
        with pytest.raises(NotFoundError) as e2:
            await c.execute("1", identifier=identifier)
        assert not isinstance(e2.value, MissingFileError) and "endpoint" in str(e2.value)
        assert "pool name" in str(e2.value)
    finally:
        await c.aclose()


# --- paths relative to /mnt/data -------------------------------------------------------------


async def test_list_of_a_subdirectory_gives_paths_from_mnt_data(client, identifier, tmp_path):
    src = tmp_path / "f"
    for name, data in (("sub/top.txt", b"top"), ("sub/deeper/low.txt", b"lower"), ("other.txt", b"o")):
        src.write_bytes(data)
        await client.upload(identifier, src, name=name)
    flat = await client.list_files(identifier, directory="sub")
    assert sorted((f.path, f.is_dir) for f in flat) == [("sub/deeper", True), ("sub/top.txt", False)]
    assert {f.directory for f in flat} == {"sub"}
    deep = await client.list_files(identifier, directory="/mnt/data/sub", recursive=True)
    assert sorted(f.path for f in deep) == ["sub/deeper", "sub/deeper/low.txt", "sub/top.txt"]
    nested = await client.list_files(identifier, directory="sub/deeper")
    assert [(f.path, f.directory, f.name) for f in nested] == [("sub/deeper/low.txt", "sub/deeper", "low.txt")]
    # Every listed path works as-is for the other file operations.
    for f in deep:
        if not f.is_dir:
            assert (await client.file_info(identifier, f.path)).path == f.path
            assert await client.download(identifier, f.path, tmp_path / "x") == f.size
    await client.delete_file(identifier, "sub/deeper/low.txt")
    assert [f.path for f in await client.list_files(identifier, directory="sub", recursive=True)] \
        == ["sub/deeper", "sub/top.txt"]


async def test_legacy_list_of_a_subdirectory_gives_paths_from_mnt_data(legacy, identifier, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"x")
    up = await legacy.upload(identifier, src, name="a/b/c.txt")
    assert up.path == "a/b/c.txt"
    assert [f.path for f in await legacy.list_files(identifier, directory="a")] == ["a/b/c.txt"]
    assert [f.path for f in await legacy.list_files(identifier)] == ["a/b/c.txt"]


async def test_upload_and_download_are_streamed(client, identifier, tmp_path):
    """A 24 MB file goes up and comes back without the client holding it in memory."""
    import tracemalloc

    size = 24 * 1024 * 1024
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for _ in range(size // (1024 * 1024)):
            f.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        up = await client.upload(identifier, src)
        _, peak_up = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        got = await client.download(identifier, "big.bin", tmp_path / "back.bin")
        _, peak_down = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert up.size == size and got == size
    assert peak_up < size // 4 and peak_down < size // 4, (peak_up, peak_down)
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()


async def test_service_errors_over_real_http(client, identifier):
    """The local pool's own 400s map to the right classes, with its request id, no identifier."""
    from repl.api import BadRequestError, SessionNotFoundError

    with pytest.raises(SessionNotFoundError) as ei:
        await client.get_session(identifier)  # never used: no such session
    assert ei.value.code == "SessionWithIdentifierNotFound" and ei.value.request_id
    assert str(ei.value).endswith(f"(request id {ei.value.request_id})") and identifier not in str(ei.value)
    bad = "not allowed: é"
    with pytest.raises(BadRequestError) as e2:
        await client.execute("1", identifier=bad)
    assert e2.value.code == "SessionRequestValidationFailed" and e2.value.status_code == 400
    assert bad not in str(e2.value) and e2.value.request_id
    assert client.dialect == "current"  # a validation error is no reason to change dialect


async def test_download_gives_a_normal_new_file_mode(local_pool, identifier, tmp_path) -> None:
    """The client writes through a private temporary file (0600), and the file it
    leaves is a normal new file (0666 less the umask), as ``curl -o`` makes."""
    import os

    from repl.api.auth import StaticToken
    from repl.api.client import SessionsClient

    src = tmp_path / "mode.txt"
    src.write_bytes(b"mode")
    async with SessionsClient(local_pool.endpoint, StaticToken(local_pool.token)) as client:
        await client.upload(identifier, src)
        dest = tmp_path / "out.txt"
        await client.download(identifier, "mode.txt", dest)
        await client.delete_session(identifier)
    umask = os.umask(0o022)
    os.umask(umask)
    assert dest.read_bytes() == b"mode"
    assert (dest.stat().st_mode & 0o777) == 0o666 & ~umask
