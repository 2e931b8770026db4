"""``_`` and ``_error`` at the prompt, as in the Node REPL, on any pool.

The NodeLTS kernel has no ``_``: it is a feature of Node's own REPL, and the
service runs code through iJavaScript's evaluator. acajs-repl gives it to you
on the client, without any extra request and without adding statements to
the session: when an input refers to ``_`` (the value of the last run) or
``_error`` (the last error), each such reference is replaced, in the code that
is sent, by a literal of that value:

- ``_``: the last value as the kernel printed it (``util.inspect`` text), when
  that text is a JavaScript literal: numbers, strings, booleans, ``null``,
  ``undefined``, ``NaN``, ``Infinity``, bigints, and arrays and plain objects
  of those. Anything else (a function, a ``Map``, a class instance, a
  truncated or circular value) cannot be rebuilt on the client: the input is
  not sent and the message says so (assign the value to a variable instead).
- ``_error``: an ``Error`` with the last error's name and message, and its
  stack text as printed.

As in Node, a session that declares or assigns ``_`` itself (``const _ =
require('lodash')``) keeps its own: no substitution then. The cell's "code
sent" view (palette) shows the rewritten input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from repl.js.parser import parse

__all__ = ["LastValues", "LastValueError", "substitute_last_values", "literal_of"]

NAMES = ("_", "_error")

# Node types a printed value may contain to count as a literal.
_LITERAL_NODES = frozenset(
    {
        "program", "expression_statement", "parenthesized_expression", "number", "string",
        "string_fragment", "escape_sequence", "true", "false", "null", "undefined", "array",
        "object", "pair", "property_identifier", "unary_expression", "template_string",
        "-", "+", ",", "[", "]", "{", "}", ":", "(", ")", "'", '"', "`",
    }
)  # fmt: skip
_LITERAL_IDENTIFIERS = frozenset({"undefined", "NaN", "Infinity"})
_ERROR_LINE = re.compile(r"^(?P<name>[A-Za-z_$][\w$]*(?:Error|Exception)|Error)(?:: (?P<message>.*))?$")


class LastValueError(ValueError):
    """``_`` or ``_error`` was used but cannot stand for what it names."""


@dataclass(slots=True)
class LastValues:
    """What ``_`` and ``_error`` stand for, kept by the engine after each run."""

    value_text: str | None = None  # None: no run yet
    error_text: str | None = None  # stderr of the last failed run
    user_owned: bool = False  # the session declared or assigned ``_`` itself

    def record(self, *, value_text: str, failed: bool, stderr: str) -> None:
        if failed:
            self.error_text = stderr or "Error"
        else:
            self.value_text = value_text or "undefined"


def literal_of(value_text: str) -> str | None:
    """``value_text`` when it is a JavaScript literal (see module doc), else None."""
    text = value_text.strip()
    if not text:
        return "undefined"
    tree = parse(f"({text})")
    root = tree.root_node
    if root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "identifier":
            if node.text is None or node.text.decode() not in _LITERAL_IDENTIFIERS:
                return None
        elif node.type not in _LITERAL_NODES:
            return None
        stack.extend(node.children)
    return text


def _error_literal(stderr: str) -> str:
    name, message = "Error", ""
    for line in stderr.splitlines():
        m = _ERROR_LINE.match(line.strip())
        if m:
            name, message = m.group("name"), m.group("message") or ""
            break
    return (
        f"Object.assign(new Error({json.dumps(message)}), "
        f"{{ name: {json.dumps(name)}, stack: {json.dumps(stderr.rstrip())} }})"
    )


def _declares_or_assigns_underscore(root: object) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        kind = node.type  # type: ignore[attr-defined]
        if kind in ("variable_declarator", "function_declaration", "class_declaration"):
            name = node.child_by_field_name("name")  # type: ignore[attr-defined]
            if name is not None and name.text == b"_":
                return True
        if kind == "assignment_expression":
            left = node.child_by_field_name("left")  # type: ignore[attr-defined]
            if left is not None and left.type == "identifier" and left.text == b"_":
                return True
        stack.extend(node.children)  # type: ignore[attr-defined]
    return False


def substitute_last_values(code: str, last: LastValues) -> str | None:
    """``code`` with ``_``/``_error`` references replaced, or None when it has
    none (send it unchanged). Raises :class:`LastValueError` when a reference
    cannot be replaced. Marks ``last.user_owned`` when the code declares or
    assigns ``_`` (from then on ``_`` is the session's own)."""
    if "_" not in code or last.user_owned:
        return None
    data = code.encode("utf-8")
    tree = parse(data)
    root = tree.root_node
    if _declares_or_assigns_underscore(root):
        last.user_owned = True
        return None
    refs: list[tuple[int, int, str, bool]] = []  # start, end, name, shorthand
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("identifier", "shorthand_property_identifier") and node.text is not None:
            name = node.text.decode()
            if name in NAMES:
                refs.append((node.start_byte, node.end_byte, name, node.type == "shorthand_property_identifier"))
        stack.extend(node.children)
    if not refs:
        return None
    replacement: dict[str, str] = {}
    for _, _, name, _ in refs:
        if name in replacement:
            continue
        if name == "_":
            if last.value_text is None:
                raise LastValueError("_ holds the value of the last run, and nothing has run yet.")
            literal = literal_of(last.value_text)
            if literal is None:
                shown = last.value_text if len(last.value_text) <= 60 else last.value_text[:57] + "…"
                raise LastValueError(
                    f"_ cannot stand for the last value ({shown}): acajs-repl rebuilds it on the client, "
                    "which works for literals only. Assign the value to a variable instead. Nothing was sent."
                )
            replacement[name] = f"({literal})"
        else:
            if last.error_text is None:
                raise LastValueError("_error holds the last error, and no run has failed yet.")
            replacement[name] = f"({_error_literal(last.error_text)})"
    out = bytearray(data)
    for start, end, name, shorthand in sorted(refs, reverse=True):
        text = replacement[name]
        out[start:end] = (f"{name}: {text}" if shorthand else text).encode("utf-8")
    return out.decode("utf-8")
