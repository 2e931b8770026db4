"""The listing's per-entry formatting (dates, content types) answers exactly what
the plain standard-library calls answer: the caches only save the repeats."""

from __future__ import annotations

import mimetypes
import os
from datetime import UTC, datetime

import pytest

from repl.local.handlers_files import _EXTRA_TYPES, content_type, iso


def _plain_iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain_content_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@pytest.mark.parametrize(
    "t",
    [
        0.0, 1.5, 1_700_000_000.0, 1_700_000_000.9994999, 1_700_000_000.9995,
        1_700_000_000.9999995, 1_700_000_000.0000005, 1_799_999_999.999_999_9,
        -0.0000004, -1.25, -86_400.9999996, 4_102_444_800.123,
    ],
)
def test_iso_is_datetimes_isoformat_with_z(t: float) -> None:
    assert iso(t) == _plain_iso(t)


def test_iso_repeated_seconds_keep_their_own_milliseconds() -> None:
    assert [iso(1_700_000_000 + i / 1000) for i in (1, 2, 999)] == [
        _plain_iso(1_700_000_000 + i / 1000) for i in (1, 2, 999)
    ]


@pytest.mark.parametrize(
    "name",
    [
        "a.txt", "A.TXT", "data.json", "notes.md", "x.yaml", "mod.mjs", "log.jsonl",
        "archive.tar.gz", "archive.TAR.GZ", "b.tgz", "pic.svgz", "x.tar.bz2",
        "a.b.c.png", "Makefile", ".bashrc", ".hidden.txt", "..txt", "trailing.",
        "two..dots", "http:x.txt", "data:text/plain", "c:thing.js", "no-ext", "weird.ünï",
    ],
)
def test_content_type_is_what_guess_type_says(name: str) -> None:
    assert content_type(name) == _plain_content_type(name)
    assert content_type(name) == _plain_content_type(name)  # from the cache too
