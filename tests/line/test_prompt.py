"""The line-mode REPL driven through a real PromptSession (pipe input) against the local pool."""

from __future__ import annotations

import json
import re
import time

from repl.line.prompt import EXIT_HINT
from repl.line.toolbar import toolbar_text

from .conftest import engine_for, run_repl

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def sgr_before(raw: str, text: str) -> str:
    """The parameters of the last SGR sequence written before ``text``."""
    i = raw.index(text)
    codes = SGR.findall(raw[:i])
    return codes[-1] if codes else ""


async def test_submit_prints_stdout_stderr_value_in_distinct_colours_with_timing(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.wait_for(f"session {engine.identifier}")  # the bottom toolbar
            # the pool's own cooldown period (60 s in the test pool), before any run (the
            # renderer repaints only what changed, so read the toolbar's text itself)
            await h.wait_for(lambda: "cooldown 60 s (starts at the first run)" in toolbar_text(engine))
            m = h.mark()
            h.type('console.log("out-" + 1); console.error("err-" + 2); 6 * 7\r')
            await h.wait_for("succeeded", after=m)
            screen = h.since(m)
            assert "out-1\n" in screen and "err-2\n" in screen
            assert re.search(r"^42$", screen, re.M)
            assert re.search(r"✓ succeeded · server \d+ ms · round trip \d+ ms", screen)
            raw = h.output.raw[m:]
            colours = {sgr_before(raw, "out-1"), sgr_before(raw, "err-2"), sgr_before(raw, "42\r\n")}
            assert len(colours) == 3, colours  # three distinct styles
            assert "31" in sgr_before(raw, "err-2").split(";")  # stderr in red
            cell = engine.transcript.cells[-1]
            assert cell.ok and cell.execution.value_text == "42"
            # the toolbar follows: cooldown counting from the run and the last round trip
            await h.wait_for(lambda: re.search(r"cooldown \d+ s left · round trip \d+ ms", h.since(m)) is not None,
                             after=m)
            assert await h.exit() == 0


async def test_enter_continues_incomplete_block_with_dots(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type("function twice(a) {\r")
            await h.wait_for(lambda: "\n  " in h.repl.session.default_buffer.text)
            assert len(engine.transcript) == 0  # nothing was sent
            h.type("return a * 2\r")
            await h.wait_for(lambda: h.repl.session.default_buffer.text.count("\n") == 2)
            assert len(engine.transcript) == 0
            h.type("}\r")
            await h.wait_for(lambda: len(engine.transcript) == 1 and not engine.transcript.cells[0].running)
            assert engine.transcript.cells[0].code == "function twice(a) {\n  return a * 2\n}"  # `}` dedented
            assert "... " in h.output.text  # the continuation prompt was shown
            echoed = h.output.raw[m:]
            assert sgr_before(echoed, "function") != sgr_before(echoed, "twice")  # highlighted input
            await h.idle_prompt()
            m = h.mark()
            h.type("twice(21)\r")
            await h.wait_for("succeeded", after=m)
            assert re.search(r"^42$", h.since(m), re.M)
            assert await h.exit() == 0


async def test_alt_enter_and_escape_enter_force_a_run(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type("[1,\r")  # incomplete: Enter continues
            await h.wait_for(lambda: "\n" in h.repl.session.default_buffer.text)
            h.type("\x1b\r")  # Escape then Enter (= Alt+Enter): sent as it is
            await h.wait_for("failed", after=m)
            cell = engine.transcript.cells[-1]
            assert cell.code == "[1," and cell.execution is not None  # the indent line is not sent
            assert cell.status == "failed"  # the server reported the syntax error
            assert "SyntaxError" in h.since(m)
            await h.idle_prompt()
            m = h.mark()
            h.type("1 +\x1b\r")  # Alt+Enter on a single incomplete line
            await h.wait_for("failed", after=m)
            assert engine.transcript.cells[-1].code == "1 +"
            assert await h.exit() == 0


async def test_dot_commands_help_export_new_unknown_and_exit(pool_settings, data_dir, tmp_path):
    async with engine_for(pool_settings, data_dir / "history.jsonl", cwd=tmp_path) as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type(".help\r")
            await h.wait_for(".export FILE.md", after=m)
            await h.idle_prompt()
            m = h.mark()
            h.type('"exported " + 40 + 2\r')
            await h.wait_for("succeeded", after=m)
            await h.idle_prompt()
            h.type(".export out.md\r")
            await h.wait_for(lambda: (tmp_path / "out.md").exists())
            md = (tmp_path / "out.md").read_text()
            assert "exported 402" in md and "round trip" in md
            await h.idle_prompt()
            old = engine.identifier
            m = h.mark()
            h.type(".new\r")
            await h.wait_for("New session", after=m)
            assert engine.identifier != old
            await h.wait_for(f"session {engine.identifier}", after=m)  # toolbar refreshed
            await h.idle_prompt()
            m = h.mark()
            h.type(".frob\r")
            await h.wait_for("Unknown command .frob", after=m)
            assert len(engine.transcript) == 1  # neither command was sent as code
            await h.idle_prompt()
            (tmp_path / "snippet.js").write_text("const loaded = 1;\nloaded + 1\n")
            h.type(".load snippet.js\r")
            buf = h.repl.session.default_buffer
            await h.wait_for(lambda: buf.text == "const loaded = 1;\nloaded + 1")  # into the editor
            assert len(engine.transcript) == 1  # not run yet
            m = h.mark()
            h.type("\x1b\r")
            await h.wait_for("succeeded", after=m)
            assert re.search(r"^2$", h.since(m), re.M)
            await h.idle_prompt()
            h.type(".exit\r")
            assert await h.task == 0


async def test_history_persists_across_two_sessions_and_ctrl_r_finds_it(pool_settings, data_dir):
    path = data_dir / "history.jsonl"
    async with engine_for(pool_settings, path) as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type("[\r'alpha',\r'beta']\r")  # a multi-line block
            await h.wait_for("succeeded", after=m)
            await h.idle_prompt()
            m = h.mark()
            h.type("'gamma'\r")
            await h.wait_for("succeeded", after=m)
            assert await h.exit() == 0
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["code"] for e in entries] == ["[\n  'alpha',\n  'beta']", "'gamma'"]
    assert all(e["status"] == "succeeded" and e["session"] for e in entries)

    async with engine_for(pool_settings, path) as engine2:  # a second session, same file
        async with run_repl(engine2) as h:
            await h.idle_prompt()
            buf = h.repl.session.default_buffer
            h.type("\x1b[A")  # Up: the newest entry
            await h.wait_for(lambda: buf.text == "'gamma'")
            h.type("\x1b[A")  # Up again: the multi-line block, whole
            await h.wait_for(lambda: buf.text == "[\n  'alpha',\n  'beta']")
            h.type("\x03")  # Ctrl+C: drop it
            await h.idle_prompt()
            await h.wait_for(lambda: buf.text == "")
            m = h.mark()
            h.type("\x12alph")  # Ctrl+R, reverse search
            await h.wait_for("I-search backward: alph", after=m)
            h.type("\r")  # accept the match into the editor
            await h.wait_for(lambda: buf.text == "[\n  'alpha',\n  'beta']")
            assert len(engine2.transcript) == 0  # accepting the search did not run it
            m = h.mark()
            h.type("\x1b\r")  # run it
            await h.wait_for("succeeded", after=m)
            assert "'alpha', 'beta'" in h.since(m).replace("\n", "").replace("  ", " ")
            assert await h.exit() == 0
    assert len(path.read_text().splitlines()) == 3


async def test_ctrl_c_cancels_input_and_abandons_a_running_wait(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type("let unfinished = (")
            await h.wait_for(lambda: h.repl.session.default_buffer.text == "let unfinished = (")
            h.type("\x03")  # cancels the input: nothing is sent
            await h.idle_prompt()
            h.type("\x03")  # on an empty line: the exit hint
            await h.wait_for(EXIT_HINT, after=m)
            assert len(engine.transcript) == 0
            await h.idle_prompt()
            m = h.mark()
            h.type("await new Promise(r => setTimeout(r, 3000)); 'late'\r")
            await h.wait_for("Ctrl+C stops waiting", after=m)  # the indicator while it runs
            t0 = time.monotonic()
            h.type("\x03")
            await h.wait_for("may still be running remotely", after=m)
            assert time.monotonic() - t0 < 2.5  # the run itself takes 3 s
            cell = engine.transcript.cells[-1]
            assert cell.abandoned and cell.status == "abandoned"
            assert not re.search(r"^'late'$", h.since(m), re.M)  # no value: nobody waited for it
            await h.idle_prompt()  # the loop goes on
            assert await h.exit() == 0
    entry = json.loads((data_dir / "history.jsonl").read_text().splitlines()[-1])
    assert entry["status"] == "abandoned"


async def test_no_color_prints_output_without_escape_codes(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine, colour=False) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type('console.log("plain-out"); console.error("plain-err"); "plain-" + "value"\r')
            await h.wait_for("succeeded", after=m)
            raw = h.output.raw[m:]
            start = raw.index("plain-out\n")  # the printed stdout, not the echoed input
            end = raw.index("\n", raw.index("✓ succeeded"))
            block = raw[start:end]
            assert "\x1b" not in block
            assert "plain-err" in block and "plain-value" in block and "round trip" in block
            assert await h.exit() == 0
        colour_sgr = [c for c in SGR.findall(h.output.raw)
                      if any(p.startswith(("3", "4", "9", "10")) and p not in ("39", "49")
                             for p in c.split(";") if p)]
        assert colour_sgr == []  # not a single colour anywhere (prompt and toolbar included)


async def test_dumb_terminal_gets_plain_text_only(pool_settings, data_dir, monkeypatch):
    monkeypatch.setenv("TERM", "dumb")  # prompt-toolkit's dumb prompt: no cursor movement
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine, colour=False, notice="TERM=dumb") as h:
            await h.idle_prompt()
            h.type("[1,\r2]\r")
            await h.wait_for("succeeded")
            assert await h.exit() == 0
    raw = h.output.raw
    assert "\x1b" not in raw  # not a single escape code
    text = raw.replace("\r", "")
    assert text.count("line mode: TERM=dumb") == 1
    assert "js> [1,\n...   2]\n" in text  # the continuation prompt is echoed
    value = engine.transcript.cells[-1].execution.value_text
    assert re.sub(r"\s", "", value) == "[1,2]" and f"\n{value}\n" in text


async def test_editor_mode_enter_is_a_newline_and_ctrl_j_runs(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type(".editor\r")
            await h.wait_for("Editor mode on: Enter inserts a newline", after=m)
            await h.idle_prompt()
            buf = h.repl.session.default_buffer
            h.type("const a = 20\r")  # complete, but Enter only adds a line here
            await h.wait_for(lambda: buf.text == "const a = 20\n")
            h.type("a + 22")
            m = h.mark()
            h.type("\n")  # Ctrl+J
            await h.wait_for("succeeded", after=m)
            assert engine.transcript.cells[-1].code == "const a = 20\na + 22"
            assert re.search(r"^42$", h.since(m), re.M)
            await h.idle_prompt()
            m = h.mark()
            h.type(".editor\r")  # a one-line dot-command still runs in editor mode
            await h.wait_for("Editor mode off", after=m)
            await h.idle_prompt()
            m = h.mark()
            h.type("a\r")
            await h.wait_for("succeeded", after=m)
            assert await h.exit() == 0


async def test_keys_typed_during_a_run_go_into_the_next_prompt(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type("await new Promise(r => setTimeout(r, 1000)); 'slow'\r")
            await h.wait_for("Ctrl+C stops waiting", after=m)
            h.type("typed.ahead")
            await h.wait_for("succeeded", after=m)
            await h.idle_prompt()
            await h.wait_for(lambda: h.repl.session.default_buffer.text == "typed.ahead")
            assert len(engine.transcript) == 1  # kept, not run
            h.type("\x03")
            assert await h.exit() == 0


async def test_ctrl_x_ctrl_e_edits_the_block_in_editor_and_runs_it(pool_settings, data_dir, tmp_path, monkeypatch):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "%s\\n" "$(cat "$1") * 2" > "$1"\n')  # appends " * 2"
    editor.chmod(0o755)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(editor))
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            h.type("21")
            await h.wait_for(lambda: h.repl.session.default_buffer.text == "21")
            m = h.mark()
            h.type("\x18\x05")  # Ctrl+X Ctrl+E
            await h.wait_for("succeeded", after=m)
            assert engine.transcript.cells[-1].code.strip() == "21 * 2"
            assert re.search(r"^42$", h.since(m), re.M)
            assert await h.exit() == 0


async def test_two_blank_lines_force_a_run_and_are_not_sent(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            buf = h.repl.session.default_buffer
            m = h.mark()
            h.type("[1,\r")
            await h.wait_for(lambda: buf.text == "[1,\n  ")
            h.type("2\r")
            await h.wait_for(lambda: buf.text == "[1,\n  2\n  ")  # still open: a newline
            h.type("\r")
            await h.wait_for(lambda: buf.text == "[1,\n  2\n  \n  ")  # one blank line: still open
            assert len(engine.transcript) == 0
            h.type("\r")  # the second blank line forces the run
            await h.wait_for("failed", after=m)
            cell = engine.transcript.cells[-1]
            assert cell.code == cell.sent_code == "[1,\n  2"
            assert "evalmachine.<anonymous>:2" in cell.execution.stderr  # the error is on the code's last line
            await h.idle_prompt()
            h.type("\x1b[A")  # Up in the same session recalls the block as it was run
            await h.wait_for(lambda: buf.text == "[1,\n  2")
            h.type("\x03")
            assert await h.exit() == 0
    entries = [json.loads(line) for line in (data_dir / "history.jsonl").read_text().splitlines()]
    assert [e["code"] for e in entries] == ["[1,\n  2"]


async def test_toolbar_fits_an_80_column_terminal(pool_settings, data_dir):
    """Cooldown and round trip always show: the label goes, then the identifier is shortened."""
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine, columns=80) as h:
            await h.idle_prompt()
            m = h.mark()
            h.type("1\r")
            await h.wait_for("succeeded", after=m)
            short = re.escape(engine.identifier[:8]) + "…"
            pattern = rf"session {short} · cooldown \d+ s left · round trip \d+ ms *$"
            await h.wait_for(lambda: re.search(pattern, h.since(m), re.M) is not None, after=m)
            assert len(toolbar_text(engine, width=80)) <= 80
            banner = [line for line in h.output.text.split("\n") if line.startswith("acajs-repl ")]
            assert banner and len(banner[0]) <= 80 and ".help for commands" in h.output.text
            assert engine.identifier in toolbar_text(engine, width=200)  # whole when it fits
            assert engine.connection.label in toolbar_text(engine, width=200)
            assert await h.exit() == 0


async def test_a_closer_on_an_indent_only_line_dedents_but_not_inside_a_template(pool_settings, data_dir):
    async with engine_for(pool_settings, data_dir / "history.jsonl") as engine:
        async with run_repl(engine) as h:
            await h.idle_prompt()
            buf = h.repl.session.default_buffer
            h.type("const o = {\ra: [\r")
            await h.wait_for(lambda: buf.text == "const o = {\n  a: [\n    ")
            h.type("1\r]")
            await h.wait_for(lambda: buf.text == "const o = {\n  a: [\n    1\n  ]")
            h.type("\r}")
            await h.wait_for(lambda: buf.text.endswith("\n  ]\n}"))
            m = h.mark()
            h.type("\r")
            await h.wait_for("succeeded", after=m)
            await h.idle_prompt()
            h.type("`a\r  }")  # template content: typed as it is
            await h.wait_for(lambda: buf.text == "`a\n  }")
            h.type("\x03")
            assert await h.exit() == 0


async def test_a_history_file_that_cannot_be_written_is_said_once(pool_settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    async with engine_for(pool_settings, blocker / "history.jsonl") as engine:  # its parent is a file
        async with run_repl(engine) as h:
            for code in ("6 * 7", "'again'"):
                await h.idle_prompt()
                m = h.mark()
                h.type(code + "\r")
                await h.wait_for("succeeded", after=m)  # the result is still shown
            await h.idle_prompt()
            assert h.output.text.count("The history could not be saved to") == 1
            assert str(blocker / "history.jsonl") in h.output.text
            assert engine.transcript.cells[-1].execution.value_text == "'again'"
            assert await h.exit() == 0
