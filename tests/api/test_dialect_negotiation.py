"""One negotiated dialect for execute and files, and missing files vs wrong endpoints (respx).

A server that only knows the legacy api-version cannot be made from the local
pool (it serves every version), so it is imitated here; the same operations
against the local pool are in test_client_local.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from repl.api import MissingFileError, NotFoundError, RetryPolicy, SessionsClient, StaticToken

EP = "https://eastus.dynamicsessions.io/subscriptions/sub1/resourceGroups/rg1/sessionPools/pool1"
TOKEN = "eyJTOKEN-negotiation-secret"
CURRENT_V = "2025-10-02-preview"
LEGACY_V = "2024-10-02-preview"
OK_LEGACY = {"$id": "1", "properties": {"$id": "2", "status": "Success", "stdout": "", "stderr": "",
                                        "executionResult": 2, "executionTimeInMilliseconds": 5}}
REFUSALS = {
    "404": lambda: httpx.Response(404),
    "400-not-supported": lambda: httpx.Response(
        400, json={"error": {"code": "SessionRequestNotSupported", "message": "api-version not supported"}},
        headers={"x-ms-error-code": "SessionRequestNotSupported"}),
}


async def _no_sleep(_s: float) -> None:
    return None


@pytest.fixture
async def client():
    c = SessionsClient(EP, StaticToken(TOKEN), retry_policy=RetryPolicy(sleep=_no_sleep))
    yield c
    await c.aclose()


class LegacyOnlyServer:
    """Answers only api-version 2024-10-02-preview (code/execute and the files routes);
    every request at another version gets ``refusal``. Records (method, path, version)."""

    def __init__(self, refusal: str) -> None:
        self.refusal = REFUSALS[refusal]
        self.calls: list[tuple[str, str, str]] = []
        self.files: dict[str, bytes] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        version = request.url.params.get("api-version", "")
        path = request.url.path[len("/subscriptions/sub1/resourceGroups/rg1/sessionPools/pool1"):]
        self.calls.append((request.method, path, version))
        if version != LEGACY_V:
            return self.refusal()
        if request.method == "POST" and path == "/code/execute":
            assert json.loads(request.content)["properties"]["code"]
            return httpx.Response(200, json=OK_LEGACY)
        if request.method == "POST" and path == "/files":
            body = request.read()
            name = body.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
            self.files[name] = body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
            return httpx.Response(200, json={"name": name, "type": "File", "sizeInBytes": len(self.files[name])})
        if request.method == "GET" and path == "/files":
            return httpx.Response(200, json={"value": [{"name": n, "type": "File", "sizeInBytes": len(b)}
                                                       for n, b in self.files.items()]})
        name = path.split("/")[2] if path.startswith("/files/") else ""
        if name not in self.files:
            return httpx.Response(404, json={"error": {"code": "FileNotFound", "message": "no such file"}})
        if request.method == "GET" and path.endswith("/content"):
            return httpx.Response(200, content=self.files[name])
        if request.method == "GET":
            return httpx.Response(200, json={"name": name, "type": "File", "sizeInBytes": len(self.files[name])})
        if request.method == "DELETE":
            del self.files[name]
            return httpx.Response(204)
        return httpx.Response(405)


@respx.mock
@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_upload_before_execute_falls_back_for_everything(client, refusal, tmp_path: Path):
    server = LegacyOnlyServer(refusal)
    respx.route(url__startswith=EP).mock(side_effect=server)
    src = tmp_path / "a.txt"
    src.write_bytes(b"hello")
    info = await client.upload("s", src)
    assert (info.name, info.size) == ("a.txt", 5)
    assert server.calls == [("POST", "/files", CURRENT_V), ("POST", "/files", LEGACY_V)]
    assert (client.dialect, client.api_version) == ("legacy", LEGACY_V)
    # Every later operation, execute included, goes straight to the negotiated version.
    server.calls.clear()
    ex = await client.execute("1+1", identifier="s")
    assert ex.ok and ex.value == 2
    assert [f.name for f in await client.list_files("s")] == ["a.txt"]
    assert (await client.file_info("s", "a.txt")).size == 5
    assert await client.download("s", "a.txt", tmp_path / "back.txt") == 5
    assert (tmp_path / "back.txt").read_bytes() == b"hello"
    await client.delete_file("s", "a.txt")
    assert {v for _, _, v in server.calls} == {LEGACY_V}
    assert ("POST", "/code/execute", LEGACY_V) in server.calls


@respx.mock
@pytest.mark.parametrize("first", ["list_files", "download", "file_info", "delete_file"])
async def test_any_file_operation_first_negotiates(client, first, tmp_path: Path):
    server = LegacyOnlyServer("404")
    server.files["x.txt"] = b"abc"
    respx.route(url__startswith=EP).mock(side_effect=server)
    if first == "list_files":
        assert [f.name for f in await client.list_files("s")] == ["x.txt"]
    elif first == "download":
        assert await client.download("s", "x.txt", tmp_path / "x.txt") == 3
    elif first == "file_info":
        assert (await client.file_info("s", "x.txt")).size == 3
    else:
        await client.delete_file("s", "x.txt")
        assert server.files == {}
    assert [v for _, _, v in server.calls] == [CURRENT_V, LEGACY_V]
    server.calls.clear()
    await client.execute("1", identifier="s")
    assert server.calls == [("POST", "/code/execute", LEGACY_V)]


@respx.mock
async def test_missing_file_before_anything_else_is_not_a_refusal(client, tmp_path: Path):
    """A 404 that names a missing file proves the route exists: no fall back, a file error."""
    route = respx.get(f"{EP}/files/nope.txt/content").mock(return_value=httpx.Response(
        404, json={"error": {"code": "FileNotFound", "message": "No file /mnt/data/nope.txt"}},
        headers={"x-ms-request-id": "rq-file"}))
    with pytest.raises(MissingFileError) as ei:
        await client.download("s", "nope.txt", tmp_path / "nope.txt")
    text = str(ei.value)
    assert route.call_count == 1 and client.dialect == "current"
    assert "/mnt/data/nope.txt" in text and "endpoint" not in text and "pool name" not in text
    assert text.endswith("(request id rq-file)") and ei.value.status_code == 404
    assert list(tmp_path.iterdir()) == []
    # The dialect is now known: a later execute is not tried in the legacy dialect.
    cur = respx.post(f"{EP}/executions").mock(return_value=httpx.Response(404))
    leg = respx.post(f"{EP}/code/execute").mock(return_value=httpx.Response(200, json=OK_LEGACY))
    with pytest.raises(NotFoundError) as e2:
        await client.execute("1", identifier="s")
    assert not isinstance(e2.value, MissingFileError) and "endpoint" in str(e2.value)
    assert cur.call_count == 1 and leg.call_count == 0


@respx.mock
@pytest.mark.parametrize("op", ["download", "file_info", "delete_file"])
async def test_bare_404_once_the_endpoint_answered_is_a_missing_file(client, op, tmp_path: Path):
    respx.get(f"{EP}/files").mock(return_value=httpx.Response(200, json={"value": []}))
    await client.list_files("s")  # the endpoint answers in the current dialect
    respx.route(url__startswith=f"{EP}/files/sub").mock(return_value=httpx.Response(404))
    respx.route(url__startswith=f"{EP}/files/gone.bin").mock(return_value=httpx.Response(404))
    with pytest.raises(MissingFileError) as ei:
        if op == "download":
            await client.download("s", "sub/gone.bin", tmp_path / "g")
        else:
            await getattr(client, op)("s", "sub/gone.bin")
    assert "/mnt/data/sub/gone.bin" in str(ei.value) and "endpoint" not in str(ei.value)
    assert client.dialect == "current" and respx.calls.call_count == 2


@respx.mock
async def test_bare_404_from_an_endpoint_that_never_answered_names_both_causes(client, tmp_path: Path):
    respx.route(url__startswith=EP).mock(return_value=httpx.Response(404, headers={"x-ms-request-id": "r7"}))
    with pytest.raises(NotFoundError) as ei:
        await client.download("s", "f.txt", tmp_path / "f.txt")
    text = str(ei.value)
    assert "/mnt/data/f.txt" in text and "endpoint" in text and text.endswith("(request id r7)")
    # Nothing was learnt: both versions refused, the next operation starts from the current one again.
    assert (client.dialect, client.api_version) == ("current", CURRENT_V)
    assert [c.request.url.params["api-version"] for c in respx.calls] == [CURRENT_V, LEGACY_V]


@respx.mock
async def test_after_a_success_a_404_never_changes_the_dialect(client):
    cur = respx.post(f"{EP}/executions").mock(side_effect=[
        httpx.Response(200, json={"status": "Succeeded", "result": {"executionResult": 1}}), httpx.Response(404)])
    leg = respx.post(f"{EP}/code/execute").mock(return_value=httpx.Response(200, json=OK_LEGACY))
    assert (await client.execute("1", identifier="s")).ok
    with pytest.raises(NotFoundError):
        await client.execute("1", identifier="s")
    assert cur.call_count == 2 and leg.call_count == 0 and client.dialect == "current"


@respx.mock
async def test_old_style_404_pool_full_is_capacity_not_a_refusal(client):
    """A 404 whose code says the pool is full (old docs) is no reason to change dialect."""
    from repl.api import CapacityError

    cur = respx.post(f"{EP}/executions").mock(return_value=httpx.Response(
        404, json={"error": {"code": "SessionPoolCapacityExceeded", "message": "full"}}))
    leg = respx.post(f"{EP}/code/execute").mock(return_value=httpx.Response(200, json=OK_LEGACY))
    with pytest.raises(CapacityError):
        await client.execute("1", identifier="s")
    assert cur.call_count == 1 and leg.call_count == 0 and client.dialect == "current"
    # Same for a file operation, also once the dialect is known.
    respx.get(f"{EP}/files").mock(return_value=httpx.Response(200, json={"value": []}))
    await client.list_files("s")
    respx.get(f"{EP}/files/a.txt").mock(return_value=httpx.Response(
        404, json={"error": {"code": "SessionPoolCapacityExceeded", "message": "full"}}))
    with pytest.raises(CapacityError):
        await client.file_info("s", "a.txt")


@respx.mock
async def test_concurrent_first_operations_share_one_fall_back(client, tmp_path: Path):
    """An execute and a listing sent together, both refused: one falls back, the other follows."""
    import asyncio

    server = LegacyOnlyServer("400-not-supported")
    server.files["x.txt"] = b"abc"

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)  # both requests are in flight before either answer arrives
        return server(request)

    respx.route(url__startswith=EP).mock(side_effect=slow)
    ex, files = await asyncio.gather(client.execute("1", identifier="s"), client.list_files("s"))
    assert ex.ok and [f.name for f in files] == ["x.txt"]
    assert (client.dialect, client.api_version) == ("legacy", LEGACY_V)
    assert sum(1 for _, _, v in server.calls if v == CURRENT_V) == 2
    assert sum(1 for _, _, v in server.calls if v == LEGACY_V) == 2
