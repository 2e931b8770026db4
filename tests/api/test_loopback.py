"""The lean loopback transport: one write per request on the real local pool,
connections the server closed are replaced, chunked answers, and nothing but
http:// on loopback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from repl.api import SessionsClient, StaticToken
from repl.api.loopback import LoopbackTransport
from repl.local.embedded import EmbeddedPool


async def test_the_local_pool_gets_one_write_per_request(local_pool: EmbeddedPool, monkeypatch) -> None:
    client = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), arm_base=local_pool.arm_base)
    assert isinstance(client._http._transport, LoopbackTransport)
    ident = str(uuid.uuid4())
    try:
        assert (await client.execute("1+1", identifier=ident)).value == 2  # connects, creates the session
        writes: list[bytes] = []
        original = asyncio.StreamWriter.write

        def counting(self: asyncio.StreamWriter, data: bytes) -> None:
            writes.append(bytes(data))
            original(self, data)

        monkeypatch.setattr(asyncio.StreamWriter, "write", counting)
        ex = await client.execute("6*7", identifier=ident)
        assert ex.value == 42
        assert len(writes) == 1 and writes[0].startswith(b"POST ") and writes[0].endswith(b'"timeoutInSeconds":60}')
        monkeypatch.setattr(asyncio.StreamWriter, "write", original)
        assert [f.name for f in await client.list_files(ident)] == []  # a GET on the same kept connection
    finally:
        await client.aclose()


async def _serve(answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]):
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_a_connection_the_server_closed_is_replaced() -> None:
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # keep-alive implied...
        await writer.drain()
        writer.close()  # ...and closed anyway, as a server ending an idle connection does

    server, base = await _serve(answer)
    async with server, httpx.AsyncClient(transport=LoopbackTransport()) as http:
        for _ in range(3):
            r = await http.get(f"{base}/x")
            assert (r.status_code, r.text) == (200, "ok")
            await asyncio.sleep(0)  # let the loop see the server's FIN (no timing involved)
        assert connections == 3


async def test_chunked_answers_and_kept_connections() -> None:
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()

    server, base = await _serve(answer)
    async with server, httpx.AsyncClient(transport=LoopbackTransport()) as http:
        for _ in range(3):
            r = await http.get(f"{base}/x")
            assert r.text == "hello world"
        assert connections == 1


async def test_only_plain_http_on_loopback() -> None:
    async with httpx.AsyncClient(transport=LoopbackTransport()) as http:
        for url in ("https://127.0.0.1:1/x", "http://example.com/x"):
            with pytest.raises(httpx.UnsupportedProtocol):
                await http.get(url)
        with pytest.raises(httpx.ConnectError):
            await http.get("http://127.0.0.1:1/x")


def test_azure_and_mixed_endpoints_keep_httpx_transport() -> None:
    for endpoint, arm in (("https://eastus.dynamicsessions.io/x", "https://management.azure.com"),
                          ("http://127.0.0.1:9/x", "https://management.azure.com")):
        client = SessionsClient(endpoint, StaticToken("t"), arm_base=arm)
        assert isinstance(client._http._transport, httpx.AsyncHTTPTransport)


async def test_a_malformed_or_cut_answer_is_a_protocol_error() -> None:
    answers = iter([
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",  # not a chunk size
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",  # cut off
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",  # not HTTP at all
    ])

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(next(answers))
        await writer.drain()
        writer.close()

    server, base = await _serve(answer)
    async with server, httpx.AsyncClient(transport=LoopbackTransport()) as http:
        for _ in range(3):
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get(f"{base}/x")


async def test_short_answers_arrive_read_long_ones_stream_on_one_connection() -> None:
    """A Content-Length answer of one piece (64 KiB) is read by the transport and
    handed over as read; a longer one streams. Both keep the connection, and a
    compressed short answer is decoded as httpx decodes any."""
    import gzip

    long_body = b"x" * (200 * 1024)
    packed = gzip.compress(b'{"a":1}')
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(long_body), long_body),
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed),
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            for data in answers:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(data)
                await writer.drain()
            await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    server, base = await _serve(answer)
    async with server, httpx.AsyncClient(transport=LoopbackTransport()) as http:
        async with http.stream("GET", f"{base}/short") as r:
            assert r.is_stream_consumed  # read by the transport
            assert b"".join([c async for c in r.aiter_bytes()]) == b"ok"
        async with http.stream("GET", f"{base}/long") as r:
            assert not r.is_stream_consumed
            assert b"".join([c async for c in r.aiter_bytes()]) == long_body
        r = await http.get(f"{base}/gzip")
        assert r.json() == {"a": 1}
        r = await http.get(f"{base}/empty")
        assert (r.status_code, r.content) == (204, b"")
    assert connections == 1
