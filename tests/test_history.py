from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from repl import paths
from repl.history import History, HistoryCursor


def test_append_writes_one_json_line_per_block_and_flushes(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.jsonl"
    h = History(path)
    h.append("let x = 1", session="s1", status="succeeded", duration_ms=12.3456)
    # visible to another reader right away (flushed, not buffered)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["code"] == "let x = 1"
    assert obj["session"] == "s1"
    assert obj["status"] == "succeeded"
    assert obj["duration_ms"] == 12.346
    assert obj["time"].endswith("+00:00")
    assert set(obj) == {"code", "time", "session", "status", "duration_ms"}
    h.append("function f() {\n  return 'é';\n}", session="s1", status="failed")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2  # multi-line block = one line
    assert [e.code for e in h.entries()] == ["let x = 1", "function f() {\n  return 'é';\n}"]


def test_corrupt_lines_are_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    h = History(path)
    h.append("a()")
    with open(path, "ab") as fh:
        fh.write(b'{"code": "half-writ')  # a crash mid-line
    h.append("b()")  # starts on its own line
    with open(path, "ab") as fh:
        fh.write(b"\xff\xfe not utf8\n[1,2]\n{\"nocode\": 1}\n\n")
    h.append("c()")
    assert [e.code for e in History(path).entries()] == ["a()", "b()", "c()"]


def test_missing_file_is_empty(tmp_path: Path) -> None:
    h = History(tmp_path / "nope.jsonl")
    assert h.entries() == []
    assert h.search("x") == []


def test_search_newest_first_deduplicated_case_insensitive(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    for code in ["fetch(a)", "x = 1", "FETCH(b)", "fetch(a)", "y = 2"]:
        h.append(code)
    assert [e.code for e in h.search("fetch")] == ["fetch(a)", "FETCH(b)"]
    assert [e.code for e in h.search("")] == ["y = 2", "fetch(a)", "FETCH(b)", "x = 1"]


def test_entries_sees_appends_from_another_process(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    h = History(path)
    h.append("mine()")
    assert len(h.entries()) == 1
    script = (
        "import sys; from repl.history import History; "
        "h = History(sys.argv[1]); [h.append(f'other({i})') for i in range(20)]"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)]) for _ in range(2)]
    for i in range(20):
        h.append(f"mine({i})")
    for p in procs:
        assert p.wait(timeout=30) == 0
    codes = h.entries()
    assert len(codes) == 61  # nothing lost or interleaved mid-line
    assert sum(1 for e in codes if e.code.startswith("other(")) == 40


def test_history_file_honours_data_dir_env(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ACAJS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACAJS_CONFIG_DIR", str(tmp_path / "conf"))
    assert paths.history_file() == tmp_path / "data" / "history.jsonl"
    assert paths.config_file() == tmp_path / "conf" / "config.toml"
    monkeypatch.delenv("ACAJS_DATA_DIR")
    assert paths.data_dir().name == "acajs-repl"


def test_cursor_walks_and_keeps_the_draft() -> None:
    c = HistoryCursor(["a", "b", "b", "c"], draft="")
    assert c.at_draft
    assert c.next("typing") is None  # nothing newer than the draft
    assert c.previous("typing") == "c"
    assert c.previous() == "b"  # consecutive duplicates collapsed
    assert c.previous() == "a"
    assert c.previous() is None  # oldest
    assert c.next() == "b"
    assert c.next() == "c"
    assert c.next() == "typing"  # back to the draft
    assert c.at_draft
    assert c.next() is None


def test_cursor_from_history_and_add(tmp_path: Path) -> None:
    h = History(tmp_path / "h.jsonl")
    h.append("one")
    h.append("two")
    c = h.cursor()
    assert c.previous("draft") == "two"
    c.add("three")
    assert c.at_draft and c.draft == ""
    assert c.previous("") == "three"
    assert c.previous() == "two"


def test_empty_cursor() -> None:
    c = HistoryCursor([])
    assert c.previous("x") is None
    assert c.next("x") is None


def test_unreadable_history_reads_as_empty_and_append_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    under_file = History(blocker / "history.jsonl")  # its parent is a file
    assert under_file.entries() == [] and under_file.codes() == []
    with pytest.raises(OSError):
        under_file.append("1")
    (tmp_path / "dir.jsonl").mkdir()
    a_dir = History(tmp_path / "dir.jsonl")  # the path is a directory
    assert a_dir.entries() == []
    assert a_dir.cursor().previous() is None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_a_new_history_file_and_folder_are_private(tmp_path: Path) -> None:
    h = History(tmp_path / "new-data" / "history.jsonl")
    h.append("1", session="secret-session-id")
    assert (h.path.stat().st_mode & 0o777) == 0o600
    assert (h.path.parent.stat().st_mode & 0o077) == 0
    h.append("2")  # appending again keeps working and keeps the mode
    assert h.codes() == ["1", "2"] and (h.path.stat().st_mode & 0o777) == 0o600


def test_two_histories_on_one_file_see_each_others_appends(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    a, b = History(path), History(path)
    assert a.entries() == [] and b.entries() == []
    expected: list[str] = []
    for i in range(5):
        a.append(f"a({i})")
        expected.append(f"a({i})")
        assert a.codes() == expected and b.codes() == expected
        b.append(f"b({i})")
        b.append(f"b({i})!")
        expected += [f"b({i})", f"b({i})!"]
        assert b.codes() == expected and a.codes() == expected
    # an append while the other one's memory is behind lands after the other's lines
    a.append("a-last")
    b.append("b-last")
    expected += ["a-last", "b-last"]
    assert a.codes() == expected and b.codes() == expected
    assert History(path).codes() == expected  # the file says the same as memory


def test_a_line_being_written_is_read_once_it_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    h = History(path)
    h.append("first")
    assert h.codes() == ["first"]
    line = json.dumps({"code": "other()", "time": "t"}).encode() + b"\n"
    with open(path, "ab") as fh:
        fh.write(line[:10])  # another process is half-way through its write
    assert h.codes() == ["first"]
    with open(path, "ab") as fh:
        fh.write(line[10:])
    assert h.codes() == ["first", "other()"]
    h.append("last")
    assert h.codes() == ["first", "other()", "last"]


def test_a_final_line_without_newline_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"code": "a", "time": "t"}\n{"code": "edited", "time": "t"}')
    h = History(path)
    assert h.codes() == ["a", "edited"]
    h.append("b")
    assert h.codes() == ["a", "edited", "b"]
    assert History(path).codes() == ["a", "edited", "b"]


def test_a_truncated_or_replaced_file_is_read_whole_again(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    h = History(path)
    for code in ["one", "two", "three"]:
        h.append(code)
    assert h.codes() == ["one", "two", "three"]
    path.write_bytes(b"")  # truncated (same inode)
    assert h.codes() == []
    h.append("after-truncate")
    assert h.codes() == ["after-truncate"]
    # replaced by another file (rename over it, as an editor or a cleanup would)
    other = tmp_path / "new.jsonl"
    other.write_text(
        "".join(json.dumps({"code": c, "time": "t"}) + "\n" for c in ["x", "y", "z", "w"])
    )
    other.replace(path)
    assert h.codes() == ["x", "y", "z", "w"]
    h.append("v")
    assert h.codes() == ["x", "y", "z", "w", "v"]
    path.unlink()  # removed
    assert h.codes() == []
    h.append("fresh")
    assert h.codes() == ["fresh"]


def test_a_file_rewritten_in_place_and_grown_is_read_whole_again(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    h = History(path)
    h.append("old-1")
    h.append("old-2")
    assert h.codes() == ["old-1", "old-2"]
    # same inode, rewritten from the start with more bytes than before
    with open(path, "r+b") as fh:
        fh.truncate(0)
        fh.write(
            "".join(
                json.dumps({"code": f"new-{i}", "time": "t"}) + "\n" for i in range(4)
            ).encode()
        )
    assert h.codes() == [f"new-{i}" for i in range(4)]
