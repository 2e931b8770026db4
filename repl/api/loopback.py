"""A lean HTTP/1.1 transport for a pool on this machine (the embedded pool, `serve`).

httpx's default transport (httpcore over anyio) costs more CPU per request than
the local pool spends running ``1+1``, and writes a request's head and body in
two writes. On loopback none of what it adds (TLS, HTTP/2, proxies, a
connection pool shared across hosts) is used, so :class:`LoopbackTransport`
speaks HTTP/1.1 over asyncio streams itself: one write per request (head and
body together unless the body is a stream, such as an upload), persistent
connections kept as long as the caller likes, and the response body streamed to
httpx as it arrives, except a body of one piece (Content-Length, at most 64 KiB:
every answer but large outputs and files), which is read here and handed over as
read, so the client takes it without a chain of async iterators (~15 µs).
It is still an ``httpx`` transport: the client, its timeouts (per connect and
per read, from the request's ``timeout`` extension), the overall deadline and
the size caps of :mod:`repl.api.transport` all apply, and failures are httpx's
exceptions, mapped to ``ApiError`` as for any request.

Only plain ``http://`` to a loopback host is served; anything else is an error
(the client uses httpx's own transport for every other endpoint, Azure
included).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

_HEAD_LIMIT = 64 * 1024  # status line + headers
_CHUNK = 64 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class _Conn:
    __slots__ = ("reader", "writer", "key")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: tuple[str, int]) -> None:
        self.reader = reader
        self.writer = writer
        self.key = key

    @property
    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    t = request.extensions.get("timeout")
    return t if isinstance(t, dict) else {}


class LoopbackTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams, for ``http://`` on a loopback address."""

    def __init__(self, *, max_idle: int = 8) -> None:
        self._idle: list[_Conn] = []
        self._max_idle = max_idle

    # --- connections ---------------------------------------------------------

    async def _connect(self, request: httpx.Request, key: tuple[str, int]) -> _Conn:
        timeout = _timeouts(request).get("connect")
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(key[0], key[1], limit=_HEAD_LIMIT)
        except TimeoutError:
            raise httpx.ConnectTimeout("connect timed out", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return _Conn(reader, writer, key)

    def _take_idle(self, key: tuple[str, int]) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.key == key and conn.usable:
                return conn
            conn.close()
        return None

    def _release(self, conn: _Conn) -> None:
        if conn.usable and len(self._idle) < self._max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # --- one exchange ----------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http" or url.host not in LOOPBACK_HOSTS:
            raise httpx.UnsupportedProtocol(f"LoopbackTransport serves http:// on loopback only, not {url.host}",
                                            request=request)
        key = (url.host, url.port or 80)
        head, body = self._encode(request)
        conn = self._take_idle(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = await self._connect(request, key)
            try:
                await self._send(request, conn, head, body)
                status, reason, headers = await self._read_head(request, conn)
            except (httpx.RemoteProtocolError, httpx.WriteError):
                conn.close()
                if reused:  # the server closed an idle connection as we reused it: it never saw the request
                    reused = False
                    conn = None
                    if not isinstance(body, bytes):
                        raise
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            break
        body_stream = _Body(self, conn, request, headers, status)
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": reason}
        if body_stream.short:
            # Read now and handed over as content: the client's reader then takes it as
            # read (no async iterators, one timeout instead of one per piece).
            content = await body_stream.read_all()
            return httpx.Response(status, headers=headers, content=content, extensions=extensions, request=request)
        return httpx.Response(status, headers=headers, stream=body_stream, extensions=extensions, request=request)

    @staticmethod
    def _encode(request: httpx.Request) -> tuple[bytes, bytes | httpx.AsyncByteStream]:
        target = request.url.raw_path or b"/"
        lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), target)]
        lines += [b"%s: %s" % (k, v) for k, v in request.headers.raw]
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        try:
            return head, request.content  # bytes given up front (httpx has read them already)
        except httpx.RequestNotRead:
            stream = request.stream
            if not isinstance(stream, httpx.AsyncByteStream):
                raise httpx.UnsupportedProtocol("a synchronous request body", request=request) from None
            return head, stream

    @staticmethod
    async def _send(request: httpx.Request, conn: _Conn, head: bytes,
                    body: bytes | httpx.AsyncByteStream) -> None:
        writer = conn.writer
        try:
            if isinstance(body, bytes):
                writer.write(head + body)  # one write, head and body together
                if not writer.transport.get_write_buffer_size() and not writer.is_closing():
                    # All of it went out at once: drain() cannot wait (a transport pauses
                    # its writer only over its high-water mark, and resumes it once its
                    # buffer is empty), so it needs no timer; it still reports a lost
                    # connection.
                    await writer.drain()
                    return
            chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
            async with asyncio.timeout(_timeouts(request).get("write")):
                if not isinstance(body, bytes):
                    writer.write(head)
                    async for chunk in body:
                        if chunk:
                            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                            await writer.drain()
                    if chunked:
                        writer.write(b"0\r\n\r\n")
                await writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("write timed out", request=request) from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc

    @staticmethod
    async def _read_head(request: httpx.Request, conn: _Conn) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        try:
            async with asyncio.timeout(_timeouts(request).get("read")):
                raw = await conn.reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise httpx.ReadTimeout("read timed out", request=request) from None
        except asyncio.IncompleteReadError:
            raise httpx.RemoteProtocolError("the server closed the connection before answering",
                                            request=request) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("the answer's headers are too large", request=request) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        status_line, *header_lines = raw[:-4].split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
            raise httpx.RemoteProtocolError("the answer is not HTTP/1.x", request=request)
        headers: list[tuple[bytes, bytes]] = []
        for line in header_lines:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise httpx.RemoteProtocolError("malformed header in the answer", request=request)
            headers.append((name, value.strip()))
        return int(parts[1]), parts[2] if len(parts) > 2 else b"", headers


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives: by Content-Length, chunked, or to EOF."""

    def __init__(self, transport: LoopbackTransport, conn: _Conn, request: httpx.Request,
                 headers: list[tuple[bytes, bytes]], status: int) -> None:
        self._transport = transport
        self._conn: _Conn | None = conn
        self._request = request
        fields = {k.lower(): v for k, v in headers}
        self._keep = fields.get(b"connection", b"").lower() != b"close"
        self._chunked = b"chunked" in fields.get(b"transfer-encoding", b"").lower()
        length = fields.get(b"content-length")
        self._length: int | None = int(length) if length is not None and length.isdigit() else None
        if request.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self._length, self._chunked = 0, False
        if self._length is None and not self._chunked:
            self._keep = False  # read to EOF: the connection cannot be reused
        self._done = False

    @property
    def short(self) -> bool:
        """A Content-Length body of at most one piece (every answer but large outputs and files)."""
        return not self._chunked and self._length is not None and self._length <= _CHUNK

    async def read_all(self) -> bytes:
        """The whole of a ``short`` body, read under the same read timeout as a piece
        of a streamed one; the connection is then released (or closed on failure)."""
        conn = self._conn
        assert conn is not None and self._length is not None
        try:
            data: bytes = await self._read(conn.reader.readexactly(self._length)) if self._length else b""
            self._done = True
        finally:
            await self.aclose()
        return data

    async def _read(self, coro: Any) -> Any:
        try:
            async with asyncio.timeout(_timeouts(self._request).get("read")):
                return await coro
        except TimeoutError:
            raise httpx.ReadTimeout("read timed out", request=self._request) from None
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            raise httpx.RemoteProtocolError("the answer was cut off or malformed", request=self._request) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=self._request) from exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        reader = conn.reader
        if self._chunked:
            while True:
                line = await self._read(reader.readuntil(b"\r\n"))
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise httpx.RemoteProtocolError("malformed chunk in the answer", request=self._request) from None
                if size == 0:
                    while (await self._read(reader.readuntil(b"\r\n"))) != b"\r\n":
                        pass  # trailers
                    break
                while size:
                    data = await self._read(reader.read(min(size, _CHUNK)))
                    if not data:
                        raise httpx.RemoteProtocolError("the answer was cut off", request=self._request)
                    size -= len(data)
                    yield data
                await self._read(reader.readexactly(2))
        elif self._length is not None:
            left = self._length
            while left:
                data = await self._read(reader.read(min(left, _CHUNK)))
                if not data:
                    raise httpx.RemoteProtocolError("the answer was cut off", request=self._request)
                left -= len(data)
                yield data
        else:
            while data := await self._read(reader.read(_CHUNK)):
                yield data
        self._done = True

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._keep:
            self._transport._release(conn)  # noqa: SLF001
        else:
            conn.close()
