"""Recording: the transcript as an asciicast v2 file, checked as JSON and played
through the real asciinema tool (``asciinema cat``) into a pyte terminal screen."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyte
import pytest

from repl.api.models import Execution, ExecutionStatus
from repl.presenter import SESSION, Redactor
from repl.recording import cast_events, sanitise, to_cast, write_cast
from repl.transcript import Cell, Transcript

T0 = datetime(2026, 12, 2, 16, 0, 0, tzinfo=UTC)


def parse_cast(text: str) -> tuple[dict[str, Any], list[list[Any]]]:
    """Check the asciicast v2 shape line by line; returns (header, events)."""
    lines = text.splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2
    assert isinstance(header["width"], int) and header["width"] > 0
    assert isinstance(header["height"], int) and header["height"] > 0
    assert isinstance(header["timestamp"], int)
    events = [json.loads(line) for line in lines[1:]]
    last = 0.0
    for e in events:
        assert len(e) == 3 and e[1] == "o" and isinstance(e[2], str)
        assert isinstance(e[0], (int, float)) and e[0] >= last
        last = e[0]
    return header, events


def play(path: Path) -> pyte.Screen:
    """Play the cast with the real asciinema player (`asciinema cat`) into a terminal screen."""
    header = json.loads(path.read_text().splitlines()[0])
    out = subprocess.run([sys.executable, "-m", "asciinema", "cat", str(path)], capture_output=True, check=True,
                         timeout=60).stdout
    screen = pyte.Screen(header["width"], 200)
    stream = pyte.ByteStream(screen)
    stream.feed(out)
    return screen


def screen_lines(screen: pyte.Screen) -> list[str]:
    return [line.rstrip() for line in screen.display if line.strip()]


async def test_a_real_session_recorded_and_played(engine, tmp_path: Path) -> None:
    await engine.run('console.log("hi"); 6*7')
    await engine.run("function twice(x) {\n  return x * 2;\n}")
    await engine.run('console.error("careful"); twice(21)')
    await engine.run('throw new Error("boom")')
    # Output that would attack the viewer's terminal: clipboard write, clear
    # screen, window title, cursor home; and one harmless colour.
    await engine.run(r'process.stdout.write("\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b[H\x1b]0;pwned\x07'
                     r'\x1b[31mred\x1b[0m text\n")')
    cast = write_cast(tmp_path / "demo.cast", engine.transcript)
    text = cast.read_text()
    header, events = parse_cast(text)
    assert header["title"] == "acajs-repl" and header["idle_time_limit"] == 2.0
    assert header["timestamp"] == int(engine.transcript.cells[0].started_at.timestamp())
    assert len(events) == 10  # the prompt and the result of each of the 5 cells
    joined = "".join(e[2] for e in events[1::2])  # the results (the prompts show the code's source)
    for attack in ("\x1b]52", "\x1b[2J", "\x1b[H", "\x1b]0", "pwned", "\x07"):
        assert attack not in joined
    assert "\x1b[31mred\x1b[0m" in joined  # colour is kept

    lines = screen_lines(play(cast))
    assert lines[:3] == ['In [1]: console.log("hi"); 6*7', "hi", "Out[1]: 42"]
    assert "In [2]: function twice(x) {" in lines
    assert "   ...:   return x * 2;" in lines and "   ...: }" in lines
    i = lines.index("In [3]: console.error(\"careful\"); twice(21)")
    assert lines[i + 1:i + 3] == ["careful", "Out[3]: 42"]
    assert any("Error: boom" in line for line in lines)
    assert "red text" in lines
    assert sum(1 for line in lines if line.startswith("succeeded · ")) == 4
    assert any(line.startswith("failed · ") for line in lines)


def cell(n: int, code: str, start: float, end: float | None, **kw: Any) -> Cell:
    finished = T0 + timedelta(seconds=end) if end is not None else None
    return Cell(n, code, started_at=T0 + timedelta(seconds=start), finished_at=finished, **kw)


def ok(value: str = "", stdout: str = "") -> Execution:
    return Execution(ExecutionStatus.SUCCEEDED, stdout=stdout, value_text=value, server_ms=2.0, round_trip_ms=40.0)


def test_event_times_come_from_the_cells() -> None:
    t = Transcript()
    t.add(cell(1, "1", 0.0, 0.25, execution=ok("1")))
    t.add(cell(2, "2", 10.5, 11.0, execution=ok("2")))
    t.add(cell(3, "slow()", 12.0, None))  # still running: only the prompt
    assert [round(e[0], 3) for e in cast_events(t)] == [0.0, 0.25, 10.5, 11.0, 12.0]
    header, events = parse_cast(to_cast(t))
    assert header["timestamp"] == int(T0.timestamp())
    assert events[-1][2].endswith("slow()\r\n")


def test_times_never_go_backwards_and_abandoned_cells_say_so() -> None:
    t = Transcript()
    t.add(cell(1, "a", 5.0, 6.0, execution=ok("1")))
    t.add(cell(2, "b", 3.0, 2.0, execution=ok("2")))  # a clock that stepped back
    t.add(cell(3, "while(1){}", 7.0, None, abandoned=True))
    _, events = parse_cast(to_cast(t))
    assert [e[0] for e in events] == [0.0, 1.0, 1.0, 1.0, 2.0, 2.0]
    assert "stopped waiting: the code may still be running remotely" in events[-1][2]
    assert "abandoned" in events[-1][2]


def test_service_errors_and_empty_transcripts() -> None:
    t = Transcript()
    t.add(cell(1, "x", 0, 1, error="the pool is full (429); try again in 5 s"))
    _, events = parse_cast(to_cast(t, title=None, width=100, height=40, idle_time_limit=None))
    assert "service error: the pool is full (429); try again in 5 s" in events[1][2]
    header, events = parse_cast(to_cast(Transcript()))
    assert events == [] and header["version"] == 2
    header, _ = parse_cast(to_cast(t, title=None, width=100, height=40, idle_time_limit=None))
    assert header["width"] == 100 and header["height"] == 40
    assert "title" not in header and "idle_time_limit" not in header


def test_width_follows_the_longest_line_within_bounds() -> None:
    t = Transcript()
    t.add(cell(1, "x", 0, 1, execution=ok("a" * 120)))
    assert parse_cast(to_cast(t))[0]["width"] == 130
    t.add(cell(2, "y", 1, 2, execution=ok("b" * 500)))
    assert parse_cast(to_cast(t))[0]["width"] == 160
    assert parse_cast(to_cast(Transcript()))[0]["width"] == 80


def test_lines_end_with_crlf_as_a_terminal_writes_them() -> None:
    t = Transcript()
    t.add(cell(1, "a\nb", 0, 1, execution=ok("x", stdout="one\ntwo\n")))
    for _, text in cast_events(t):
        assert "\n" not in text.replace("\r\n", "")


def test_presenter_redaction_applies_to_the_recording() -> None:
    ident = "6f1c2e8a-93b1-4d7e-8c55-0e2f4a9b7d13"
    t = Transcript()
    t.add(cell(1, "x", 0, 1, error=f"no session {ident} (404)", session=ident))
    r = Redactor.for_connection(None, sessions=[ident])
    text = to_cast(t, redact=r, title=f"demo {ident}")
    assert ident not in text and SESSION in text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain\ttext\n", "plain\ttext\n"),
        ("\x1b[1;31mbold red\x1b[0m", "\x1b[1;31mbold red\x1b[0m"),
        ("\x1b[38;2;255;0;0mrgb\x1b[m", "\x1b[38;2;255;0;0mrgb\x1b[m"),
        ("a\x1b]52;c;ZXZpbA==\x07b", "ab"),  # clipboard write
        ("a\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # hyperlink
        ("a\x1b]0;title\x1b\\b", "ab"),  # window title
        ("\x1b[2J\x1b[Hx\x1b[10;10Hy\x1b[6n\x1b[?1049h", "xy"),  # clear, move, query, alt screen
        ("\x1bPq#0;2;0;0;0\x1b\\z", "z"),  # DCS (sixel)
        ("\x1bc\x1b(0q\x1b)B", "q"),  # reset, charset switches
        ("a\x9b31mb\x9dc", "abc"),  # 8-bit CSI and OSC introducers
        ("a\rb\x08c\x00d\x7fe\x07", "abcde"),  # carriage return, backspace, NUL, DEL, BEL
        ("unterminated \x1b[", "unterminated "),
        ("x\x1b", "x"),
    ],
)
def test_sanitise_keeps_text_and_colour_only(raw: str, shown: str) -> None:
    assert sanitise(raw) == shown
