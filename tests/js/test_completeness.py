"""Enter runs a complete program and continues an incomplete one (Node REPL rules)."""

from __future__ import annotations

import pytest

from repl.js.completeness import (
    continuation_indent,
    forced_by_blank_lines,
    is_code_at,
    needs_more_input,
    scan,
)

CONTINUE = [
    # open brackets, braces, parens
    "foo(",
    "foo(1,",
    "[1, 2,",
    "let x = {",
    "x = {a: 1,\n",
    "if (x) {",
    "if (x) {\n  foo(",
    "class A {",
    "function f(a, b",
    "function f() {\n  return 1;",
    "for (let i = 0; i < 3; i++",
    "while (true",
    "{",
    "async function f() {\n  await x",
    "foo( // a comment after the paren",
    "foo({\n  a: [\n    1,",
    # strings, templates, comments, regexes
    '"line continued \\',
    "'it\\'s \\",
    "`abc",
    "`line one\nline two",
    "let x = `${",
    "`a ${b} c",
    "`outer ${ `inner",
    "`a ${ {x: 1",
    "/* a block comment",
    "x = 1 /* still open",
    "x = {} /",  # a lone slash at the end: a division to come, not a regex
    # trailing operators and statement heads
    "1 +",
    "x = 1 +\n",
    "x =",
    "a = b / c /",
    "const f = () =>",
    "a.",
    "x ?",
    "x ? y :",
    "a &&",
    "if (x)",
    "if (x > ",
    "else_ = 1; if (a) b; else",
    "switch (x)",
    "do {",
    "class A extends",
    "let [a",
    "new",
    "typeof",
    "return_ = x ||",
    "function f",
    "function",
    "a?.",
    "x = a ? b",
    "(a, b) =>",
    "obj = {\n  method() {",
    "import(",
    "for (const k of",
    "x = a\n  .filter(Boolean)\n  .",
    "try {\n} catch (e)",
    "while (x)\n",
    "let {a, b} =",
    "label:",
]

RUN = [
    "",
    "   ",
    "1 + 1",
    "x = 1",
    "// just a comment",
    "/* closed */ 1",
    "let s = 'a' + \"b\"",
    "`a ${b} c`",
    "`a ${ {x: 1} }`",
    "`multi\nline`",
    "function f() {\n  return 1;\n}",
    "class A {}\nnew A()",
    "x = y / 2",
    "x = y / 2 / z",
    "a = /ab/g.test(s)",
    "f(/[)]/)",
    "await foo()",
    "const r = await fetch(u)",
    "console.log('hi')",
    "if (x) { y() } else { z() }",
    "label: for (;;) break label",
    "'\\u00e9t\\u00e9'",
    "x++\n/2/1",
    "[1, 2, 3].map(x => x * 2)",
    '"a\\\nb"',  # line continuation inside a string is fine
    "foo()\n\n",  # one trailing blank line on a complete program
    "new Promise((res) => {\n  setTimeout(res, 10)\n})",
    "async",
    "x = a?.b ?? c",
    "class A { #p = 1; get p() { return this.#p } }",
    "`${ `${ 'deep' }` }`",
    "/* multi\nline */ x",
    "const n = 1_000.5e3 / 2",
]

SYNTAX_ERROR_SENT = [
    "x = 1)",
    "}",
    "foo(]",
    "x = 1 2",
    "x = = 1; foo(",  # error before the open paren: no continuation fixes it
    "let 1x = 2",
    '"a\nb"',  # a string broken by a newline
    "a = /ab\nc/",  # a regex broken by a newline
    # a quoted string or regex open at the end: a newline cannot continue it
    '"abc',
    "'it\\'s",
    "f('abc",
    "`${'abc",
    "a = /ab",
    "a = /[/",
    "a = /ab\\",
    "if (x) {\n  y = ;\n",
    "foo(1 2",
]

DOT_COMMANDS = ['.upload "my file', ".load f(x.js", ".help", ".frob", "  .save {"]


@pytest.mark.parametrize("source", CONTINUE)
def test_incomplete_input_continues(source: str) -> None:
    assert needs_more_input(source) is True


@pytest.mark.parametrize("source", RUN)
def test_complete_input_runs(source: str) -> None:
    assert needs_more_input(source) is False


@pytest.mark.parametrize("source", SYNTAX_ERROR_SENT)
def test_genuine_syntax_error_is_sent(source: str) -> None:
    assert needs_more_input(source) is False


@pytest.mark.parametrize("source", DOT_COMMANDS)
def test_dot_commands_never_continue(source: str) -> None:
    assert needs_more_input(source) is False


def test_javascript_starting_with_a_dot_still_continues() -> None:
    assert needs_more_input(".5 + (") is True


@pytest.mark.parametrize(
    "source, forced",
    [
        ("foo(\n  \n  ", True),
        ("foo(\n\n\n", True),
        ("`abc\n\n", True),
        ("foo(\n\n", True),  # the text as the second Enter on an empty line sees it
        ("foo(\n", False),  # one blank line: still continuing
        ("foo(\n  ", False),
        ("\n\n", False),  # nothing typed
        ("foo(", False),
    ],
)
def test_two_blank_lines_force_a_run(source: str, forced: bool) -> None:
    assert forced_by_blank_lines(source) is forced
    if forced:
        assert needs_more_input(source) is False


def test_one_blank_line_keeps_an_incomplete_block_open() -> None:
    assert needs_more_input("foo(\n") is True
    assert needs_more_input("foo(\n  ") is True


@pytest.mark.parametrize(
    "source, indent",
    [
        ("foo(", "  "),
        ("foo({", "  "),  # brackets opened on one line indent once
        ("foo({\n  a: [", "    "),
        ("if (x) {\n  foo(", "    "),
        ("if (x) {\n  foo(1)\n", "  "),
        ("x = 1 +", "  "),
        ("const f = () =>", "  "),
        ("[1,", "  "),
        ("`abc", ""),  # template content is literal
        ("f(`abc", ""),
        ('"abc', ""),
        ("1", ""),
        ("if (x) {\n  y = `${", "    "),
    ],
)
def test_continuation_indent(source: str, indent: str) -> None:
    assert continuation_indent(source) == indent


def test_scan_reports_what_is_open() -> None:
    sc = scan("foo([`a ${ b")
    assert sc.stack == ["(", "[", "`", "${"]
    assert not sc.error
    assert scan("x = 1)").error
    assert scan("/* x").end == "block_comment"
    assert scan("a = 'x").end == "string"
    assert scan("f(a / b").stack == ["("]  # division, not a regex


# The one lexer, shared by completeness and completion: where does the end of
# the input stand? "code" or inside a string/template/comment/regex.
LEXER_ENDS = {
    # regex literal vs division
    "regex at the start": ("/ab", "regex"),
    "regex after =": ("x = /ab", "regex"),
    "regex after (": ("f(/ab", "regex"),
    "regex after ,": ("f(a, /ab", "regex"),
    "regex after return": ("return /ab", "regex"),
    "regex after typeof": ("typeof /ab", "regex"),
    "regex after }": ("if (a) {} /ab", "regex"),
    "regex after &&": ("a && /ab", "regex"),
    "regex after =>": ("x => /ab", "regex"),
    "regex with a class holding /": ("x = /[/]ab", "regex"),
    "closed regex with an escaped /": ("x = /a\\/b/g; y", "code"),
    "division after )": ("f(x) /ab", "code"),
    "division after ]": ("a[0] /ab", "code"),
    "division after a name": ("a /ab", "code"),
    "division after a number": ("10 /ab", "code"),
    "division after a decimal": ("x = .5 /ab", "code"),
    "division after a string": ("'a' /ab", "code"),
    "division after ++": ("i++ /ab", "code"),
    "division after a property named return": ("a.return /ab", "code"),
    "division after a closed regex": ("/a/ /ab", "code"),
    "division after a template": ("`a` /ab", "code"),
    # template literals and ${} nesting
    "template text": ("`abc", "template"),
    "template substitution": ("`a ${b", "code"),
    "template text after a substitution": ("`a ${b} c", "template"),
    "template in a substitution": ("`a ${`b ${c", "code"),
    "inner template text": ("`a ${`b", "template"),
    "braces in a substitution": ("`a ${ {x: 1}.x } b", "template"),
    "closed nested template": ("`a ${`b`} c` + d", "code"),
    "escaped backtick": ("`a \\` b", "template"),
    "escaped ${": ("`a \\${ b", "template"),
    "dollar without a brace": ("`a $b", "template"),
    # comments
    "line comment": ("a // b", "line_comment"),
    "after a line comment": ("a // b\nc", "code"),
    "block comment": ("a /* b", "block_comment"),
    "after a block comment": ("a /* b */ c", "code"),
    "block comment over lines": ("/* a\n b", "block_comment"),
    "slashes in a string are not a comment": ("'//' + a", "code"),
    # strings with escapes
    "string": ("'abc", "string"),
    "escaped quote": ("'it\\'s", "string"),
    "escaped backslash closes": ("'a\\\\' + b", "code"),
    "other quote inside": ('"it\'s', "string"),
    "closed string": ('"a" + b', "code"),
    "string cut by a newline, code after it": ("'abc\nd", "code"),
}


@pytest.mark.parametrize("case", LEXER_ENDS.values(), ids=LEXER_ENDS.keys())
def test_the_lexer_knows_where_the_input_ends(case: tuple[str, str]) -> None:
    source, end = case
    assert scan(source).end == end
    assert is_code_at(source, len(source)) == (end == "code")


def test_is_code_at_a_cursor_in_the_middle() -> None:
    source = "x = 'str' + /re/ + `t ${a} u` // c"
    assert is_code_at(source, 0)
    assert not is_code_at(source, 6)  # in 'str'
    assert is_code_at(source, 10)
    assert not is_code_at(source, 14)  # in /re/
    assert not is_code_at(source, 21)  # in the template text
    assert is_code_at(source, 24)  # in ${a}
    assert not is_code_at(source, len(source))  # in the comment


def test_the_lexer_reads_on_after_an_error() -> None:
    sc = scan("x = 1)\n'unterminated\nfoo(`a")
    assert sc.error
    assert sc.end == "template" and sc.stack == ["(", "`"]
    assert not needs_more_input("x = 1)\nfoo(")  # an error is sent, never continued
    assert continuation_indent("x = 1)\nfoo(") == ""


def test_parser_is_shared_per_thread_and_language_once() -> None:
    import threading

    from repl.js import parser

    assert parser.parser() is parser.parser()
    assert parser.language() is parser.language()
    other: list[object] = []
    results: list[bool] = []

    def work() -> None:
        other.append(parser.parser())
        results.extend(needs_more_input(s) for s in ("foo(", "1 + 1"))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert other[0] is not parser.parser()
    assert results == [True, False]
    assert parser.has_error("x = 1)") and not parser.has_error("x = 1")
