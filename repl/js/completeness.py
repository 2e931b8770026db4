"""Is the input a complete JavaScript program, or should Enter continue it?

Used on every Enter by both front ends (so it is local and fast: well under a
millisecond for typical input).

``needs_more_input(source) -> bool``, like the Node REPL:

- True (continue) when the input ends inside something unfinished: a
  template literal, a block comment, a string whose line ends with ``\\``, open
  brackets/braces/parens (``foo(``, ``if (x) {``), or a trailing operator or
  statement head (``1 +``, ``x =>``, ``if (x)``, ``a.``).
- False (run) for a complete program, for empty input, and for a genuine
  syntax error that no continuation could fix (``x = 1)``, ``let let = 1; f(``,
  a string broken by a newline), and for a quoted string or regex still open
  at the end (``"abc``, ``/ab``: the newline would break it, as the Node REPL
  knows): it is sent and the server reports it.
- False for a one-line dot-command (``.upload "my file``), valid or not: the
  front end hands it to the engine, which reports usage errors.
- False when the input ends with two blank lines (see
  :func:`forced_by_blank_lines`): the user's way to force a run; folded into
  ``needs_more_input`` so front ends need a single call, and exposed for front
  ends that want to strip those lines before sending.

How: a small hand lexer, :func:`scan` (strings, templates with ``${}``
nesting, comments, regex-vs-division, bracket stack), finds what is open at the
end; tree-sitter
(:mod:`repl.js.parser`) decides: an input that parses cleanly is complete;
otherwise the input is incomplete iff appending closers for what is open (plus
a few fillers such as ``0`` or ``{}``) yields a clean parse.

``continuation_indent(source) -> str``: the indentation for the next line, two
spaces per nesting level (brackets opened on the same line count once), one
extra level after a trailing operator, none inside template/string content.

``is_code_at(source, cursor) -> bool``: is ``cursor`` in code, not inside a
string, template text, comment or regex literal? The completion core
(:mod:`repl.js.completion`) asks this, so completeness and completion read
JavaScript with the one lexer.

The lexer tells a regex from a division by the token before the ``/``: after
an identifier, a number, a literal, ``)``, ``]``, ``++``/``--`` or a property
name (``a.return``) it divides; after an operator, an opening bracket, ``}``,
the start of the input or a keyword that takes an expression (``return``,
``typeof``, ``case``...) it starts a regex. (``)`` ending an ``if (...)`` head
before a regex, ``if (x) /re/.test(s)``, is read as a division, like most
editors do.) After a genuine error (a closer with no opener, a string or regex
cut by a newline) it records ``error`` and reads on, so the state at the end
is still meaningful.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from repl.dotcommands import is_dot_command
from repl.js import parser as _parser

if TYPE_CHECKING:
    from collections.abc import Iterator

    import tree_sitter

INDENT = "  "

# After these keywords an expression (so a regex) may follow; after any other
# identifier a `/` is division.
_REGEX_KEYWORDS = frozenset(
    "return typeof instanceof in of new delete void throw case do else yield await".split()
)
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_CLOSE_FOR = {"(": ")", "[": "]", "{": "}", "${": "}", "`": "`"}

# Fillers for what is unfinished at the innermost position (before the closers)
# and after the closers (statement heads: `if (x`, `function f(a`).
# Tried as (inner, outer) pairs, most likely first; see _probes().
_INNER_FILLERS = ("", "0", "x", ";", "{}", ":0", "0:0", "(){}", "x(){}")
_OUTER_FILLERS = (";", "{}", "=0")
_DO = re.compile(r"\bdo\b")
_TRY = re.compile(r"\btry\b")


@dataclass(slots=True)
class Scan:
    """What the lexer found at the end of the input."""

    error: bool = False  # a genuine error no continuation can fix
    stack: list[str] = field(default_factory=list)  # open "(", "[", "{", "${", "`"
    lines: list[int] = field(default_factory=list)  # line of each opener
    end: str = "code"  # "code" | "string" | "template" | "block_comment" | "regex" | "line_comment"
    end_closer: str = ""  # text that closes the unterminated token at the end
    end_body: str = ""  # an unterminated regex's text after its opening `/`
    last: str = ""  # last significant token in code ("" if none)
    last_kind: str = ""  # "value" | "punct" | "keyword" | "open"


_CODE_PATTERN = (
    r"""
    (?P<ws>[ \t\r\f\v\u00a0\ufeff\u2028\u2029]+)
    |(?P<nl>\n)
    |(?P<lc>//)
    |(?P<bc>/\*)
    |(?P<slash>/)
    |(?P<word>[\w$#\\\u0080-\U0010ffff]+)
    |(?P<dotnum>\.\d[\w$]*)
    |(?P<quote>["'])
    |(?P<tick>`)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<op>[-+*%=&|^<>!?.:~]{1,4})
    |(?P<other>[\s\S])
    """
)
# Code without strings, comments, regexes, brackets or templates: skipped in one step.
_PLAIN = re.compile(r"[^\"'`/()\[\]{}]+")
_TRAILING_OP = re.compile(r"[-+*%=&|^<>!?.:~]{1,4}$")
# bodies, up to (not including) the character that ends them
_STRING_BODY = {
    '"': re.compile(r'[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*'),
    "'": re.compile(r"[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*"),
}
_TEMPLATE_BODY = re.compile(r"[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{))[^`\\$]*)*")
_REGEX_BODY = re.compile(r"(?:[^/\\\[\n]|\\[^\n]|\[(?:[^\]\\\n]|\\[^\n])*\])*")
_REGEX_CLASS_TAIL = re.compile(r"\[(?:[^\]\\\n]|\\[^\n])*\\?$")
_FLAGS = re.compile(r"[\w$]*")


@functools.cache
def word_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(the lexer's token pattern, a word at the end), compiled on first use:
    their ``\\u0080-\\U0010ffff`` classes take ~6 ms to compile, which the
    REPL's start-up should not pay (the TUI compiles them once connected)."""
    return re.compile(_CODE_PATTERN, re.VERBOSE), re.compile(r"[\w$#\\\u0080-\U0010ffff]+$")


def _after_word(s: Scan, word: str, after_dot: bool) -> bool:
    """Record ``word`` as the last token; True when a ``/`` after it starts a regex."""
    if word in _REGEX_KEYWORDS and not after_dot:  # `a.return / 2` divides
        s.last, s.last_kind = word, "keyword"
        return True
    s.last, s.last_kind = word, "value"
    return False


def _match(pattern: re.Pattern[str], source: str, i: int) -> re.Match[str]:
    m = pattern.match(source, i)
    assert m is not None  # every pattern passed here can match the empty string or any character
    return m


def scan(source: str) -> Scan:
    """Lex ``source`` just enough to know what is open at its end."""
    s = Scan()
    stack, lines = s.stack, s.lines
    i, n, line = 0, len(source), 0
    regex_ok = True  # would a `/` here start a regex?
    code, trailing_word = word_patterns()
    code_match = code.match
    plain_match = _PLAIN.match
    while i < n:
        if stack and stack[-1] == "`":  # template literal content
            j = _match(_TEMPLATE_BODY, source, i).end()
            line += source.count("\n", i, j)
            if j >= n:
                s.end = "template"
                return s
            ch = source[j]
            if ch == "`":
                stack.pop()
                lines.pop()
                i = j + 1
                s.last, s.last_kind, regex_ok = "`", "value", False
            elif ch == "$":  # `${`
                stack.append("${")
                lines.append(line)
                i = j + 2
                s.last, s.last_kind, regex_ok = "${", "open", True
            else:  # a backslash at the very end escapes the newline to come
                s.end, s.end_closer = "template", "\n"
                return s
            continue
        plain = plain_match(source, i)
        if plain is not None:  # a run of code with nothing that opens or closes
            j = plain.end()
            chunk = plain.group()
            line += chunk.count("\n")
            i = j
            body = chunk.rstrip()
            if body:
                w = trailing_word.search(body)
                if w is not None:
                    before = body[: w.start()].rstrip()
                    after_dot = before.endswith(".") and not before.endswith("...")
                    regex_ok = _after_word(s, w.group(), after_dot)
                elif body.endswith(("++", "--")):
                    s.last, s.last_kind, regex_ok = body[-2:], "value", False
                else:
                    trailing = _TRAILING_OP.search(body)
                    s.last, s.last_kind, regex_ok = (trailing.group() if trailing else body[-1]), "punct", True
            continue
        m = code_match(source, i)
        assert m is not None  # `other` matches any character
        kind = m.lastgroup
        j = m.end()
        if kind == "ws":
            i = j
        elif kind == "nl":
            line += 1
            i = j
        elif kind == "word":
            i = j
            regex_ok = _after_word(s, m.group(), s.last in (".", "?."))
        elif kind == "op" or kind == "other":
            op = m.group()
            i = j
            if op in ("++", "--"):
                s.last, s.last_kind, regex_ok = op, "value", False
            else:
                s.last, s.last_kind, regex_ok = op, "punct", True
        elif kind == "open":
            stack.append(m.group())
            lines.append(line)
            i = j
            s.last, s.last_kind, regex_ok = m.group(), "open", True
        elif kind == "close":
            ch = m.group()
            i = j
            if not stack:
                s.error = True  # a closer with no opener: read on
                s.last, s.last_kind, regex_ok = ch, "value", False
                continue
            top = stack.pop()
            lines.pop()
            if ch == "}" and top == "${":
                continue  # back to template content
            if top != _CLOSERS[ch]:
                s.error = True  # `(]`: taken as closing the innermost opener
            # after `}` a statement (so a regex) may follow; after `)`/`]` a `/` divides
            s.last, s.last_kind, regex_ok = ch, "value", ch == "}"
        elif kind == "quote":
            q = m.group()
            k = _match(_STRING_BODY[q], source, j).end()
            if k >= n:
                s.end, s.end_closer = "string", q
                return s
            c = source[k]
            if c == "\\":  # a backslash at the very end escapes the newline to come
                s.end, s.end_closer = "string", "\n" + q
                return s
            line += source.count("\n", j, k)  # escaped newlines
            if c == "\n":
                s.error = True  # unterminated string: it ends at the newline
                i = k
            else:
                i = k + 1
            s.last, s.last_kind, regex_ok = q, "value", False
        elif kind == "tick":
            stack.append("`")
            lines.append(line)
            i = j
        elif kind == "lc":
            k = source.find("\n", i)
            if k < 0:
                s.end = "line_comment"
                return s
            i = k
        elif kind == "bc":
            k = source.find("*/", j)
            if k < 0:
                s.end, s.end_closer = "block_comment", "*/"
                return s
            line += source.count("\n", i, k)
            i = k + 2
        elif kind == "slash":
            if not regex_ok:
                i = j
                s.last, s.last_kind, regex_ok = "/", "punct", True
                continue
            k = _match(_REGEX_BODY, source, j).end()
            if k >= n:
                s.end, s.end_closer, s.end_body = "regex", "/", source[j:]
                return s
            c = source[k]
            if c == "/":
                i = _match(_FLAGS, source, k + 1).end()
                s.last, s.last_kind, regex_ok = "/re/", "value", False
                continue
            tail = source[k:]
            if "\n" in tail:
                s.error = True  # a regex cannot span lines: it ends at the newline
                i = source.index("\n", k)
                s.last, s.last_kind, regex_ok = "/re/", "value", False
                continue
            # unterminated at the very end: inside a class and/or after a backslash
            closer = "x" if tail.endswith("\\") and (len(tail) - len(tail.rstrip("\\"))) % 2 else ""
            if _REGEX_CLASS_TAIL.match(tail) or c == "[":
                closer += "]"
            s.end, s.end_closer, s.end_body = "regex", closer + "/", source[j:]
            return s
        else:  # dotnum
            i = j
            s.last, s.last_kind, regex_ok = "0", "value", False
    return s


def is_code_at(source: str, cursor: int) -> bool:
    """True when ``cursor`` is in code: not inside a string, a template
    literal's text, a comment or a regex literal (``${...}`` in a template is
    code). The one lexer, :func:`scan`, decides."""
    return scan(source[: max(0, cursor)]).end == "code"


def forced_by_blank_lines(source: str) -> bool:
    """True when the input ends with two blank lines after some code (the user
    pressed Enter on two empty lines): run it whatever its state."""
    lines = source.split("\n")
    if len(lines) < 3 or lines[-1].strip() or lines[-2].strip():
        return False
    return any(line.strip() for line in lines[:-2])


def _closers(scan_: Scan) -> str:
    return "".join(_CLOSE_FOR[o] for o in reversed(scan_.stack))


def needs_more_input(source: str) -> bool:
    """True when Enter should insert a newline rather than run (see module doc)."""
    if not source.strip():
        return False
    if forced_by_blank_lines(source):
        return False
    stripped = source.strip()
    if stripped.startswith(".") and "\n" not in stripped and is_dot_command(stripped):
        return False  # `.upload "my file` is a command (with a usage error), not JavaScript
    data = source.encode("utf-8")
    p = _parser.parser()
    tree = p.parse(data)
    if not tree.root_node.has_error:
        return False  # a clean parse is a complete program
    sc = scan(source)
    if sc.error:
        return False
    if (sc.end == "regex" and sc.end_body.strip()) or (sc.end == "string" and not sc.end_closer.startswith("\n")):
        # A quoted string or a regex open at the end: the newline Enter would add
        # breaks it, so nothing typed on the next line can fix it (the Node REPL
        # says "Invalid or unexpected token" at once). Only `\` at the end of a
        # string continues it; a lone `/` at the end is more likely a division.
        return False
    head = "\n" if sc.end == "line_comment" else sc.end_closer
    closers = _closers(sc)
    in_template = bool(sc.stack) and sc.stack[-1] == "`" and sc.end == "template"
    for inner, outer in _probes(source):
        if in_template and inner:
            continue  # inside template content a filler is just text
        if inner:
            inner = " " + inner  # `extends` + `0` must not become `extends0`
        if _probe(p, tree, data, (head + inner + closers + outer).encode("utf-8")):
            return True
    return False


def _end_point(data: bytes) -> tuple[int, int]:
    return data.count(b"\n"), len(data) - (data.rfind(b"\n") + 1)


def _probe(p: tree_sitter.Parser, tree: tree_sitter.Tree, data: bytes, suffix: bytes) -> bool:
    """Does ``data + suffix`` parse cleanly? Incremental: reuses ``tree``'s nodes."""
    candidate = data + suffix
    edited = tree.copy()
    start = _end_point(data)
    edited.edit(
        start_byte=len(data),
        old_end_byte=len(data),
        new_end_byte=len(candidate),
        start_point=start,
        old_end_point=start,
        new_end_point=_end_point(candidate),
    )
    return not p.parse(candidate, edited).root_node.has_error


def _probes(source: str) -> Iterator[tuple[str, str]]:
    yield "", ""
    yield "0", ""
    for outer in _OUTER_FILLERS:
        yield "", outer
        yield "0", outer
    for inner in _INNER_FILLERS[2:]:
        yield inner, ""
    if _DO.search(source):
        yield "", "while(0)"
    if _TRY.search(source):
        yield "", "finally{}"


def continuation_indent(source: str) -> str:
    """Indentation for the next line of an incomplete input."""
    sc = scan(source)
    if sc.error:
        return ""
    if sc.end in ("string", "template", "regex") or (sc.stack and sc.stack[-1] == "`"):
        return ""  # the next line is literal content
    depth = len(set(line for opener, line in zip(sc.stack, sc.lines, strict=True) if opener != "`"))
    if (
        sc.end == "code"
        and sc.last_kind == "punct"
        and sc.last not in (",", ";", ":")
        and source.rstrip()[-1:] not in (",", ";")
    ):
        depth += 1  # `x = 1 +` / `const f = () =>`
    return INDENT * depth
