"""The input rules both front ends follow (repl.input_rules)."""

from __future__ import annotations

import pytest

from repl.input_rules import closer_dedent, enter_action, newline_indent, split_typeahead

BLOCK = "function f(x) {\n  return x * 2\n}"


@pytest.mark.parametrize(
    ("text", "cursor", "editor_mode", "expected"),
    [
        ("", None, False, "ignore"),
        ("   \n ", None, False, "ignore"),
        ("1 + 1", None, False, "run"),
        ("function f() {", None, False, "newline"),
        ("`a", None, False, "newline"),
        ("/* x", None, False, "newline"),
        ("1 +", None, False, "newline"),
        (BLOCK, None, False, "run"),
        # IPython: inside a complete multi-line block, Enter inserts a line
        (BLOCK, BLOCK.index("return"), False, "newline"),
        (BLOCK, len("function f(x) {"), False, "newline"),
        # trailing spaces after the cursor still count as the end
        (BLOCK + "  ", len(BLOCK), False, "run"),
        # one line, cursor in the middle of a complete input: it runs
        ("1 + 1", 2, False, "run"),
        ("foo(", 2, False, "newline"),
        # two blank lines force a run
        ("if (x) {\n\n\n", None, False, "run"),
        # dot-commands run, even in editor mode (so .editor can leave it)
        (".files", None, False, "run"),
        (".editor", None, True, "run"),
        ('.upload "my file', None, False, "run"),
        ("1 + 1", None, True, "newline"),
        # .break drops the pending block
        ("function f() {\n.break", None, False, "break"),
        (".break", None, False, "break"),
    ],
)
def test_enter_action(text: str, cursor: int | None, editor_mode: bool, expected: str) -> None:
    assert enter_action(text, cursor, editor_mode=editor_mode) == expected


def test_newline_indent_follows_nesting() -> None:
    assert newline_indent("function f() {") == "  "
    assert newline_indent("if (a) {\n  if (b) {") == "    "
    assert newline_indent("") == ""
    assert newline_indent("const s = `a") == ""  # template content: literal


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        ("function f() {\n  ", 2),
        ("function f() {\n    ", 2),
        ("function f() {\n ", 1),
        ("function f() {\n  x", 0),  # text before the cursor on the line
        ("", 0),
        # inside a template literal the closer is text: no dedent (both front ends)
        ("const s = `\n  ", 0),
        ("const s = `${\n  ", 2),  # inside ${ }: code again
        ("/* comment\n  ", 0),
        ("const s = 'a\\\n  ", 0),
    ],
)
def test_closer_dedent(before: str, expected: int) -> None:
    assert closer_dedent(before) == expected


def test_typeahead_splits_complete_inputs() -> None:
    assert split_typeahead("1+1\n2+2\n") == (["1+1", "2+2"], "")
    assert split_typeahead("1+1\n2+") == (["1+1"], "2+")


def test_typeahead_keeps_a_block_together() -> None:
    typed = "function f(x) {\n  return x\n}\nf(11)\n"
    assert split_typeahead(typed) == (["function f(x) {\n  return x\n}", "f(11)"], "")


def test_typeahead_blank_lines_and_break() -> None:
    assert split_typeahead("\n\n1\n") == (["1"], "")
    assert split_typeahead("if (x) {\n.break\n3\n") == (["3"], "")


def test_typeahead_carriage_returns() -> None:
    assert split_typeahead("a = 1\r\nb = 2\rc") == (["a = 1", "b = 2"], "c")
