"""Tab completion for JavaScript on a kernel that has no completion request.

One :class:`Completer` per engine (``engine.completer``) holds the cache of
property names; both front ends (repl.tui.completer, repl.line.completer) ask
it and hold no completion logic of their own. Candidates come from:

* a static list of JavaScript keywords and the globals of the NodeLTS kernel
  (kind ``"keyword"`` / ``"global"``);
* names the session has declared, learned by parsing the inputs submitted to
  the current session (``engine.transcript``) with tree-sitter (kind
  ``"declared"``);
* after a ``.``, the properties of the object on the left, asked from the
  session with a small execution, the *property probe* (kind ``"property"``);
* in a dot-command, the command names (``.lo`` -> ``.load``, kind
  ``"command"``) and, for arguments that name a local file (``Arg.local_path``:
  ``.upload PATH``, ``.load FILE``, ``.save FILE``, ``.export FILE.md``,
  ``.download NAME DEST``), paths on this machine relative to ``engine.cwd``
  or the process's working directory (kinds ``"directory"``, shown with a
  trailing ``/``, and ``"file"``). ``~`` is expanded; a path with spaces or
  quotes is inserted quoted, as the dot-command parser (shlex) reads it.
  Never JavaScript names there.

Where nothing may be offered: inside strings, template text, comments and
regex literals (the one JavaScript lexer, :func:`repl.js.completeness.scan`,
decides), inside a number, and after a ``.`` whose left side is not a simple
member chain of identifiers (``f().x``, ``a[0].x``): those would need
evaluating code.

The property probe
------------------
**A property probe is an execution**: it names the session's identifier, so
it resets the session's cooldown like any run (the countdown restarts). Front
ends therefore send it only on an explicit Tab (``remote=True``), never while
typing. It goes through ``engine.execute_hidden``: no cell, no history entry,
and never while a run holds the session (then no properties are offered, at
once). The answer is cached per engine, per identifier and member chain, until
the next execution or for ``PROPERTY_CACHE_TTL`` seconds, so filtering as you
type and the next Tab need no round trip. A probe slower than the bound
(``Completer.timeout``, default ``DEFAULT_REMOTE_TIMEOUT``) is not waited for:
the local candidates come at once and the late answer only fills the cache.

The probe runs no getter and no Proxy trap of the session's objects. It
resolves the chain ``a.b.c`` step by step with property descriptors
(``Object.getOwnPropertyDescriptor`` up the prototype chain): a data property
is followed, an accessor (getter) stops the walk and nothing is offered. It
lists names with ``Object.getOwnPropertyNames`` up the prototype chain (no
value is read, no ``for...in``). Proxies: ``ownKeys``,
``getOwnPropertyDescriptor`` and ``getPrototypeOf`` traps would run on a
Proxy, so the probe checks every object with ``util.types.isProxy`` (which
runs no trap) and stops at a Proxy: its properties are not offered (an
object whose prototype is a Proxy still offers its own names). Two
exceptions, both the runtime's own code: the first name of the chain may be
one of Node's lazily loaded globals, which Node defines as getters on
``globalThis`` (``process``, ``Buffer``, ``crypto``, ``fs``...), and those
getters are run; a getter further down (``process.stdout``) is not, so
``process.stdout.`` offers nothing. The probe uses the built-ins (``Object``,
``JSON``, ``console``...) by name: a session that rebinds them gets its own
functions called.

What the session sends back is untrusted: only a bounded list of strings that
are JavaScript identifiers is kept.

``complete_locally`` and ``completion_context`` are the pure parts (no
network); :func:`dot_command_completions` touches only the local file system.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from repl.dotcommands import COMMANDS, lookup
from repl.js.completeness import is_code_at
from repl.js.parser import new_parser

if TYPE_CHECKING:
    import tree_sitter

    from repl.engine import ReplEngine

__all__ = [
    "Completion",
    "Completions",
    "CompletionContext",
    "Completer",
    "KEYWORDS",
    "GLOBALS",
    "DEFAULT_REMOTE_TIMEOUT",
    "complete_locally",
    "completion_context",
    "declared_names",
    "declared_names_in",
    "dot_command_completions",
    "patterns",
    "property_probe_code",
]

DEFAULT_REMOTE_TIMEOUT = 1.0  # seconds the caller waits for a probe (Completer.timeout overrides)
PROBE_TIMEOUT = 5.0  # timeoutInSeconds of the probe execution itself
PROPERTY_CACHE_TTL = 30.0  # seconds, and only until the next execution
PROPERTY_CACHE_SIZE = 256  # member chains kept per engine
PROBE_MARKER = "\x1eacajs-completion:"  # prefixes the JSON line the probe prints
MAX_NAMES = 5000  # names kept from one probe answer
MAX_NAME_LENGTH = 200
MAX_PATHS = 1000  # directory entries offered

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

# Globals Node defines as getters on globalThis (lazily loaded; `node --eval`
# also exposes the built-in modules that way). The probe may run these, and
# only these, getters: they are the runtime's code, not the session's.
RUNTIME_GETTER_GLOBALS: frozenset[str] = frozenset(
    """process Buffer DOMException AbortController AbortSignal TextEncoder TextDecoder
    TransformStream WritableStream ReadableStream TextEncoderStream TextDecoderStream
    CompressionStream DecompressionStream atob btoa BroadcastChannel MessageChannel
    MessagePort MessageEvent Blob File Performance performance FormData Headers Request
    Response crypto Crypto CryptoKey SubtleCrypto navigator WebSocket
    assert async_hooks buffer child_process cluster constants dgram diagnostics_channel
    dns domain events fs http http2 https inspector module net os path perf_hooks
    punycode querystring readline repl stream string_decoder sys timers tls
    trace_events tty url util v8 vm wasi worker_threads zlib""".split()
)

_KIND_ORDER = {"declared": 0, "property": 1, "global": 2, "keyword": 3, "command": 4, "directory": 5, "file": 6}

_ID_START = r"[A-Za-z_$\u00aa-\uffff]"
_ID_PART = r"[\w$\u00aa-\uffff]"
_IDENT = rf"{_ID_START}{_ID_PART}*"


class _Patterns(NamedTuple):
    ident: re.Pattern[str]
    prefix: re.Pattern[str]
    dot: re.Pattern[str]
    chain: re.Pattern[str]
    chain_part: re.Pattern[str]
    member_chain: re.Pattern[str]
    command_word: re.Pattern[str]
    word_end: re.Pattern[str]


@functools.cache
def patterns() -> _Patterns:
    """The completion's regular expressions, compiled on first use: the
    ``\\u00aa-\\uffff`` classes take ~20 ms to compile, which the REPL's
    start-up should not pay (the TUI compiles them in a thread once connected)."""
    return _Patterns(
        ident=re.compile(_IDENT),
        prefix=re.compile(rf"{_ID_PART}*\Z"),
        dot=re.compile(r"(\?\.|\.)\s*\Z"),
        chain=re.compile(rf"({_IDENT}(?:\s*\??\.\s*{_IDENT})*)\s*\Z"),
        chain_part=re.compile(r"\s*(\??\.)\s*"),
        member_chain=re.compile(rf"{_IDENT}(?:\??\.{_IDENT})*"),
        command_word=re.compile(r"\s*\.([A-Za-z][A-Za-z_-]*)?"),
        word_end=re.compile(rf"(?:{_ID_PART}|#)\Z"),
    )


@dataclass(frozen=True, slots=True)
class Completion:
    text: str  # what replaces the typed word
    kind: str  # "keyword" | "global" | "declared" | "property" | "command" | "directory" | "file"
    display: str = ""  # what a list shows when not ``text`` (a path's last part, a command's usage)

    @property
    def label(self) -> str:
        return self.display or self.text


@dataclass(frozen=True, slots=True)
class Completions:
    """Candidates replacing ``source[start:cursor]`` (the word being typed).

    ``context`` says what is completed: ``"code"`` (a name), ``"property"``
    (after a ``.``; ``object_expr`` is the member chain on the left and
    ``properties`` the names known for it, None when not known), ``"command"``,
    ``"path"``, or ``"none"`` (nothing may be offered here)."""

    start: int
    items: list[Completion] = field(default_factory=list)
    context: str = "code"
    object_expr: str | None = None
    properties: tuple[str, ...] | None = None

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


def completion_context(source: str, cursor: int) -> CompletionContext | None:
    """What is being completed at ``cursor``; None where nothing should be offered.

    None inside strings, template text, comments and regexes (the lexer of
    :mod:`repl.js.completeness` decides), inside a number, and after a ``.``
    whose left side is not a simple member chain of identifiers (``f().x``,
    ``a[0].x``): those would need evaluating code.
    """
    cursor = max(0, min(cursor, len(source)))
    before = source[:cursor]
    found = patterns().prefix.search(before)
    prefix = found.group(0) if found is not None else ""
    if prefix and prefix[0].isdigit():
        return None
    start = cursor - len(prefix)
    if not is_code_at(source, start):
        return None
    head = before[:start]
    dot = patterns().dot.search(head)
    if dot is None:
        return CompletionContext(start, prefix, None)
    left = head[: dot.start()]
    chain = patterns().chain.search(left)
    if chain is None:
        return None
    glued = left[: chain.start()]
    if patterns().word_end.search(glued):
        return None  # the chain starts inside a word: ``0x1f.``, ``1e5.``, ``this.#secret.``
    rest = glued.rstrip()
    if rest.endswith(".") and not (rest.endswith("...") and not rest.endswith("....")):
        return None  # ``f().a.`` / ``x[0].a.`` / ``1..a.``: not a plain chain
    expr = patterns().chain_part.sub(lambda m: m.group(1), chain.group(1))
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


def declared_names(engine: ReplEngine) -> list[str]:
    """Names declared by the inputs run in the engine's current session."""
    identifier = engine.identifier
    seen: dict[str, None] = {}
    for cell in engine.transcript:
        if cell.session is not None and cell.session != identifier:
            continue
        if cell.error is not None:
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
    """JavaScript candidates without the network.

    ``declared``: names known to exist in the session (see :func:`declared_names`).
    ``properties``: property names of the object left of the ``.`` when known.
    After a ``.`` only properties are offered; elsewhere keywords, globals and
    declared names (plus the names the source itself declares), once at least
    one character of the word is typed: Tab on blank space (or after an
    operator) gets no candidates, so a front end can indent instead.
    """
    ctx = completion_context(source, cursor)
    if ctx is None:
        return Completions(cursor, [], context="none")
    if ctx.object_expr is not None:
        known = tuple(properties) if properties is not None else None
        items = [Completion(p, "property") for p in (known or ())]
        return Completions(ctx.start, _rank(items, ctx.prefix), "property", ctx.object_expr, known)
    if not ctx.prefix:
        return Completions(ctx.start, [])
    own = declared_names_in(source[: ctx.start] + source[cursor:])
    items = [Completion(n, "declared") for n in (*declared, *own)]
    items += [Completion(n, "global") for n in GLOBALS]
    items += [Completion(n, "keyword") for n in KEYWORDS]
    return Completions(ctx.start, _rank(items, ctx.prefix))


# --------------------------------------------------------------------------- dot-commands and paths


def _current_argument(source: str, begin: int, cursor: int) -> tuple[int, int, str, str]:
    """Read ``source[begin:cursor]`` as the dot-command parser (shlex, POSIX)
    does: (index of the argument at the cursor, where it starts, its value so
    far without quotes and escapes, the quote still open or "")."""
    index, arg_start, quote = -1, cursor, ""
    value: list[str] = []
    in_arg = False
    i = begin
    while i < cursor:
        c = source[i]
        if not in_arg:
            if c.isspace():
                i += 1
                continue
            in_arg, index, arg_start, value = True, index + 1, i, []
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"' and i + 1 < cursor and source[i + 1] in '\\"':
                value.append(source[i + 1])
                i += 1
            else:
                value.append(c)
        elif c.isspace():
            in_arg = False
        elif c in "'\"":
            quote = c
        elif c == "\\" and i + 1 < cursor:
            value.append(source[i + 1])
            i += 1
        else:
            value.append(c)
        i += 1
    if not in_arg:
        index, arg_start, value, quote = index + 1, cursor, [], ""
    return index, arg_start, "".join(value), quote


def _quoted(path: str, quote: str, closed: bool) -> str:
    """``path`` written so that the dot-command parser reads it back."""
    if not quote and not re.search(r"[\s'\"\\]", path):
        return path
    if quote != "'" or "'" in path:
        quote = '"'
        path = path.replace("\\", "\\\\").replace('"', '\\"')
    return quote + path + (quote if closed else "")


def path_completions(value: str, quote: str, start: int, cursor: int, cwd: Path | None) -> Completions:
    """Local paths completing the argument ``value`` (typed from ``start``):
    entries of its directory part whose names start with its last part."""
    if value.startswith("~") and "/" not in value:
        items = [Completion(_quoted("~/", quote, False), "directory", "~/")] if value == "~" else []
        return Completions(start, items, "path")
    head, slash, prefix = value.rpartition("/")
    directory = head + slash  # as typed ("" or ending with "/")
    base = Path(os.path.expanduser(directory or "."))
    if not base.is_absolute():
        base = (cwd if cwd is not None else Path.cwd()) / base
    entries: list[tuple[str, bool]] = []
    try:
        with os.scandir(base) as it:
            for entry in it:
                name = entry.name
                if not name.startswith(prefix) or (name.startswith(".") and not prefix.startswith(".")):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                entries.append((name, is_dir))
                if len(entries) >= MAX_PATHS:
                    break
    except OSError:  # no such directory, not a directory, no permission: nothing to offer
        entries = []
    entries.sort(key=lambda e: (e[0].lower(), e[0]))
    items = []
    for name, is_dir in entries:
        full = directory + name + ("/" if is_dir else "")
        label = name + ("/" if is_dir else "")
        items.append(Completion(_quoted(full, quote, not is_dir), "directory" if is_dir else "file", label))
    return Completions(start, items, "path")


def dot_command_completions(source: str, cursor: int, cwd: Path | None = None) -> Completions | None:
    """Completions inside a one-line dot-command, or None when ``source`` is
    not one (then it is JavaScript). The command word completes to command
    names; an argument that names a local file (``Arg.local_path``) to paths;
    any other argument to nothing."""
    if "\n" in source:
        return None
    m = patterns().command_word.match(source)
    if m is None:
        return None
    word_start = m.start(1) if m.group(1) is not None else m.end()
    word_end = m.end()
    if word_end < len(source) and not source[word_end].isspace():
        return None  # `.5`, `.foo(`: JavaScript
    word = source[word_start:word_end].lower()
    cursor = max(0, min(cursor, len(source)))
    if cursor < word_start:
        return Completions(cursor, [], "none")
    if cursor <= word_end:
        typed = source[word_start:cursor].lower()
        items = [Completion(spec.name, "command", spec.usage) for spec in COMMANDS if spec.name.startswith(typed)]
        return Completions(word_start, items, "command")
    spec = lookup(word)
    if spec is None:
        return None  # `.frob x`: not a command the REPL knows
    index, start, value, quote = _current_argument(source, word_end, cursor)
    if index >= len(spec.args) or not spec.args[index].local_path:
        return Completions(cursor, [], "none")  # never JavaScript names in a command
    return path_completions(value, quote, start, cursor, cwd)


# --------------------------------------------------------------------------- the property probe

_PROBE_JS = r"""void ((get, path, runtimeGetter) => {
  let names = [];
  try {
    let isProxy = null;
    try {
      const util = typeof process.getBuiltinModule === "function"
        ? process.getBuiltinModule("util") : require("util");
      isProxy = util.types.isProxy;
    } catch (e) {}
    const STOP = {};
    const proxy = (p) => isProxy !== null && isProxy(p);
    const find = (o, k) => {
      for (let p = o, n = 0; p !== null && n < 1000; p = Object.getPrototypeOf(p), n++) {
        if (proxy(p)) return STOP;
        const d = Object.getOwnPropertyDescriptor(p, k);
        if (d !== undefined) return d;
      }
      return undefined;
    };
    const g = find(globalThis, path[0]);
    if (g === STOP || (g !== undefined && !("value" in g) && !runtimeGetter)) throw STOP;
    let o = get();
    for (const k of path.slice(1)) {
      if (o === null || o === undefined) throw STOP;
      const d = find(Object(o), k);
      if (d === undefined || d === STOP || !("value" in d)) throw STOP;
      o = d.value;
    }
    if (o !== null && o !== undefined) {
      const seen = new Set();
      const ident = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;
      for (let p = Object(o), n = 0; p !== null && n < 1000 && seen.size < @MAX@; p = Object.getPrototypeOf(p), n++) {
        if (proxy(p)) break;
        if (ArrayBuffer.isView(p)) continue;  // typed arrays: only indices
        const len = Array.isArray(p) ? Object.getOwnPropertyDescriptor(p, "length").value : 0;
        for (const k of len > 10000 ? ["length"] : Object.getOwnPropertyNames(p)) if (ident.test(k)) seen.add(k);
      }
      names = [...seen];
    }
  } catch (e) {}
  console.log(@MARKER@ + JSON.stringify(names));
})"""


def property_probe_code(expr: str) -> str:
    """The script that lists the property names of ``expr`` (a member chain).

    It prints one line, ``PROBE_MARKER`` + a JSON array of the own and
    inherited string property names that are identifiers, and has no value.
    A missing name, a getter or a Proxy in the chain prints ``[]`` (see the
    module docstring: no getter and no Proxy trap of the session runs).
    """
    if not patterns().member_chain.fullmatch(expr):
        raise ValueError(f"not a simple member chain: {expr!r}")
    path = re.split(r"\??\.", expr)
    head = path[0]
    # The head is evaluated in a thunk written at the top level, outside the
    # helper's own scope, so the helper's names (o, p, k, names, ...) never
    # shadow the user's: ``const o = {...}`` then ``o.`` must see that ``o``.
    code = _PROBE_JS.replace("@MARKER@", json.dumps(PROBE_MARKER)).replace("@MAX@", str(MAX_NAMES))
    runtime = "true" if head in RUNTIME_GETTER_GLOBALS else "false"
    return f"{code}(() => ({head}), {json.dumps(path)}, {runtime})"


def parse_probe_answer(stdout: str) -> list[str] | None:
    """The names in a probe's stdout; None when the answer is missing or garbled.

    The session is untrusted: only strings that are identifiers (no control
    characters, no markup) of a bounded length, and at most ``MAX_NAMES``
    of them, are kept."""
    for line in stdout.split("\n"):  # not splitlines(): it splits at \x1e too
        idx = line.find(PROBE_MARKER)
        if idx < 0:
            continue
        try:
            names = json.loads(line[idx + len(PROBE_MARKER) :])
        except ValueError:
            return None
        if not isinstance(names, list):
            return None
        kept: dict[str, None] = {}
        ident = patterns().ident
        for name in names:
            if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and ident.fullmatch(name):
                kept.setdefault(name, None)
                if len(kept) >= MAX_NAMES:
                    break
        return list(kept)
    return None


# --------------------------------------------------------------------------- per engine


@dataclass(slots=True)
class _CacheEntry:
    names: list[str]
    at: float
    execution_count: int


class Completer:
    """Completion for one engine: the property cache and the probes in flight.

    ``engine.completer`` is one; the front ends call :meth:`complete` on Tab
    (``remote=True``: may probe the session) and :meth:`complete_locally` or
    :meth:`refine` while the user types (never the network).
    """

    def __init__(self, engine: ReplEngine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.timeout: float = DEFAULT_REMOTE_TIMEOUT  # how long complete() waits for a probe
        self._clock = clock
        self._cache: dict[tuple[str, str], _CacheEntry] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[list[str] | None]] = {}

    # ------------------------------------------------------------------ cache
    def cached_properties(self, expr: str) -> list[str] | None:
        key = (self.engine.identifier, expr)
        entry = self._cache.get(key)
        if entry is None:
            return None
        if self._clock() - entry.at > PROPERTY_CACHE_TTL or entry.execution_count != self.engine.execution_count:
            del self._cache[key]
            return None
        return entry.names

    def forget(self) -> None:
        """Drop every cached answer."""
        self._cache.clear()

    def _store(self, key: tuple[str, str], names: list[str], execution_count: int) -> None:
        self._cache.pop(key, None)
        self._cache[key] = _CacheEntry(names, self._clock(), execution_count)
        while len(self._cache) > PROPERTY_CACHE_SIZE:
            del self._cache[next(iter(self._cache))]  # the oldest

    # ------------------------------------------------------------------ probe
    async def _probe(self, key: tuple[str, str], expr: str) -> list[str] | None:
        count = self.engine.execution_count
        try:
            execution = await self.engine.execute_hidden(property_probe_code(expr), timeout=PROBE_TIMEOUT)
        except Exception:  # noqa: BLE001 - an ApiError or a bad answer: no remote candidates
            return None
        if execution is None:
            return None  # a run holds the session: never wait behind it
        names = parse_probe_answer(execution.stdout or "")
        if names is not None and key[0] == self.engine.identifier:
            self._store(key, names, count)
        return names

    def _settled(self, key: tuple[str, str], task: asyncio.Task[list[str] | None]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]
        if not task.cancelled():
            task.exception()  # retrieved: a late failure is not an unhandled error

    async def fetch_properties(self, expr: str, timeout: float | None = None) -> list[str] | None:
        """Property names of ``expr`` in the session, or None when not known in time.

        A probe still running when ``timeout`` expires keeps running in the
        background and fills the cache; the caller is not kept waiting. One
        probe per member chain at a time."""
        names = self.cached_properties(expr)
        if names is not None:
            return names
        key = (self.engine.identifier, expr)
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._probe(key, expr))
            self._pending[key] = task
            task.add_done_callback(functools.partial(self._settled, key))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.timeout if timeout is None else timeout)
        except TimeoutError:
            return None

    # ------------------------------------------------------------------ candidates
    def complete_locally(self, source: str, cursor: int, *, known: Completions | None = None) -> Completions:
        """Candidates without the network: dot-command words and local paths,
        or JavaScript names with the cached properties (or those of ``known``,
        an earlier answer for the same member chain)."""
        command = dot_command_completions(source, cursor, self.engine.cwd)
        if command is not None:
            return command
        ctx = completion_context(source, cursor)
        properties: Iterable[str] | None = None
        if ctx is not None and ctx.object_expr is not None:
            if known is not None and known.object_expr == ctx.object_expr and known.properties is not None:
                properties = known.properties
            else:
                properties = self.cached_properties(ctx.object_expr)
        return complete_locally(source, cursor, declared_names(self.engine), properties)

    async def complete(
        self, source: str, cursor: int, *, remote: bool = True, timeout: float | None = None
    ) -> Completions:
        """Completions at ``cursor``: the local candidates, plus the session's
        property names after a ``.`` when ``remote`` (an explicit Tab: the
        probe resets the cooldown) and they arrive within ``timeout`` seconds."""
        local = self.complete_locally(source, cursor)
        if local.context != "property" or local.properties is not None or not remote:
            return local
        assert local.object_expr is not None
        names = await self.fetch_properties(local.object_expr, timeout)
        if names is None:
            return local
        return complete_locally(source, cursor, (), names)

    def refine(self, previous: Completions, source: str, cursor: int) -> Completions:
        """``previous`` filtered for the text as it is now (the user typed on):
        local only, no probe. Empty when the cursor left the completed word
        (another word, another member chain, a ``.`` typed)."""
        now = self.complete_locally(source, cursor, known=previous)
        if now.start != previous.start or now.context != previous.context or now.object_expr != previous.object_expr:
            return Completions(cursor, [], "none")
        return now
