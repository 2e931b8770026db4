"""The client's httpx.AsyncClient keeps cookies exactly as httpx does, only
without the per-response work when a response sets none (real HTTP servers)."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from repl.api import SessionsClient, StaticToken
from repl.api.httpclient import AsyncClient
from repl.api.loopback import LoopbackTransport
from repl.api.transport import parsed_url
from repl.local.embedded import EmbeddedPool


async def test_a_cookie_that_is_set_is_kept_and_sent_back(monkeypatch) -> None:
    heads: list[bytes] = []
    read_for_cookies: list[str] = []  # responses httpx's jar machinery looked at

    class Counting(httpx.Cookies._CookieCompatResponse):
        def __init__(self, response: httpx.Response) -> None:
            read_for_cookies.append(response.request.url.path)
            super().__init__(response)

    monkeypatch.setattr(httpx.Cookies, "_CookieCompatResponse", Counting)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            heads.append(head.lower())
            cookie = b"Set-Cookie: affinity=abc; Path=/\r\n" if len(heads) == 1 else b""
            writer.write(b"HTTP/1.1 200 OK\r\n" + cookie + b"Content-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        http = AsyncClient(timeout=5.0, headers={}, verify=False, transport=LoopbackTransport())
        async with http:
            for _ in range(3):
                assert (await http.get(f"{base}/x")).text == "ok"
            assert dict(http.cookies) == {"affinity": "abc"}
            lean = type(http.cookies)
            http.cookies = {"other": "1"}  # the setter keeps the lean jar
            assert type(http.cookies) is lean and dict(http.cookies) == {"other": "1"}
            await http.get(f"{base}/y")
    assert b"cookie" not in heads[0]
    assert b"cookie: affinity=abc" in heads[1] and b"cookie: affinity=abc" in heads[2]
    assert b"cookie: other=1" in heads[3]
    # the jar read only the response that set a cookie
    assert read_for_cookies.count("/x") == 1 and "/y" not in read_for_cookies


async def test_the_local_pool_sets_no_cookie_and_the_jar_stays_empty(local_pool: EmbeddedPool) -> None:
    client = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), arm_base=local_pool.arm_base)
    try:
        assert isinstance(client._http, AsyncClient)
        ident = str(uuid.uuid4())
        assert (await client.execute("1+1", identifier=ident)).value == 2
        assert (await client.execute("2+2", identifier=ident)).value == 4
        assert dict(client._http.cookies) == {}
    finally:
        await client.aclose()


def test_a_url_is_parsed_once_and_shared() -> None:
    url = "http://127.0.0.1:9/executions?api-version=2025-10-02-preview&identifier=a%2Fb"
    first = parsed_url(url)
    assert parsed_url(url) is first
    assert str(first) == url and first.params["identifier"] == "a/b"
