"""Is the input a complete JavaScript program, or should Enter continue it?

Used on every Enter by both front ends (so it is local and fast: well under a
millisecond for typical input).

``needs_more_input(source) -> bool``, like the Node REPL:

- True (continue) when the input ends inside something unfinished: an
  unterminated string, template literal, block comment or regex, open
  brackets/braces/parens (``foo(``, ``if (x) {``), or a trailing operator or
  statement head (``1 +``, ``x =>``, ``if (x)``, ``a.``).
- False (run) for a complete program, for empty input, and for a genuine
  syntax error that no continuation could fix (``x = 1)``, ``let let = 1; f(``,
  a string broken by a newline): it is sent and the server reports it.
- False when the input ends with two blank lines (see
  :func:`forced_by_blank_lines`): the user's way to force a run; folded into
  ``needs_more_input`` so front ends need a single call, and exposed for front
  ends that want to strip those lines before sending.

How: a small hand lexer (strings, templates with ``${}`` nesting, comments,
regex-vs-division, bracket stack) finds what is open at the end; tree-sitter
(:mod:`repl.js.parser`) decides: an input that parses cleanly is complete;
otherwise the input is incomplete iff appending closers for what is open (plus
a few fillers such as ``0`` or ``{}``) yields a clean parse.

``continuation_indent(source) -> str``: the indentation for the next line, two
spaces per nesting level (brackets opened on the same line count once), one
extra level after a trailing operator, none inside template/string content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from repl.js import parser as _parser

INDENT = "  "

# After these keywords an expression (so a regex) may follow; after any other
# identifier a `/` is division.
_REGEX_KEYWORDS = frozenset(
    "return typeof instanceof in of new delete void throw case do else yield await".split()
)
_SPACE = " \t\r\f\v\u00a0\ufeff\u2028\u2029"
_SPACES = re.compile(f"[{_SPACE}]+")
_WORD = re.compile(r"[\w$#\\\u0080-\U0010ffff]+")
_NUMBER = re.compile(r"[\w$#\\.\u0080-\U0010ffff]+")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_CLOSE_FOR = {"(": ")", "[": "]", "{": "}", "${": "}", "`": "`"}

# Fillers for what is unfinished at the innermost position (before the closers)
# and after the closers (statement heads: `if (x`, `function f(a`).
# Tried as (inner, outer) pairs, most likely first; see _probes().
_INNER_FILLERS = ("", "0", "x", ";", "{}", ":0", "0:0")
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
    last: str = ""  # last significant token in code ("" if none)
    last_kind: str = ""  # "value" | "punct" | "keyword" | "open"


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$#\\" or ord(ch) > 127


def scan(source: str) -> Scan:
    """Lex ``source`` just enough to know what is open at its end."""
    s = Scan()
    stack, lines = s.stack, s.lines
    i, n, line = 0, len(source), 0
    regex_ok = True  # would a `/` here start a regex?
    while i < n:
        if stack and stack[-1] == "`":  # template literal content
            while i < n:
                ch = source[i]
                if ch == "\\":
                    if i + 1 < n and source[i + 1] == "\n":
                        line += 1
                    i += 2
                    continue
                if ch == "`":
                    stack.pop()
                    lines.pop()
                    i += 1
                    s.last, s.last_kind, regex_ok = "`", "value", False
                    break
                if ch == "$" and i + 1 < n and source[i + 1] == "{":
                    stack.append("${")
                    lines.append(line)
                    i += 2
                    s.last, s.last_kind, regex_ok = "${", "open", True
                    break
                if ch == "\n":
                    line += 1
                i += 1
            else:
                s.end = "template"
                if i > n:  # trailing backslash
                    s.end_closer = "\n"
                return s
            continue
        ch = source[i]
        if ch == "\n":
            line += 1
            i += 1
            continue
        if ch in _SPACE:
            i = _SPACES.match(source, i).end()
            continue
        if ch == "/" and i + 1 < n and source[i + 1] == "/":
            j = source.find("\n", i)
            if j < 0:
                s.end = "line_comment"
                return s
            i = j
            continue
        if ch == "/" and i + 1 < n and source[i + 1] == "*":
            j = source.find("*/", i + 2)
            if j < 0:
                s.end, s.end_closer = "block_comment", "*/"
                return s
            line += source.count("\n", i, j)
            i = j + 2
            continue
        if ch == "/" and regex_ok:
            i += 1
            in_class = False
            while i < n:
                c = source[i]
                if c == "\\":
                    if i + 1 < n and source[i + 1] == "\n":
                        s.error = True
                        return s
                    i += 2
                    continue
                if c == "\n":
                    s.error = True  # a regex cannot span lines
                    return s
                if c == "[":
                    in_class = True
                elif c == "]":
                    in_class = False
                elif c == "/" and not in_class:
                    break
                i += 1
            else:
                s.end, s.end_closer = "regex", ("x" if i > n else "") + ("]/" if in_class else "/")
                return s
            i += 1
            while i < n and _is_ident_char(source[i]):
                i += 1  # flags
            s.last, s.last_kind, regex_ok = "/re/", "value", False
            continue
        if ch in "'\"":
            i += 1
            while i < n:
                c = source[i]
                if c == "\\":
                    if i + 1 < n and source[i + 1] == "\n":
                        line += 1
                    i += 2
                    continue
                if c == "\n":
                    s.error = True  # unterminated string before the end
                    return s
                if c == ch:
                    break
                i += 1
            else:
                # a trailing backslash escapes the newline the user is about to type
                s.end, s.end_closer = "string", ("\n" + ch if i > n else ch)
                return s
            i += 1
            s.last, s.last_kind, regex_ok = ch, "value", False
            continue
        if ch == "`":
            stack.append("`")
            lines.append(line)
            i += 1
            continue
        if ch in _OPENERS:
            stack.append(ch)
            lines.append(line)
            i += 1
            s.last, s.last_kind, regex_ok = ch, "open", True
            continue
        if ch in _CLOSERS:
            if not stack:
                s.error = True
                return s
            top = stack[-1]
            if ch == "}" and top == "${":
                stack.pop()
                lines.pop()
                i += 1  # back to template content
                continue
            if top != _CLOSERS[ch]:
                s.error = True
                return s
            stack.pop()
            lines.pop()
            i += 1
            # after `}` a statement (so a regex) may follow; after `)`/`]` a `/` divides
            s.last, s.last_kind, regex_ok = ch, "value", ch == "}"
            continue
        if _is_ident_char(ch):
            j = (_NUMBER if ch.isdigit() else _WORD).match(source, i).end()
            word = source[i:j]
            i = j
            if word in _REGEX_KEYWORDS:
                s.last, s.last_kind, regex_ok = word, "keyword", True
            else:
                s.last, s.last_kind, regex_ok = word, "value", False
            continue
        if ch == "." and i + 1 < n and source[i + 1].isdigit():
            j = i + 1
            while j < n and _is_ident_char(source[j]):
                j += 1
            i = j
            s.last, s.last_kind, regex_ok = "0", "value", False
            continue
        # punctuator: take the longest run of operator characters it starts
        j = i + 1
        while j < n and source[j] in "+-*%=&|^<>!?.:~" and j - i < 4:
            j += 1
        op = source[i:j]
        i = j
        if op in ("++", "--"):
            s.last, s.last_kind, regex_ok = op, "value", False
        else:
            s.last, s.last_kind, regex_ok = op, "punct", True
    return s


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
    data = source.encode("utf-8")
    p = _parser.parser()
    if not p.parse(data).root_node.has_error:
        return False  # a clean parse is a complete program
    sc = scan(source)
    if sc.error:
        return False
    head = "\n" if sc.end == "line_comment" else sc.end_closer
    closers = _closers(sc)
    in_template = bool(sc.stack) and sc.stack[-1] == "`" and sc.end == "template"
    for inner, outer in _probes(source):
        if in_template and inner:
            continue  # inside template content a filler is just text
        if inner:
            inner = " " + inner  # `extends` + `0` must not become `extends0`
        candidate = data + (head + inner + closers + outer).encode("utf-8")
        if not p.parse(candidate).root_node.has_error:
            return True
    return False


def _probes(source: str):
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
    depth = len(set(line for opener, line in zip(sc.stack, sc.lines) if opener != "`"))
    if (
        sc.end == "code"
        and sc.last_kind == "punct"
        and sc.last not in (",", ";", ":")
        and source.rstrip()[-1:] not in (",", ";")
    ):
        depth += 1  # `x = 1 +` / `const f = () =>`
    return INDENT * depth
