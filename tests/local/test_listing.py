"""The listing's per-entry formatting (dates, content types) answers exactly what
the plain standard-library calls answer: the caches only save the repeats; the
listing's body, written from templates, is byte for byte what ``json.dumps``
writes for the same entries; names that are not UTF-8 are shown, not fatal."""

from __future__ import annotations

import json
import mimetypes
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repl.local.listing import _EXTRA_TYPES, content_type, file_entry, iso, json_bytes, listing_json, shown


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


ODD_NAMES = [
    "plain.txt", 'quote".txt', "back\\slash.js", "tab\there", "new\nline", "nul\x01ctl.bin", "del\x7f",
    "ünïcødé.md", "emoji-😀.json", "\u2028line-sep", "</script>.html", "archive.tar.gz", "Makefile",
    "a\udcffb",  # os.listdir's spelling of the byte 0xff in a name that is not UTF-8
]


def _entries(tmp_path: Path) -> list[tuple[str, str, os.stat_result]]:
    f = tmp_path / "f"
    f.write_bytes(b"x" * 12)
    d = tmp_path / "d"
    d.mkdir()
    fst, dst = os.lstat(f), os.lstat(d)
    out = []
    for directory in ("", "sub", "sub/ünï", 'q"uote', "x\udcfe"):
        for name in ODD_NAMES:
            out.append((name, directory, fst))
        out.append(("dir-" + ODD_NAMES[1], directory, dst))
    return out


def test_listing_json_is_json_dumps_of_the_entries_byte_for_byte(tmp_path: Path) -> None:
    entries = _entries(tmp_path)
    expected = json_bytes({"value": [file_entry(n, d, st) for n, d, st in entries], "nextLink": None})
    assert listing_json(entries) == expected
    assert listing_json([]) == json_bytes({"value": [], "nextLink": None})


def test_a_name_that_is_not_utf8_is_shown_with_replacement_characters(tmp_path: Path) -> None:
    body = json.loads(listing_json(_entries(tmp_path)))
    names = {e["name"] for e in body["value"]}
    assert "a\ufffdb" in names and not any("\udcff" in n for n in names)
    assert {e["directory"] for e in body["value"]} >= {"x\ufffd", "sub/ünï"}
    assert shown("a\udcff\udcfeb") == "a\ufffd\ufffdb" and shown("ünï") == "ünï"
