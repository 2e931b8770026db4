"""Streaming multipart/form-data parser for uploads.

Our own rather than Starlette's form parser: every file part is streamed
straight to a staging file on the session's filesystem (so it is renamed into
place, never copied), the upload limit applies to each file while it is read
(Starlette's parser has no per-file size cap and spools to the system's temp
dir), part headers are bounded, and it needs no ``python-multipart``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from email.message import Message
from pathlib import Path
from typing import BinaryIO

from starlette.requests import Request

from repl.local.errors import validation_failed
from repl.local.validation import declared_length, too_large

MAX_UPLOAD_BYTES = 128 * 1024 * 1024  # the service's upload limit: larger files get 413
MULTIPART_OVERHEAD = 1024 * 1024  # headers and boundaries around an upload
MAX_PART_HEADER_BYTES = 16 * 1024


class Upload:
    def __init__(self, filename: str, temp: Path) -> None:
        self.filename = filename
        self.temp = temp
        self.size = 0


async def stream_multipart(
    request: Request, staging: Path, limit: int
) -> list[Upload]:
    """Parse a multipart/form-data body, streaming every file part to ``staging``."""
    ctype = request.headers.get("content-type", "")
    msg = Message()
    msg["content-type"] = ctype
    boundary = msg.get_param("boundary")
    if msg.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        raise validation_failed(
            "Upload a file as multipart/form-data with one part named 'file'.", target="file"
        )
    length = declared_length(request)
    if length is not None and length > limit + MULTIPART_OVERHEAD:
        raise too_large(limit, "upload")
    try:
        delim = b"--" + boundary.encode("latin-1")
    except UnicodeEncodeError:  # an RFC 2231 encoded boundary
        raise validation_failed("The multipart boundary must be ASCII.", target="file") from None
    body_delim = b"\r\n" + delim
    uploads: list[Upload] = []
    buf = bytearray()
    state = "preamble"
    current: Upload | None = None
    handle: BinaryIO | None = None
    total = 0
    try:
        stream: AsyncIterator[bytes] = request.stream()
        ended = False
        async for chunk in stream:
            total += len(chunk)
            if total > limit + MULTIPART_OVERHEAD:
                raise too_large(limit, "upload")
            buf += chunk
            while True:
                if state == "preamble":
                    i = buf.find(delim)
                    if i < 0:
                        if len(buf) > MAX_PART_HEADER_BYTES:
                            del buf[: len(buf) - len(delim)]
                        break
                    del buf[: i + len(delim)]
                    state = "after_delim"
                if state == "after_delim":
                    if len(buf) < 2:
                        break
                    if buf[:2] == b"--":
                        ended = True
                        break
                    if buf[:2] != b"\r\n":
                        raise validation_failed("Malformed multipart body.", target="file")
                    del buf[:2]
                    state = "headers"
                if state == "headers":
                    j = buf.find(b"\r\n\r\n")
                    if j < 0:
                        if len(buf) > MAX_PART_HEADER_BYTES:
                            raise validation_failed("Multipart part headers too long.")
                        break
                    headers = bytes(buf[:j]).decode("utf-8", "replace")
                    del buf[: j + 4]
                    part = Message()
                    for line in headers.split("\r\n"):
                        if ":" in line:
                            key, value = line.split(":", 1)
                            part[key.strip()] = value.strip()
                    filename = part.get_filename()
                    if filename is not None:
                        if not filename:
                            raise validation_failed("The uploaded file has no name.", target="file")
                        temp = staging / f"upload-{secrets.token_hex(8)}"
                        current = Upload(filename, temp)
                        handle = open(temp, "wb")  # noqa: SIM115 - closed below
                        uploads.append(current)
                    else:
                        current, handle = None, None
                    state = "body"
                if state == "body":
                    k = buf.find(body_delim)
                    if k < 0:
                        keep = len(body_delim) - 1
                        n = len(buf) - keep
                        if n > 0:
                            _sink(current, handle, buf[:n], limit)
                            del buf[:n]
                        break
                    _sink(current, handle, buf[:k], limit)
                    del buf[: k + len(body_delim)]
                    if handle is not None:
                        handle.close()
                    current, handle = None, None
                    state = "after_delim"
                    continue
                break
            if ended:
                break
        if not ended:
            raise validation_failed("The multipart body ended early.", target="file")
        if not uploads:
            raise validation_failed(
                "The multipart body has no file part; send the file in a part named 'file'.",
                target="file",
            )
        return uploads
    except BaseException:
        if handle is not None:
            handle.close()
        for u in uploads:
            u.temp.unlink(missing_ok=True)
        raise


def _sink(current: Upload | None, handle: BinaryIO | None, data: bytearray, limit: int) -> None:
    if current is None or not data:
        return
    assert handle is not None
    current.size += len(data)
    if current.size > limit:
        raise too_large(limit, "upload")
    handle.write(data)
