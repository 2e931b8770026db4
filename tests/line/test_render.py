"""Rendering of finished cells (real Cell and Execution objects)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prompt_toolkit.formatted_text import FormattedText, to_plain_text

from repl.api.models import Execution, ExecutionStatus
from repl.line.render import MAX_LINES, cell_fragments
from repl.transcript import Cell


def _cell(**kw) -> Cell:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
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
    assert "The service answered 503" in service and "✗ service error · round trip 41 ms" in service
