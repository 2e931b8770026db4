"""A directory listing as the API's JSON: entries, their times and content types.

The listing of a session's ``/mnt/data`` is the one answer whose size grows
with what the session did (1,000 files: 140 KB), so its body is written by
:func:`listing_json` from one template per entry instead of a dict per entry
handed to ``json.dumps``: the same bytes (a test holds them to
``json_bytes(file_entry(...))`` over odd names), in about half the time.

File names are bytes on Linux; one that is not UTF-8 (session code can make
it) is shown with U+FFFD in place of each byte that is not, as ``ls`` shows
``?``: the rest of the listing still answers, and the name, which no request
can spell, is listed rather than hidden.
"""

from __future__ import annotations

import functools
import json
import math
import mimetypes
import os
import stat
from collections.abc import Iterable
from datetime import UTC, datetime
from json.encoder import encode_basestring  # json.dumps(ensure_ascii=False)'s own string encoder
from typing import Any


def shown(name: str) -> str:
    """``name`` as a listing shows it: undecodable bytes (``os.listdir`` keeps them
    as lone surrogates) become U+FFFD, so the answer can be UTF-8."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return name


def iso(t: float) -> str:
    """``t`` (seconds since the epoch) as ISO 8601 UTC with milliseconds and ``Z``.

    As ``datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")``
    (the fraction rounded half-even to microseconds, then cut to milliseconds),
    with the part up to the second formatted once per second: a listing of a
    thousand files made in the same few seconds formats a handful of dates."""
    seconds = math.floor(t)
    us = round((t - seconds) * 1e6)  # t - floor(t) is exact: the fraction as modf gives it
    if us == 1_000_000:
        seconds, us = seconds + 1, 0
    head = _SECONDS.get(seconds)
    if head is None:
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        head = _SECONDS[seconds] = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{head}.{us // 1000:03d}Z"


_SECONDS: dict[int, str] = {}  # whole seconds -> "YYYY-MM-DDTHH:MM:SS" (a plain dict: cheaper than lru_cache)


_EXTRA_TYPES = {
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".md": "text/markdown",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".ts": "text/x-typescript",
    ".jsonl": "application/jsonl",
}


def content_type(name: str) -> str:
    dot = name.rfind(".")
    if dot > 0 and name.count(".") == 1 and ":" not in name:  # "name.ext": the common case
        return _content_type_of_suffixes(name[dot:])
    root, ext = os.path.splitext(name)
    if ":" in name:  # guess_type reads "scheme:" of a URL: ask it about the whole name
        return _EXTRA_TYPES.get(ext.lower()) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    # guess_type looks at two suffixes at most (an encoding's, as in .tar.gz, and the
    # type's): the answer for those two is the answer for the name, asked once each.
    return _content_type_of_suffixes(os.path.splitext(root)[1] + ext)


@functools.lru_cache(maxsize=1024)
def _content_type_of_suffixes(suffixes: str) -> str:
    ext = os.path.splitext("x" + suffixes)[1].lower()
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type("x" + suffixes)[0] or "application/octet-stream"


def file_entry(name: str, directory: str, st: os.stat_result) -> dict[str, Any]:
    """One entry of a listing (or the answer about one file) as the service writes it."""
    name, directory = shown(name), shown(directory)
    if stat.S_ISDIR(st.st_mode):
        return {
            "name": name,
            "directory": directory,
            "type": "Directory",
            "sizeInBytes": st.st_size,
            "lastModifiedAt": iso(st.st_mtime),
        }
    return {
        "name": name,
        "directory": directory,
        "type": "File",
        "contentType": content_type(name),
        "sizeInBytes": st.st_size,
        "lastModifiedAt": iso(st.st_mtime),
    }


def legacy_list(files: list[tuple[str, os.stat_result]]) -> dict[str, Any]:
    value = []
    n = 1
    for rel, st in files:
        value.append(
            {
                "$id": str(n + 1),
                "properties": {
                    "$id": str(n + 2),
                    "filename": shown(rel),
                    "size": st.st_size,
                    "lastModifiedTime": iso(st.st_mtime),
                },
            }
        )
        n += 2
    return {"$id": "1", "value": value}


def json_bytes(body: Any) -> bytes:
    """``body`` as compact JSON in UTF-8 (what ``JSONResponse`` would send)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


_FILE = '{"name":%s,"directory":%s,"type":"File","contentType":%s,"sizeInBytes":%d,"lastModifiedAt":"%s"}'
_DIRECTORY = '{"name":%s,"directory":%s,"type":"Directory","sizeInBytes":%d,"lastModifiedAt":"%s"}'


def listing_json(entries: Iterable[tuple[str, str, os.stat_result]]) -> bytes:
    """``json_bytes({"value": [file_entry(...) for each entry], "nextLink": None})``,
    byte for byte, written from a template per entry: the directory and content
    type strings an entry shares with others are encoded once."""
    encoded: dict[str, str] = {}  # directory or content type -> its JSON string

    def enc(text: str) -> str:
        out = encoded.get(text)
        if out is None:
            out = encoded[text] = encode_basestring(shown(text))
        return out

    parts: list[str] = []
    add = parts.append
    is_dir = stat.S_ISDIR
    for name, directory, st in entries:
        if is_dir(st.st_mode):
            add(_DIRECTORY % (encode_basestring(shown(name)), enc(directory), st.st_size, iso(st.st_mtime)))
        else:
            add(_FILE % (encode_basestring(shown(name)), enc(directory), enc(content_type(name)), st.st_size,
                         iso(st.st_mtime)))
    return ('{"value":[' + ",".join(parts) + '],"nextLink":null}').encode("utf-8")
