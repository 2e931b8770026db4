"""Rendering of finished cells (real Cell and Execution objects)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prompt_toolkit.formatted_text import FormattedText, to_plain_text

from repl.api.models import Execution, ExecutionStatus
from repl.line.render import MAX_LINES, cell_fragments
from repl.transcript import Cell


def _cell(**kw) -> Cell:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return Cell(n=1, code="x", started_at=start, finished_at=start + timedelta(milliseconds=41), **kw)


def test_long_stdout_is_capped_with_a_count_of_hidden_lines():
    text = "".join(f"line {i}\n" for i in range(MAX_LINES + 500))
    cell = _cell(execution=Execution(ExecutionStatus.SUCCEEDED, stdout=text, server_ms=3, round_trip_ms=41))
    out = to_plain_text(FormattedText(cell_fragments(cell)))
    assert f"line {MAX_LINES - 1}\n" in out and f"line {MAX_LINES}\n" not in out
    assert "… 500 more lines hidden" in out
    assert out.endswith("✓ succeeded · server 3 ms · round trip 41 ms\n")


def test_failed_code_and_service_error_look_different():
    failed = to_plain_text(FormattedText(cell_fragments(_cell(
        execution=Execution(ExecutionStatus.FAILED, stderr="ReferenceError: y is not defined", server_ms=2,
                            round_trip_ms=30)))))
    service = to_plain_text(FormattedText(cell_fragments(_cell(error="The service answered 503: try again later."))))
    assert "✗ failed · server 2 ms · round trip 30 ms" in failed and "service error" not in failed
    assert "The service answered 503" in service and "! service error · round trip 41 ms" in service


ATTACK = "before\x1b[2J after \x1b]2;PWNED\x07\x1b]52;c;aGk=\x07\x9b1;1H\x1bPq#0\x1b\\ 10%\r100%"


def test_remote_output_cannot_drive_the_terminal_and_keeps_its_colours():
    cell = _cell(execution=Execution(ExecutionStatus.SUCCEEDED, stdout="\x1b[31mred\x1b[0m\n" + ATTACK,
                                     stderr=ATTACK, value_text=ATTACK, server_ms=3, round_trip_ms=41))
    frags = cell_fragments(cell)
    text = "".join(t for _, t in frags)
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text and "\r" not in text
    assert "PWNED" not in text and "aGk=" not in text
    assert "100%re after  10%\n" in text  # the \r rewrote the line as a terminal would
    assert ("class:stdout ansired", "red") in frags


def test_colour_off_prints_no_escape_at_all():
    import io

    from prompt_toolkit.output.plain_text import PlainTextOutput

    from repl.line.render import Printer

    buf = io.StringIO()
    printer = Printer(PlainTextOutput(buf), colour=False)
    printer.cell(_cell(execution=Execution(ExecutionStatus.SUCCEEDED, stdout="\x1b[31mred\x1b[0m\n" + ATTACK)))
    printer.message("server said \x1b]0;x\x07 no")
    out = buf.getvalue()
    assert "\x1b" not in out and "red\n100%re after" in out and "server said  no" in out


def test_the_pool_cutting_a_stream_is_said_right_after_it():
    cell = _cell(execution=Execution(ExecutionStatus.SUCCEEDED, stdout="x" * 10, stderr="oops\n",
                                     stdout_dropped=1234, output_limit=10))
    out = to_plain_text(FormattedText(cell_fragments(cell)))
    assert "x" * 10 + "\n… stdout was cut by the pool: 1,234 more characters not shown (limit 10 characters)\n" \
        "oops\n" in out
