from __future__ import annotations

from datetime import UTC, datetime, timedelta

from repl.api.models import Execution, ExecutionStatus
from repl.transcript import Cell, Transcript

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _cells() -> Transcript:
    t = Transcript()
    t.add(
        Cell(
            n=1,
            code="console.log('hi'); 6*7",
            sent_code="console.log('hi'); 6*7",
            execution=Execution(
                ExecutionStatus.SUCCEEDED, stdout="hi\n", value=42, value_text="42", server_ms=3, round_trip_ms=41
            ),
            started_at=T0,
            finished_at=T0 + timedelta(milliseconds=41),
        )
    )
    t.add(
        Cell(
            n=2,
            code="const r = await f()",
            sent_code="var r; $$.async(); (async () => { ... })()",
            execution=Execution(ExecutionStatus.FAILED, stderr="ReferenceError: f is not defined\n", server_ms=1),
            started_at=T0,
            finished_at=T0 + timedelta(milliseconds=5),
        )
    )
    t.add(Cell(n=3, code="x", sent_code="x", error="Could not reach the pool: connection refused.", started_at=T0,
               finished_at=T0 + timedelta(seconds=1)))
    t.add(Cell(n=4, code="while(true){}", sent_code="while(true){}", abandoned=True, started_at=T0,
               finished_at=T0 + timedelta(seconds=12)))
    t.add(Cell(n=5, code="print(```)", sent_code="print(```)", started_at=T0))
    return t


def test_cell_status_and_timing() -> None:
    cells = _cells().cells
    assert [c.status for c in cells] == ["succeeded", "failed", "error", "abandoned", "running"]
    assert cells[0].ok and not cells[1].ok and not cells[2].ok
    assert cells[0].timing_text() == "server 3 ms · round trip 41 ms"
    assert cells[1].timing_text() == "server 1 ms · round trip 5 ms"  # falls back to wall time
    assert cells[2].timing_text() == "round trip 1000 ms"
    assert cells[4].timing_text() == ""
    assert cells[3].timing_text() == "abandoned after 12.0 s"
    assert cells[4].running and not cells[3].running
    assert cells[1].rewritten and not cells[0].rewritten


def test_markdown_has_code_outputs_value_status_and_timings() -> None:
    md = _cells().to_markdown()
    assert md.startswith("# acajs-repl transcript")
    assert "## In [1]\n\n```javascript\nconsole.log('hi'); 6*7\n```" in md
    assert "stdout:\n\n```text\nhi\n```" in md
    assert "Out[1]:\n\n```javascript\n42\n```" in md
    assert "status: **succeeded** · server 3 ms · round trip 41 ms" in md
    assert "stderr:\n\n```text\nReferenceError: f is not defined\n```" in md
    assert "status: **failed**" in md
    assert "Sent (rewritten for top-level await)" in md and "$$.async()" in md
    assert "Service error:\n\n```text\nCould not reach the pool" in md
    assert "abandoned: the code may still be running remotely" in md
    # a code containing ``` gets a longer fence
    assert "````javascript\nprint(```)\n````" in md
    assert "Out[2]" not in md  # no value, no Out


def test_javascript_export_has_the_typed_inputs_in_order() -> None:
    js = _cells().to_javascript()
    assert js.index("// In [1]") < js.index("console.log('hi'); 6*7") < js.index("// In [2]")
    assert "const r = await f()\n" in js
    assert "$$.async" not in js  # what the user typed, not the rewrite
    assert js.count("// In [") == 5


def test_empty_transcript() -> None:
    t = Transcript()
    assert len(t) == 0
    assert t.to_markdown().startswith("# ")
    assert "In [" not in t.to_javascript()


def test_exports_hold_no_control_sequence():
    attack = "before\x1b[2J after\x1b]2;PWNED\x07 \x1b]52;c;aGk=\x07\x9b1;1H\x1b[31mred\x1b[0m 10%\r100%"
    t = Transcript()
    t.add(Cell(n=1, code="console.log('\x1b]2;x\x07')\r\n'\x9b'", sent_code=None,
               execution=Execution(ExecutionStatus.SUCCEEDED, stdout=attack, stderr=attack, value=attack,
                                   value_text=attack, stdout_dropped=5, output_limit=10),
               started_at=T0, finished_at=T0))
    t.add(Cell(n=2, code="x", error="The service said \x1b]0;owned\x07 no", started_at=T0))
    md = t.to_markdown()
    js = t.to_javascript()
    for text in (md, js):
        assert not any(ch in text for ch in "\x1b\x9b\x07\r")
    assert "PWNED" not in md and "aGk=" not in md and "owned" not in md
    assert "100%re after" in md  # as a terminal showed it, colours dropped
    assert "stdout was cut by the pool: 5 more characters not shown (limit 10 characters)" in md
    # The .js export is the same program: control characters become \u escapes.
    assert "console.log('\\u001b]2;x\\u0007')\n'\\u009b'\n" in js
