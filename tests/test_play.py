"""Play files: splitting into steps, the Player state machine, the typewriter."""

from __future__ import annotations

from pathlib import Path

import pytest

from repl.play import (
    Chunk,
    Player,
    PlayError,
    PlayState,
    Script,
    Step,
    StepStatus,
    load_script,
    split_steps,
    typewriter,
    typing_time,
)


def codes(text: str) -> list[str]:
    return [s.code for s in split_steps(text)]


# ------------------------------------------------------------------ markers


def test_markers_split_and_carry_titles_and_lines() -> None:
    text = "// %% Setup\nconst a = 1;\n\n// %%\na + 1\n//%%   Last one  \nconsole.log(a)\n"
    steps = split_steps(text)
    assert steps == [
        Step("const a = 1;", "Setup", 2),
        Step("a + 1", None, 5),
        Step("console.log(a)", "Last one", 7),
    ]


def test_text_before_the_first_marker_is_a_step() -> None:
    assert codes("// intro\nlet x = 1\n// %% two\nx\n") == ["// intro\nlet x = 1", "x"]


def test_markers_keep_blank_lines_inside_a_step() -> None:
    # With markers, blank lines do not split.
    assert codes("// %%\nlet a = 1\n\nlet b = 2\n// %%\na + b") == ["let a = 1\n\nlet b = 2", "a + b"]


def test_empty_steps_and_markers_only() -> None:
    assert codes("// %% one\n\n// %% two\n// %%\nx\n// %%\n\n") == ["x"]
    assert split_steps("// %%\n// %% title\n\n") == []
    assert split_steps("") == []
    assert split_steps("\n\n  \n") == []


def test_not_markers() -> None:
    # `// %%%`, `// %%x` and a marker inside a line are not markers: one blank-line group each.
    assert codes("// %%% x\na\n\n// %%y\nb\n\nc // %%\n") == ["// %%% x\na", "// %%y\nb", "c // %%"]


def test_marker_inside_a_template_literal_or_block_comment_is_text() -> None:
    text = "// %%\nconst t = `\n// %% not a marker\n`;\n/*\n// %% nor this\n*/\n// %% real\nt\n"
    steps = split_steps(text)
    assert [s.title for s in steps] == [None, "real"]
    assert steps[0].code == "const t = `\n// %% not a marker\n`;\n/*\n// %% nor this\n*/"
    # ... and a file whose only "marker" is inside a template splits at blank lines.
    assert codes("const t = `\n// %%\n`\n\nt\n") == ["const t = `\n// %%\n`", "t"]


# ------------------------------------------------------- blank-line groups


def test_blank_line_groups() -> None:
    assert codes("let a = 1\nlet b = 2\n\n\na + b\n\nconsole.log(a)") == [
        "let a = 1\nlet b = 2", "a + b", "console.log(a)"]


def test_a_function_with_blank_lines_inside_stays_one_step() -> None:
    fn = "function f(x) {\n  const y = x * 2;\n\n  return y;\n}"
    assert codes(f"{fn}\n\nf(21)\n") == [fn, "f(21)"]


def test_several_blank_lines_inside_a_function_or_template_do_not_split_it() -> None:
    # Two blank lines force a run at the prompt; inside a play file's group they must not.
    fn = "function f() {\n  a();\n\n\n\n  b();\n}"
    tpl = "const t = `\n\n\n\nx`"
    assert codes(f"{fn}\n\n\n{tpl}\n\n\n\nt") == [fn, tpl, "t"]


def test_a_template_literal_with_blank_lines_stays_one_step() -> None:
    tpl = "const page = `\n<h1>hi</h1>\n\n\n<p>there</p>\n`;"
    assert codes(f"{tpl}\n\npage.length\n") == [tpl, "page.length"]


def test_an_object_literal_and_an_unfinished_expression_with_blank_lines_stay_one_step() -> None:
    obj = "const o = {\n  a: 1,\n\n  b: 2,\n};"
    expr = "const total = 1 +\n\n  2"
    assert codes(f"{obj}\n\n{expr}\n") == [obj, expr]


def test_a_complete_statement_ends_the_group_even_if_the_next_line_continues_it() -> None:
    # The rule is the REPL's: a complete program runs. A chain continued after a
    # blank line is two steps (write it without the blank line, or use markers).
    assert codes("[1, 2]\n  .map(x => x)\n\n  .length\n") == ["[1, 2]\n  .map(x => x)", ".length"]


def test_a_comment_only_group_joins_the_code_after_it() -> None:
    text = "// First, a value.\n\nconst v = 42\n\n// The end.\n"
    steps = split_steps(text)
    assert [s.code for s in steps] == ["// First, a value.\n\nconst v = 42", "// The end."]
    assert steps[0].line == 1


def test_line_numbers_of_blank_line_groups() -> None:
    steps = split_steps("\n\na\n\n\nb\nc\n")
    assert [(s.code, s.line) for s in steps] == [("a", 3), ("b\nc", 6)]


def test_crlf_cr_bom_and_no_trailing_newline() -> None:
    assert codes("\ufeff// %% a\r\nx = 1\r\n// %% b\r\ny") == ["x = 1", "y"]
    assert codes("a\r\rb") == ["a", "b"]
    assert codes("\ufeffa\r\n\r\nb\r\n") == ["a", "b"]
    assert all("\r" not in c for c in codes("f(\r\n1,\r\n\r\n2)\r\n"))


def test_trailing_spaces_are_dropped_from_lines() -> None:
    assert codes("a = 1   \n  b = 2\t\n") == ["a = 1\n  b = 2"]


def test_dot_commands_are_steps() -> None:
    assert codes(".files\n\n6*7\n") == [".files", "6*7"]


# ------------------------------------------------------------------- files


def test_load_script_bom_crlf(tmp_path: Path) -> None:
    f = tmp_path / "demo.js"
    f.write_bytes(b"\xef\xbb\xbf// %% One\r\nconst a = 1\r\n// %% Two\r\na")
    script = load_script(f)
    assert script.path == f
    assert [(s.title, s.code, s.line) for s in script.steps] == [("One", "const a = 1", 2), ("Two", "a", 4)]
    assert len(script) == 2


def test_load_script_errors(tmp_path: Path) -> None:
    with pytest.raises(PlayError, match="no such file"):
        load_script(tmp_path / "missing.js")
    with pytest.raises(PlayError, match="is a directory"):
        load_script(tmp_path)
    bad = tmp_path / "latin1.js"
    bad.write_bytes(b"let a = 1\nlet s = '\xe9'\n")
    with pytest.raises(PlayError, match=r"not UTF-8 text \(bad byte on line 2\)"):
        load_script(bad)
    only = tmp_path / "markers.js"
    only.write_text("// %% a\n\n// %% b\n")
    with pytest.raises(PlayError, match="has no code"):
        load_script(only)
    empty = tmp_path / "empty.js"
    empty.write_text("")
    with pytest.raises(PlayError, match="has no code"):
        load_script(empty)


# ------------------------------------------------------------------- player


def three() -> Player:
    return Player(Script((Step("a", "A", 2), Step("b", None, 4), Step("c", "C", 6)), Path("demo.js")))


def test_player_walks_the_steps_and_finishes() -> None:
    p = three()
    assert p.progress == "step 0 of 3" and p.current is None and p.active
    assert p.next() == Step("a", "A", 2)
    assert p.progress == "step 1 of 3: A"
    p.ran()
    assert p.status(0) is StepStatus.RAN and not p.finished
    assert p.next().code == "b"
    assert p.progress == "step 2 of 3"
    p.ran()
    assert p.next().code == "c"
    p.ran()
    assert p.finished and not p.active and p.state is PlayState.FINISHED
    assert p.progress == "play finished: 3 of 3"
    with pytest.raises(PlayError, match="the play is finished"):
        p.next()


def test_next_past_the_end_finishes() -> None:
    p = Player(Script((Step("a"),)))
    p.next()
    assert p.next() is None  # the presenter pressed the key again without running
    assert p.finished


def test_back_and_back_after_the_end() -> None:
    p = three()
    assert p.back().code == "a" and p.index == 0  # before the first step: the first step
    assert p.next().code == "b"
    assert p.back().code == "a"
    assert p.back().code == "a" and p.index == 0  # stays at the first
    p.next(), p.next()
    p.ran()
    assert p.finished
    assert p.back().code == "b" and p.active  # go back to run an earlier step again


def test_skip() -> None:
    p = three()
    p.next()
    assert p.skip().code == "b"
    assert p.status(0) is StepStatus.SKIPPED
    p.next()
    assert p.skip() is None and p.finished
    assert p.progress == "play finished: 3 of 3 (2 skipped)"


def test_edit_is_kept_for_this_run_only() -> None:
    p = three()
    p.next()
    p.edit("a + 1")
    assert p.current.code == "a + 1" and p.edited(0)
    p.next()
    assert p.back().code == "a + 1"  # going back brings the edit back
    p.edit("a")  # edited back to the original: no edit
    assert not p.edited(0)
    p.ran("a * 2")  # what actually ran is the edit
    assert p.step(0).code == "a * 2"
    assert p.script.steps[0].code == "a"  # the script itself is untouched
    assert three().step(0).code == "a"  # a new run starts from the file


def test_fail_stops_the_play_and_says_where() -> None:
    p = three()
    p.next()
    p.ran()
    p.next()
    msg = p.fail("In [5]: ReferenceError: b is not defined")
    assert msg == "play stopped: step 2 of 3 failed at demo.js:4: In [5]: ReferenceError: b is not defined"
    assert p.failure == msg and p.state is PlayState.FAILED and not p.active
    assert p.progress == "step 2 of 3 failed"
    assert p.status(1) is StepStatus.FAILED
    for action in (p.next, p.skip, p.back):
        with pytest.raises(PlayError, match="the play is failed"):
            action()
    with pytest.raises(PlayError):
        p.edit("x")
    # fix it and go on
    assert p.resume().code == "b"
    p.ran("globalThis.b = 1")
    assert p.next().code == "c"


def test_fail_names_the_title_and_works_without_a_path() -> None:
    p = Player(Script((Step("x", "Boom", 7),)))
    p.next()
    assert p.fail("") == "play stopped: step 1 of 1 (Boom) failed at line 7"


def test_leave() -> None:
    p = three()
    p.next()
    p.next()
    assert p.leave() == "left play at step 2 of 3"
    assert p.state is PlayState.LEFT and not p.active
    with pytest.raises(PlayError, match="the play is left"):
        p.next()
    with pytest.raises(PlayError):
        p.resume()
    assert p.leave() == "left play at step 2 of 3"  # leaving twice is harmless


def test_actions_that_need_a_loaded_step() -> None:
    p = three()
    with pytest.raises(PlayError, match="no step is loaded"):
        p.edit("x")
    with pytest.raises(PlayError, match="no step is loaded"):
        p.ran()
    with pytest.raises(PlayError, match="no step is loaded"):
        p.fail("x")
    with pytest.raises(PlayError):
        Player(Script(()))


# --------------------------------------------------------------- typewriter


def test_typewriter_joins_to_the_text_at_the_speed() -> None:
    text = "function f() {\n    return 42;\n}\n"
    chunks = list(typewriter(text, speed=60, frame=1 / 30))
    assert "".join(c.text for c in chunks) == text
    typed = len(text) - 4  # the four spaces of indentation come for free
    # indentation is free: the time is the characters typed over the speed
    assert sum(c.delay for c in chunks) == pytest.approx(typed / 60)
    assert typing_time(text, 60) == pytest.approx(typed / 60)
    assert all(len(c.text.strip(" ")) <= 2 for c in chunks)  # 60 chars/s at 30 frames/s: 2 a frame
    assert all("\n" not in c.text[:-1] for c in chunks)  # a chunk never runs past a newline
    assert any(c.text.startswith("    r") for c in chunks)  # the indentation came with the `r`


def test_typewriter_slow_and_instant() -> None:
    assert [c.text for c in typewriter("abc", speed=5)] == ["a", "b", "c"]
    assert [c.delay for c in typewriter("abc", speed=5)] == [0.2, 0.2, 0.2]
    assert list(typewriter("abc", speed=0)) == [Chunk(0.0, "abc")]
    assert list(typewriter("abc", speed=float("inf"))) == [Chunk(0.0, "abc")]
    assert list(typewriter("", speed=10)) == []


def test_typewriter_keeps_combining_marks_with_their_letter() -> None:
    text = "e\u0301e\u0301"  # é é as letter + combining accent
    assert [c.text for c in typewriter(text, speed=1)] == ["e\u0301", "e\u0301"]


def test_the_demo_modules_import_no_ui() -> None:
    """play, presenter and recording are core: the front ends import them, not the reverse."""
    import subprocess
    import sys

    code = ("import sys, repl.play, repl.presenter, repl.recording; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'prompt_toolkit'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------- recording a run step (real pool)


async def test_record_a_real_cell_runs_and_stops_on_failure(engine) -> None:
    p = Player(Script((Step("const n = 6 * 7"), Step("n.toFixed(1)"), Step("undefinedThing.x"), Step("n"))))
    assert p.record(await engine.run(p.next().code)) is None
    assert p.status(0) is StepStatus.RAN
    p.next()
    p.edit("n.toFixed(2)")  # the presenter changes the step in the editor
    cell = await engine.run(p.current.code)
    assert p.record(cell) is None and p.step(1).code == "n.toFixed(2)"
    cell = await engine.run(p.next().code)
    msg = p.record(cell)
    assert msg == (f"play stopped: step 3 of 4 failed at line 1: In [{cell.n}]: "
                   "ReferenceError: undefinedThing is not defined")
    assert p.state is PlayState.FAILED
    p.resume()
    assert p.record(await engine.run("globalThis.undefinedThing = {x: 1}; undefinedThing.x")) is None
    assert p.next().code == "n"


async def test_describe_failure_of_timeouts_and_service_errors(engine) -> None:
    from repl.api.models import Execution, ExecutionStatus
    from repl.play import describe_failure
    from repl.transcript import Cell

    assert describe_failure(Cell(3, "x", error="the pool is full (429)\nretry later")) == \
        "In [3]: error: the pool is full (429)"
    assert describe_failure(Cell(4, "x", abandoned=True)) == "In [4]: abandoned"
    timed_out = Execution(ExecutionStatus.TIMED_OUT, stderr="Request timed out after 60 s.\n")
    assert describe_failure(Cell(5, "x", execution=timed_out)) == "In [5]: timed out: Request timed out after 60 s."
    assert describe_failure(Cell(6, "x", execution=Execution(ExecutionStatus.FAILED, stderr="E" * 500))) == \
        "In [6]: " + "E" * 199 + "…"
    cell = await engine.run("let a = ;")
    assert describe_failure(cell) == f"In [{cell.n}]: SyntaxError: Unexpected token ';'"
    cell = await engine.run('console.error("a warning first"); null.x')
    assert describe_failure(cell) == f"In [{cell.n}]: TypeError: Cannot read properties of null (reading 'x')"
