"""JSON responses that never hold a second copy of a large output.

An execution's stdout can be hundreds of megabytes when the output cap is
raised. Starlette's ``JSONResponse`` renders the whole body first: the text
from ``json.dumps`` and then its UTF-8 bytes sit in memory next to the
record's own copy, and the transport's write buffer may take a third. Here a
body with a large string is sent as a stream of pieces instead (chunked
transfer encoding), each piece escaped and encoded on its own, with the
transport's flow control between them, so the server holds the record's copy
plus one piece at a time. The bytes are exactly ``JSONResponse``'s (same
separators, ``ensure_ascii=False``, no NaN); small bodies still go through
``JSONResponse`` with a Content-Length.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

#: strings at least this long make the body a stream
STREAM_FROM_CHARS = 1 << 20
#: characters escaped and encoded per piece of a long string
PIECE_CHARS = 1 << 20

_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def json_response(content: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """``JSONResponse(content)``, streamed when it holds a long string."""
    if _longest_string(content) < STREAM_FROM_CHARS:
        return JSONResponse(content, status_code=status_code, headers=headers)

    async def body() -> AsyncIterator[bytes]:
        for piece in json_pieces(content):
            yield piece

    return StreamingResponse(body(), status_code=status_code, headers=headers, media_type="application/json")


def json_pieces(value: Any) -> Iterator[bytes]:
    """The UTF-8 JSON of ``value`` in pieces; joined, they equal ``JSONResponse``'s body."""
    if isinstance(value, str) and len(value) >= PIECE_CHARS:
        yield b'"'
        for start in range(0, len(value), PIECE_CHARS):
            # A slice of code points escapes to the same text as it does inside
            # the whole string: JSON escapes each character on its own.
            yield _encode(value[start:start + PIECE_CHARS])[1:-1].encode("utf-8")
        yield b'"'
    elif isinstance(value, dict):
        yield b"{"
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            yield (b"," if i else b"") + _encode(key).encode("utf-8") + b":"
            yield from json_pieces(item)
        yield b"}"
    elif isinstance(value, (list, tuple)):
        yield b"["
        for i, item in enumerate(value):
            if i:
                yield b","
            yield from json_pieces(item)
        yield b"]"
    else:
        yield _encode(value).encode("utf-8")


def _longest_string(value: Any, depth: int = 0) -> int:
    if isinstance(value, str):
        return len(value)
    if depth > 32:  # the bodies built here are shallow; no deeper look is needed
        return 0
    if isinstance(value, dict):
        return max((_longest_string(v, depth + 1) for v in value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return max((_longest_string(v, depth + 1) for v in value), default=0)
    return 0
