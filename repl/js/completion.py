"""Tab completion for JavaScript on a kernel that has no completion request.

Candidates come from three places:

* a static list of JavaScript keywords and the globals of the NodeLTS kernel
  (kind ``"keyword"`` / ``"global"``);
* names the session has declared, learned by parsing the inputs submitted to
  the current session (``engine.transcript``) with tree-sitter (kind
  ``"declared"``);
* after a ``.``, the properties of the object on the left, asked from the
  session with a small execution (kind ``"property"``).  Only a simple member
  chain of identifiers (``a``, ``a.b``, ``a?.b.c``) is ever sent; calls,
  indexing and any other expression are never evaluated.  The request resets
  the session's cooldown, so front ends ask for it only on an explicit Tab
  (``remote=True``).  A request slower than the bound
  (``DEFAULT_REMOTE_TIMEOUT`` or ``engine.completion_timeout``) is dropped:
  :func:`complete` returns the local candidates at once, and the late answer
  (if any) only fills the cache for the next Tab.

``complete_locally`` is the pure part (no network).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from repl.js.parser import new_parser

if TYPE_CHECKING:
    import tree_sitter

__all__ = [
    "Completion",
    "Completions",
    "CompletionContext",
    "KEYWORDS",
    "GLOBALS",
    "DEFAULT_REMOTE_TIMEOUT",
    "complete",
    "complete_locally",
    "completion_context",
    "declared_names",
    "declared_names_in",
    "fetch_properties",
    "property_probe_code",
]

DEFAULT_REMOTE_TIMEOUT = 0.5  # seconds; engine.completion_timeout overrides
PROPERTY_CACHE_TTL = 30.0  # seconds, and only until the next execution
PROBE_MARKER = "\x1eacajs-completion:"  # prefixes the JSON line the probe prints

KEYWORDS: tuple[str, ...] = (
    "async", "await", "break", "case", "catch", "class", "const", "continue",
    "debugger", "default", "delete", "do", "else", "export", "extends", "false",
    "finally", "for", "function", "if", "import", "in", "instanceof", "let", "new",
    "null", "of", "return", "static", "super", "switch", "this", "throw", "true",
    "try", "typeof", "var", "void", "while", "with", "yield",
)  # fmt: skip

GLOBALS: tuple[str, ...] = (
    # ECMAScript
    "AggregateError", "Array", "ArrayBuffer", "Atomics", "BigInt", "BigInt64Array",
    "BigUint64Array", "Boolean", "DataView", "Date", "Error", "EvalError",
    "FinalizationRegistry", "Float32Array", "Float64Array", "Function", "Infinity",
    "Int16Array", "Int32Array", "Int8Array", "Intl", "JSON", "Map", "Math", "NaN",
    "Number", "Object", "Promise", "Proxy", "RangeError", "ReferenceError", "Reflect",
    "RegExp", "Set", "SharedArrayBuffer", "String", "Symbol", "SyntaxError",
    "TypeError", "URIError", "Uint16Array", "Uint32Array", "Uint8Array",
    "Uint8ClampedArray", "WeakMap", "WeakRef", "WeakSet", "decodeURI",
    "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "eval",
    "globalThis", "isFinite", "isNaN", "parseFloat", "parseInt", "undefined",
    "unescape",
    # Node.js (the kernel runs under `node --eval`, so require/module are globals)
    "AbortController", "AbortSignal", "Blob", "BroadcastChannel", "Buffer",
    "DOMException", "Event", "EventTarget", "FormData", "Headers", "MessageChannel",
    "MessageEvent", "MessagePort", "Performance", "Request", "Response",
    "TextDecoder", "TextEncoder", "URL", "URLSearchParams", "WebAssembly", "atob",
    "btoa", "clearImmediate", "clearInterval", "clearTimeout", "console", "crypto",
    "exports", "fetch", "global", "module", "performance", "process",
    "queueMicrotask", "require", "setImmediate", "setInterval", "setTimeout",
    "structuredClone", "__dirname", "__filename",
    # the iJavaScript kernel's helper
    "$$",
)  # fmt: skip

_KIND_ORDER = {"declared": 0, "property": 1, "global": 2, "keyword": 3}

_ID_START = r"[A-Za-z_$\u00aa-\uffff]"
_ID_PART = r"[\w$\u00aa-\uffff]"
_IDENT = rf"{_ID_START}{_ID_PART}*"
_IDENT_RE = re.compile(rf"{_IDENT}\Z")
_PREFIX_RE = re.compile(rf"{_ID_PART}*\Z")
_DOT_RE = re.compile(r"(\?\.|\.)\s*\Z")
_CHAIN_RE = re.compile(rf"({_IDENT}(?:\s*\??\.\s*{_IDENT})*)\s*\Z")
_CHAIN_PART_RE = re.compile(rf"\s*(\??\.)\s*")


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    kind: str  # "keyword" | "global" | "declared" | "property"


@dataclass(frozen=True, slots=True)
class Completions:
    """Candidates replacing ``source[start:cursor]`` (the word being typed)."""

    start: int
    items: list[Completion] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.items]

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass(frozen=True, slots=True)
class CompletionContext:
    start: int  # character offset where the typed word starts
    prefix: str  # the typed word (possibly "")
    object_expr: str | None  # the member chain left of the ".", or None


# --------------------------------------------------------------------------- context


_REGEX_AFTER_WORDS = frozenset(
    {"return", "typeof", "case", "in", "of", "new", "delete", "void", "throw", "yield", "await", "else", "do", "instanceof"}
)


def _inside_string_or_comment(source: str, cursor: int) -> bool:
    """A small lexer over ``source[:cursor]``: is the cursor inside a string,
    a template literal's text, a comment or a regex literal?  (Works on
    unfinished input, where a parser only sees an error.)"""
    text = source[:cursor]
    i, n = 0, len(text)
    stack: list[str] = []  # "`" for template text, "{" for braces (inside ${ } or code)
    last = ""  # last significant token, to tell a regex from a division
    while i < n:
        ch = text[i]
        if stack and stack[-1] == "`":
            if ch == "\\":
                i += 2
                continue
            if ch == "`":
                stack.pop()
                last = ")"
                i += 1
                continue
            if text.startswith("${", i):
                stack.append("{")
                last = "("
                i += 2
                continue
            i += 1
            continue
        if ch in "'\"":
            j = i + 1
            while j < n and text[j] != ch and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                return True
            i, last = j + 1, ")"
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            if j < 0:
                return True
            i = j + 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return True
            i = j + 2
            continue
        if ch == "/":
            if last == "" or last in "([{,;:=!&|?+-*%<>~^" or last in _REGEX_AFTER_WORDS:
                j, in_class = i + 1, False
                while j < n and text[j] != "\n":
                    c = text[j]
                    if c == "\\":
                        j += 2
                        continue
                    if c == "[":
                        in_class = True
                    elif c == "]":
                        in_class = False
                    elif c == "/" and not in_class:
                        break
                    j += 1
                if j >= n:
                    return True
                i, last = j + 1, ")"
                continue
            i, last = i + 1, "/"
            continue
        if ch == "`":
            stack.append("`")
            i += 1
            continue
        if ch == "{":
            stack.append("{")
        elif ch == "}":
            if stack and stack[-1] == "{":
                stack.pop()
        if ch.isspace():
            i += 1
            continue
        m = re.match(rf"{_ID_PART}+", text[i:])
        if m:
            last = m.group(0) if m.group(0) in _REGEX_AFTER_WORDS else ")"
            i += len(m.group(0))
            continue
        last = ")" if ch in ")]}" else ch
        i += 1
    return bool(stack) and stack[-1] == "`"


def completion_context(source: str, cursor: int) -> CompletionContext | None:
    """What is being completed at ``cursor``; None where nothing should be offered.

    None inside strings, comments and regexes, inside a number, and after a
    ``.`` whose left side is not a simple member chain of identifiers
    (``f().x``, ``a[0].x``): those would need evaluating code.
    """
    cursor = max(0, min(cursor, len(source)))
    before = source[:cursor]
    prefix = _PREFIX_RE.search(before).group(0)
    if prefix and prefix[0].isdigit():
        return None
    start = cursor - len(prefix)
    if _inside_string_or_comment(source, cursor):
        return None
    head = before[:start]
    dot = _DOT_RE.search(head)
    if dot is None:
        # ``1.5`` style numbers and `..` never reach here; a word after nothing special.
        return CompletionContext(start, prefix, None)
    left = head[: dot.start()]
    chain = _CHAIN_RE.search(left)
    if chain is None:
        return None
    rest = left[: chain.start()].rstrip()
    if rest.endswith(".") and not (rest.endswith("...") and not rest.endswith("....")):
        return None  # ``f().a.`` / ``x[0].a.`` / ``1..a.``: not a plain chain
    if re.search(rf"{_ID_PART}\Z", rest) and not re.search(r"(?:^|\W)(?:new|typeof|void|return|in|of|await|yield|delete|case|instanceof)\Z", rest):
        return None
    expr = _CHAIN_PART_RE.sub(lambda m: m.group(1), chain.group(1))
    return CompletionContext(start, prefix, expr)


# --------------------------------------------------------------------------- declared names


def _binding_names(node: tree_sitter.Node, data: bytes) -> list[str]:
    t = node.type
    if t in ("identifier", "shorthand_property_identifier_pattern"):
        return [data[node.start_byte : node.end_byte].decode("utf-8")]
    if t == "pair_pattern":
        value = node.child_by_field_name("value")
        return _binding_names(value, data) if value is not None else []
    if t in ("object_assignment_pattern", "assignment_pattern"):
        left = node.child_by_field_name("left")
        return _binding_names(left, data) if left is not None else []
    names: list[str] = []
    if t in ("object_pattern", "array_pattern", "rest_pattern"):
        for child in node.named_children:
            names.extend(_binding_names(child, data))
    return names


_SCOPE_BOUNDARIES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "arrow_function",
        "method_definition",
        "class_body",
    }
)


def _collect(root: tree_sitter.Node, data: bytes, out: list[str]) -> None:
    """Pre-order walk without recursion; ``top`` is "in the global scope's
    statement list" (expression statements keep it, for ``x = 1``)."""
    stack = [(child, True) for child in reversed(root.named_children)]
    while stack:
        node, top = stack.pop()
        t = node.type
        if t in ("function_declaration", "generator_function_declaration", "class_declaration"):
            name = node.child_by_field_name("name")
            if name is not None and (top or t != "class_declaration"):
                out.extend(_binding_names(name, data))
            continue
        if t in _SCOPE_BOUNDARIES:
            continue
        if t == "variable_declaration" or (t == "lexical_declaration" and top):
            for decl in node.named_children:
                if decl.type == "variable_declarator":
                    name = decl.child_by_field_name("name")
                    if name is not None:
                        out.extend(_binding_names(name, data))
        elif t == "for_in_statement":
            kind = node.child_by_field_name("kind")
            left = node.child_by_field_name("left")
            if kind is not None and kind.type == "var" and left is not None:
                out.extend(_binding_names(left, data))
        elif t == "assignment_expression" and top:
            left = node.child_by_field_name("left")
            if left is not None and left.type == "identifier":  # ``x = 1``: an implicit global
                out.extend(_binding_names(left, data))
        keep = top and t == "expression_statement"
        stack.extend((child, keep) for child in reversed(node.named_children))


@functools.lru_cache(maxsize=2048)
def declared_names_in(code: str) -> tuple[str, ...]:
    """Names an input declares in the global scope: top-level ``let``/``const``/
    ``class``, ``var`` and function declarations outside functions, and
    top-level assignments to a bare identifier."""
    data = code.encode("utf-8")
    root = new_parser().parse(data).root_node
    out: list[str] = []
    _collect(root, data, out)
    seen: dict[str, None] = {}
    for name in out:
        if name != "await":
            seen.setdefault(name, None)
    return tuple(seen)


def declared_names(engine: Any) -> list[str]:
    """Names declared by the inputs run in the engine's current session."""
    identifier = getattr(engine, "identifier", None)
    seen: dict[str, None] = {}
    for cell in getattr(engine, "transcript", ()):
        session = getattr(cell, "session", None)
        if session is not None and identifier is not None and session != identifier:
            continue
        if getattr(cell, "error", None) is not None:
            continue  # never reached the kernel
        for name in declared_names_in(cell.code):
            seen.setdefault(name, None)
    return list(seen)


# --------------------------------------------------------------------------- candidates


def _rank(items: Iterable[Completion], prefix: str) -> list[Completion]:
    best: dict[str, Completion] = {}
    for item in items:
        if not item.text.startswith(prefix):
            continue
        prev = best.get(item.text)
        if prev is None or _KIND_ORDER[item.kind] < _KIND_ORDER[prev.kind]:
            best[item.text] = item
    hide_dunder = not prefix.startswith("_")
    ranked = [c for c in best.values() if not (hide_dunder and c.text.startswith("__") and c.kind == "property")]
    ranked.sort(key=lambda c: (_KIND_ORDER[c.kind], c.text.lower(), c.text))
    return ranked


def complete_locally(
    source: str,
    cursor: int,
    declared: Iterable[str] = (),
    properties: Iterable[str] | None = None,
) -> Completions:
    """Candidates without the network.

    ``declared``: names known to exist in the session (see :func:`declared_names`).
    ``properties``: property names of the object left of the ``.`` when known.
    After a ``.`` only properties are offered; elsewhere keywords, globals and
    declared names (plus the names the source itself declares), once at least
    one character of the word is typed: Tab on blank space (or after an
    operator) gets no candidates, so a front end can indent instead.
    """
    ctx = completion_context(source, cursor)
    if ctx is None:
        return Completions(cursor, [])
    if ctx.object_expr is not None:
        items = [Completion(p, "property") for p in (properties or ())]
        return Completions(ctx.start, _rank(items, ctx.prefix))
    if not ctx.prefix:
        return Completions(ctx.start, [])
    own = declared_names_in(source[: ctx.start] + source[cursor:])
    items = [Completion(n, "declared") for n in (*declared, *own)]
    items += [Completion(n, "global") for n in GLOBALS]
    items += [Completion(n, "keyword") for n in KEYWORDS]
    return Completions(ctx.start, _rank(items, ctx.prefix))


# --------------------------------------------------------------------------- remote


def property_probe_code(expr: str) -> str:
    """The script that lists the property names of ``expr`` (a member chain).

    It prints one line, ``PROBE_MARKER`` + a JSON array of the own and inherited
    string property names (valid identifiers only), and has no value.  A
    missing name or a throwing getter prints ``[]``.
    """
    if not re.fullmatch(rf"{_IDENT}(?:\??\.{_IDENT})*", expr):
        raise ValueError(f"not a simple member chain: {expr!r}")
    marker = json.dumps(PROBE_MARKER)
    # ``expr`` is evaluated in a thunk written at the top level, outside the
    # helper's own scope, so the helper's names (o, p, k, names, ...) never
    # shadow the user's: ``const o = {...}`` then ``o.`` must see that ``o``.
    return (
        "void ((get) => { let names = []; try { const o = get(); "
        "if (o !== null && o !== undefined) { const seen = new Set(); "
        "for (let p = Object(o); p !== null && seen.size < 5000; p = Object.getPrototypeOf(p)) "
        "for (const k of Object.getOwnPropertyNames(p)) if (/^[A-Za-z_$][\\w$]*$/.test(k)) seen.add(k); "
        "names = [...seen]; } } catch (e) {} "
        "console.log(" + marker + " + JSON.stringify(names)); })(() => (" + expr + "))"
    )


def _parse_probe(stdout: str) -> list[str] | None:
    for line in stdout.split("\n"):  # not splitlines(): it splits at \x1e too
        idx = line.find(PROBE_MARKER)
        if idx >= 0:
            try:
                names = json.loads(line[idx + len(PROBE_MARKER) :])
            except ValueError:
                return None
            if isinstance(names, list):
                return [n for n in names if isinstance(n, str)]
    return None


@dataclass
class _CacheEntry:
    names: list[str]
    at: float
    execution_count: int


_cache: dict[tuple[str, str], _CacheEntry] = {}
_pending: dict[tuple[str, str], asyncio.Task] = {}


def cached_properties(engine: Any, expr: str) -> list[str] | None:
    entry = _cache.get((engine.identifier, expr))
    if entry is None:
        return None
    if time.monotonic() - entry.at > PROPERTY_CACHE_TTL or entry.execution_count != getattr(engine, "execution_count", 0):
        _cache.pop((engine.identifier, expr), None)
        return None
    return entry.names


async def _probe(engine: Any, expr: str) -> list[str] | None:
    touch = getattr(getattr(engine, "cooldown", None), "touch", None)
    if touch is not None:
        touch()  # the execution names the identifier: it resets the session's cooldown
    count = getattr(engine, "execution_count", 0)
    execution = await engine.connection.client.execute(
        property_probe_code(expr), identifier=engine.identifier, timeout=10
    )
    names = _parse_probe(execution.stdout or "")
    if names is not None:
        _cache[(engine.identifier, expr)] = _CacheEntry(names, time.monotonic(), count)
    return names


def _forget(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a late failure is not an unhandled error


async def fetch_properties(engine: Any, expr: str, timeout: float | None = None) -> list[str] | None:
    """Property names of ``expr`` in the session, or None when not known in time.

    A request still running when ``timeout`` expires keeps running in the
    background and fills the cache; the caller is not kept waiting.
    """
    names = cached_properties(engine, expr)
    if names is not None:
        return names
    if timeout is None:
        timeout = getattr(engine, "completion_timeout", None) or DEFAULT_REMOTE_TIMEOUT
    key = (engine.identifier, expr)
    task = _pending.get(key)
    if task is None or task.done():
        task = asyncio.ensure_future(_probe(engine, expr))
        task.add_done_callback(_forget)
        task.add_done_callback(lambda t, key=key: _pending.pop(key, None) if _pending.get(key) is t else None)
        _pending[key] = task
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except asyncio.TimeoutError:
        return None
    except Exception:  # noqa: BLE001 - an ApiError or a bad answer: no remote candidates
        return None


async def complete(
    engine: Any,
    source: str,
    cursor: int,
    *,
    remote: bool = True,
    timeout: float | None = None,
) -> Completions:
    """Completions at ``cursor``: local candidates, plus the session's property
    names after a ``.`` when ``remote`` (an explicit Tab) and they arrive within
    ``timeout`` seconds."""
    ctx = completion_context(source, cursor)
    if ctx is None:
        return Completions(cursor, [])
    declared = declared_names(engine)
    properties: list[str] | None = None
    if ctx.object_expr is not None:
        properties = cached_properties(engine, ctx.object_expr)
        if properties is None and remote:
            properties = await fetch_properties(engine, ctx.object_expr, timeout)
    return complete_locally(source, cursor, declared, properties)
