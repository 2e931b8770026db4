"""Client-side top-level ``await`` for a kernel that has none.

The NodeLTS kernel (iJavaScript 5.2.1 / nel 1.3.0) runs each input as a
*script* (``vm.runInThisContext``), where ``await`` outside an async function is
a SyntaxError.  :func:`rewrite_top_level_await` turns an input that uses
``await`` at top level into a script that runs the input inside an async
arrow function and reports its outcome through the kernel's ``$$`` helper::

    var x; $$.async(); (async () => { void (x = await f());
    return { value: (x + 1) }
    })().then((r) => { $$.done(r ? r.value : undefined) }, (e) => { $$.sendError(e) });

* ``$$.async()`` tells nel that the result comes later; ``$$.done(v)`` sends
  ``util.inspect(v)`` exactly like a synchronous completion value (nel's
  ``toMime``; ``undefined`` is hidden by the kernel exactly as a synchronous
  ``undefined`` is).  ``$$.done`` is used rather than ``$$.sendResult``
  because ``sendResult`` would additionally await a Promise value, while a
  synchronous ``Promise.resolve(1)`` shows ``Promise { 1 }``.
* ``$$.sendError(e)`` formats the error like a synchronous throw (name,
  message, stack lines), so the execution ends as Failed.
* The value of the last expression statement is returned wrapped in
  ``{ value: ... }`` so a Promise value is not awaited a second time (as in
  Node's ``lib/internal/repl/await.js``).

Declarations follow Node's REPL (``lib/internal/repl/await.js``) with one
deliberate difference: *every* declared name is hoisted as ``var`` outside the
wrapper (Node hoists ``let``/``const``/``class`` as ``let``).  A ``var`` can be
declared again, so re-running (or fixing and re-running) an input such as
``const res = await fetch(u)`` keeps working, where a hoisted ``let`` would
fail the second time with "Identifier 'res' has already been declared".  A
later *synchronous* ``let``/``const``/``class`` of the same name still fails
with "already declared", exactly as it would in the kernel.  See
``docs/top-level-await.md`` for the full list of meaning changes.

The rewrite keeps the user's code on its original lines (the prelude is on
line 1), so line numbers in stack traces match what the user typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from repl.js.parser import new_parser

if TYPE_CHECKING:
    import tree_sitter

__all__ = ["rewrite_top_level_await", "has_top_level_await", "RESULT_CALLBACKS"]

# Node types whose bodies are not "top level" for await purposes.
_FUNCTION_BOUNDARIES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",  # older grammars
        "generator_function",
        "arrow_function",
    }
)

_FUNCTION_DECLARATIONS = frozenset({"function_declaration", "generator_function_declaration"})

# Identifier-like nodes: ``await`` used as a name means sloppy code that the
# async wrapper would turn into a SyntaxError.
_IDENTIFIER_TYPES = frozenset(
    {
        "identifier",
        "shorthand_property_identifier",
        "shorthand_property_identifier_pattern",
    }
)

PRELUDE = "$$.async(); (async () => { "
RESULT_CALLBACKS = (
    "})().then((r) => { $$.done(r ? r.value : undefined) }, "
    "(e) => { $$.sendError(e) });"
)


@dataclass
class _State:
    src: bytes
    contains_await: bool = False
    contains_return: bool = False
    await_identifier: bool = False
    hoisted: list[str] = field(default_factory=list)
    # (position, sequence, end, text): replace src[position:end] by text.
    edits: list[tuple[int, int, int, str]] = field(default_factory=list)

    def hoist(self, name: str) -> None:
        if name not in self.hoisted:
            self.hoisted.append(name)

    def insert(self, pos: int, text: str) -> None:
        self.edits.append((pos, len(self.edits), pos, text))

    def replace(self, start: int, end: int, text: str) -> None:
        self.edits.append((start, len(self.edits), end, text))

    def text(self, node: tree_sitter.Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8")


def _pattern_names(node: tree_sitter.Node, state: _State) -> list[str]:
    """Names bound by a binding pattern (identifier, object or array pattern)."""
    t = node.type
    if t in ("identifier", "shorthand_property_identifier_pattern"):
        return [state.text(node)]
    names: list[str] = []
    if t == "pair_pattern":
        value = node.child_by_field_name("value")
        return _pattern_names(value, state) if value is not None else []
    if t in ("object_assignment_pattern", "assignment_pattern"):
        left = node.child_by_field_name("left")
        return _pattern_names(left, state) if left is not None else []
    if t in ("object_pattern", "array_pattern", "rest_pattern"):
        for child in node.named_children:
            names.extend(_pattern_names(child, state))
    return names


def _visit_declaration(node: tree_sitter.Node, state: _State, kind: str) -> None:
    """``var``/``let``/``const`` → ``void ((a = 1), (b = undefined))``, names hoisted."""
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    if not declarators:
        return
    keyword = node.children[0]
    many = len(declarators) > 1
    state.replace(keyword.start_byte, keyword.end_byte, "void (" if many else "void")
    for decl in declarators:
        name = decl.child_by_field_name("name")
        value = decl.child_by_field_name("value")
        if name is not None:
            for n in _pattern_names(name, state):
                state.hoist(n)
        state.insert(decl.start_byte, "(")
        if value is not None:
            state.insert(decl.end_byte, ")")
        elif kind == "var":
            # ``var x;`` keeps an existing value, as a redeclaration does.
            state.insert(decl.end_byte, ")")
        else:
            state.insert(decl.end_byte, "=undefined)")
    if many:
        state.insert(declarators[-1].end_byte, ")")


def _computed_names(members: list[tree_sitter.Node]) -> list[tree_sitter.Node]:
    names = []
    for member in members:
        name = member.child_by_field_name("name") or member.child_by_field_name("property")
        if name is not None and name.type == "computed_property_name":
            names.append(name)
    return names


def _visit(node: tree_sitter.Node, state: _State, top_level: bool) -> list[tree_sitter.Node]:
    """Record what ``node`` needs; return the children still to visit."""
    t = node.type
    if t == "method_definition":
        # Only a computed name (``[await k]() {}``) runs in the enclosing scope.
        return _computed_names([node])
    if t == "class_body":
        # Methods, field initialisers and static blocks are function scopes;
        # computed member names run in the enclosing scope.
        return _computed_names(node.named_children)
    if t in _FUNCTION_BOUNDARIES:
        if t in _FUNCTION_DECLARATIONS:
            name = node.child_by_field_name("name")
            if name is not None:
                n = state.text(name)
                state.hoist(n)
                state.insert(node.start_byte, f"globalThis.{n} = {n}; ")
        return []
    if t == "class_declaration":
        name = node.child_by_field_name("name")
        if top_level and name is not None:
            n = state.text(name)
            state.hoist(n)
            state.insert(node.start_byte, f"{n}=")
            # The declaration becomes an expression statement: end it, so a
            # following line starting with ``(`` or ``[`` is not a call.
            state.insert(node.end_byte, ";")
        return [c for c in node.children if c.type in ("class_heritage", "class_body")]
    if t == "await_expression":
        state.contains_await = True
    elif t == "return_statement":
        state.contains_return = True
    elif t in _IDENTIFIER_TYPES:
        if state.text(node) == "await":
            state.await_identifier = True
        return []
    elif t == "for_in_statement":
        kind = node.child_by_field_name("kind")
        if any(c.type == "await" for c in node.children):
            state.contains_await = True
        if kind is not None and kind.type == "var":
            left = node.child_by_field_name("left")
            if left is not None:
                for n in _pattern_names(left, state):
                    state.hoist(n)
                state.replace(kind.start_byte, left.start_byte, "")
    elif t == "variable_declaration":
        _visit_declaration(node, state, "var")
    elif t == "lexical_declaration" and top_level:
        keyword = node.children[0].type
        if keyword in ("let", "const"):
            _visit_declaration(node, state, keyword)
    return node.children


def _walk(root: tree_sitter.Node, state: _State) -> None:
    """Pre-order walk without recursion (deeply nested expressions are fine)."""
    stack = [(child, True) for child in reversed(root.children)]
    while stack:
        node, top_level = stack.pop()
        children = _visit(node, state, top_level)
        stack.extend((child, False) for child in reversed(children))


def _analyse(source: str) -> tuple[_State, tree_sitter.Node] | None:
    src = source.encode("utf-8")
    tree = new_parser().parse(src)  # per call: safe from any thread
    root = tree.root_node
    if root.has_error:
        return None
    state = _State(src)
    _walk(root, state)
    return state, root


def has_top_level_await(source: str) -> bool:
    """True when the input is rewritten by :func:`rewrite_top_level_await`."""
    return rewrite_top_level_await(source) is not None


def rewrite_top_level_await(source: str) -> str | None:
    """Rewrite an input with top-level ``await`` for the NodeLTS kernel.

    Returns None (send the input byte for byte unchanged) when the input has
    no ``await`` outside a function, when it does not parse (the server
    reports the SyntaxError), when it has a top-level ``return`` or uses
    ``await`` as an identifier (sloppy code, valid only without a wrapper).
    """
    if "await" not in source:
        return None
    analysed = _analyse(source)
    if analysed is None:
        return None
    state, root = analysed
    if root.child_count and root.children[0].type == "hash_bang_line":
        return None  # nothing may come before a ``#!`` line
    if not state.contains_await or state.contains_return or state.await_identifier:
        return None

    # Return the value of the last expression statement (skipping empty
    # statements and comments), wrapped so that a Promise value is not awaited.
    for node in reversed(root.children):
        if node.type in ("empty_statement", "comment", "hash_bang_line"):
            continue
        if node.type == "expression_statement":
            exprs = [c for c in node.named_children if c.type != "comment"]
            if exprs:
                state.insert(node.start_byte, "return { value: (")
                state.insert(exprs[0].end_byte, ") }")
        break

    out = bytearray()
    pos = 0
    for start, _seq, end, text in sorted(state.edits, key=lambda e: (e[0], e[1])):
        out += state.src[pos:start]
        out += text.encode("utf-8")
        pos = max(pos, end)
    out += state.src[pos:]
    body = out.decode("utf-8")

    hoisted = f"var {', '.join(state.hoisted)}; " if state.hoisted else ""
    return f"{hoisted}{PRELUDE}{body}\n{RESULT_CALLBACKS}"
