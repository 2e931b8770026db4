"""A hostile HTTP server on 127.0.0.1 for the client and CLI tests.

Raw asyncio, so it can misbehave at the byte level. It answers every request
the way the first segment of its path says (``/MODE/...``): ``html502`` (a
gateway's page), ``truncated`` (JSON cut off, connection closed), ``deep``
(JSON nested 100,000 deep), ``deeperror`` (a 400 whose error is nested 50,000
deep), ``drip`` (one byte every 2 s, forever), ``huge`` (a declared 300 MB
body), ``hugechunked`` (300 MB chunked, no length), ``shape`` (a 200 of the
wrong shape; DELETE gets 204) and ``escapes`` (a 400 whose code and message
carry escape sequences and echo the Authorization header).
"""

from __future__ import annotations

import asyncio
import json
import threading


class HostileServer:
    """Answers by the first path segment of the request: ``/MODE/...``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def endpoint(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:  # handlers still dripping or streaming: end them before the loop closes
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                pairs = (line.partition(":") for line in lines[1:] if line)
                headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                mode = target.lstrip("/").split("/", 1)[0].split("?", 1)[0]
                keep = await self._answer(mode, method, headers, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: str, body: bytes, ctype: str = "application/json",
                    extra: str = "") -> bool:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                     f"x-ms-request-id: req-\x1b]2;PWNED\x07-1\r\n{extra}\r\n".encode("latin-1") + body)
        await writer.drain()
        return True

    async def _answer(self, mode: str, method: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        if mode == "html502":
            page = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>\x1b[2J</body></html>"
            return await self._send(writer, "502 Bad Gateway", page, "text/html")
        if mode == "truncated":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
                         b'{"status": "Succeeded", "result": {"stdout": "cut her')
            await writer.drain()
            return False
        if mode == "deep":
            return await self._send(writer, "200 OK", b"[" * 100_000 + b"]" * 100_000)
        if mode == "deeperror":
            return await self._send(writer, "400 Bad Request", b'{"error":' * 50_000 + b"1" + b"}" * 50_000)
        if mode == "drip":
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(2)
            return False
        if mode in ("huge", "hugechunked"):
            chunk = b'{"value": ["' + b"x" * (1024 * 1024)
            if mode == "huge":
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {300 * 1024 * 1024}\r\n\r\n".encode())
                for _ in range(300):
                    writer.write(chunk)
                    await writer.drain()
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                for _ in range(300):
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            return False
        if mode == "shape":
            if method == "DELETE":
                return await self._send(writer, "204 No Content", b"")
            return await self._send(writer, "200 OK", b'{"unexpected": [1, 2, 3], "value": "not a list"}')
        if mode == "escapes":
            auth = headers.get("authorization", "")
            body = json.dumps({"error": {
                "code": "Bad\x1b]2;PWNED\x07Thing",
                "message": f"\x1b[2J\x1b[Howned \x1b]52;c;cm0gLXJmIH4=\x07\x9b1;1H you sent {auth}",
            }}).encode()
            return await self._send(writer, "400 Bad Request", body)
        return await self._send(writer, "404 Not Found", b'{"error": {"code": "NoSuchMode"}}')
