"""Completion core: the pure parts, then against a real local pool over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from repl.js import completion as core
from repl.js.completion import (
    Completions,
    complete_locally,
    completion_context,
    declared_names_in,
    dot_command_completions,
    parse_probe_answer,
)

# --------------------------------------------------------------------------- context

CONTEXTS = {
    "word": ("Ma", (0, "Ma", None)),
    "after a dot": ("Math.", (5, "", "Math")),
    "after a dot with a prefix": ("x = Math.fl", (9, "fl", "Math")),
    "member chain": ("a.b.c.d", (6, "d", "a.b.c")),
    "optional chain": ("obj?.inner?.", (12, "", "obj?.inner")),
    "spaces around dots": ("a . b . c", (8, "c", "a.b")),
    "spread": ("[...arr.", (8, "", "arr")),
    "after new": ("new Foo.", (8, "", "Foo")),
    "after return": ("return obj.", (11, "", "obj")),
    "inside a template substitution": ("`x ${Math.", (10, "", "Math")),
    "after a finished string": ("'a' + Ma", (6, "Ma", None)),
    "after a finished comment": ("/* x */ Ma", (8, "Ma", None)),
    "after a division": ("a / Ma", (4, "Ma", None)),
    "unicode name": ("café.", (5, "", "café")),
    "after a regex literal": ("/ab+c/.test(s) && Ma", (18, "Ma", None)),
    "after a division by a name": ("x = a / b; Ma", (11, "Ma", None)),
    "after a division by a call": ("f(x) / Ma", (7, "Ma", None)),
    "after a division by a number": ("10 / re", (5, "re", None)),
    "after a property named like a keyword": ("a.return / re", (11, "re", None)),
    "after a string with escapes": ("'it\\'s' + Ma", (10, "Ma", None)),
    "in a nested template substitution": ("`a ${`b ${Math.", (15, "", "Math")),
    "after a closed template": ("`a ${1}` + Ma", (11, "Ma", None)),
    "object literal in a substitution": ("`${ {a: 1}.a } ${Ma", (17, "Ma", None)),
    "on the line after a name": ("let x = 1\nMath.", (15, "", "Math")),
    "after a line comment": ("// note\nMath.", (13, "", "Math")),
    "after an unterminated string on an earlier line": ("'oops\nMa", (6, "Ma", None)),
}


@pytest.mark.parametrize("case", CONTEXTS.values(), ids=CONTEXTS.keys())
def test_completion_context(case) -> None:
    source, (start, prefix, expr) = case
    ctx = completion_context(source, len(source))
    assert ctx is not None
    assert (ctx.start, ctx.prefix, ctx.object_expr) == (start, prefix, expr)


NO_COMPLETION = {
    "call on the left": "f().x",
    "index on the left": "a[0].b",
    "call inside the chain": "a.f().b.",
    "number": "1.5",
    "number member": "1..toFi",
    "in a string": "'Math.",
    "in a double-quoted string": 'x = "Ma',
    "in template text": "`Math.",
    "in a line comment": "// Math.",
    "in a block comment": "/* Math.",
    "in a regex": "x = /Math.",
    "in a regex after a brace": "if (a) {} /ret",
    "in a regex after a keyword": "return /ret",
    "in a regex at the start": "/ret",
    "in a regex class": "x = /[a-z",
    "in a string with an escaped quote": "'it\\'s Ma",
    "in template text after a substitution": "`${a} Ma",
    "in a nested template's text": "`a ${`b Ma",
    "in a block comment over lines": "/* one\n two Ma",
    "hex number": "0x1f.",
    "exponent": "1e5.to",
    "private field": "this.#secret.",
}


@pytest.mark.parametrize("source", NO_COMPLETION.values(), ids=NO_COMPLETION.keys())
def test_no_completion_where_it_would_need_evaluation_or_is_text(source: str) -> None:
    assert completion_context(source, len(source)) is None
    assert complete_locally(source, len(source)).items == []


def test_cursor_in_the_middle() -> None:
    source = "Math.fl + 1"
    ctx = completion_context(source, 7)
    assert (ctx.start, ctx.prefix, ctx.object_expr) == (5, "fl", "Math")


# --------------------------------------------------------------------------- declared names

DECLARATIONS = {
    "let const var": ("let a = 1, b; const c = 2; var d", ["a", "b", "c", "d"]),
    "destructuring": ("const {e, f: [g], ...h} = o; let [i = 1, , ...j] = p", ["e", "g", "h", "i", "j"]),
    "functions and classes": ("function k() { var inner } class L {} function* m() {}", ["k", "L", "m"]),
    "var in blocks escapes, let does not": ("if (x) { var n; let hidden } for (var q in o) {}", ["n", "q"]),
    "implicit global assignment": ("r = 1; s.t = 2", ["r"]),
    "nothing inside functions": ("(() => { var u })(); function v() { w = 1 }", ["v"]),
    "top-level await input": ("const z = await f()", ["z"]),
}


@pytest.mark.parametrize("case", DECLARATIONS.values(), ids=DECLARATIONS.keys())
def test_declared_names_in(case) -> None:
    code, names = case
    assert list(declared_names_in(code)) == names


def test_local_candidates_rank_declared_then_globals_then_keywords() -> None:
    result = complete_locally("re", 2, declared=["result", "rest"])
    assert result.start == 0
    texts = result.texts
    assert texts[:2] == ["rest", "result"]
    assert [c.kind for c in result.items[:2]] == ["declared", "declared"]
    assert "require" in texts and "return" in texts
    assert texts.index("require") < texts.index("return")  # global before keyword
    assert {c.kind for c in result.items if c.text == "return"} == {"keyword"}


def test_no_candidates_on_blank_space_so_tab_can_indent() -> None:
    assert complete_locally("", 0).items == []
    assert complete_locally("if (x) {\n  ", 12).items == []
    assert complete_locally("a + ", 4).items == []
    assert {"btoa", "break", "Boolean"} - set(complete_locally("a + B", 5).texts) == {"btoa", "break"}
    assert {"btoa", "break"} <= set(complete_locally("a + b", 5).texts)


def test_local_candidates_include_names_declared_in_the_input_itself() -> None:
    source = "const total = 1;\ntot"
    result = complete_locally(source, len(source))
    assert result.items[0] == core.Completion("total", "declared")


def test_properties_are_filtered_by_prefix_and_hide_dunders() -> None:
    props = ["floor", "fround", "__proto__", "abs"]
    assert complete_locally("Math.f", 6, properties=props).texts == ["floor", "fround"]
    assert complete_locally("Math.", 5, properties=props).texts == ["abs", "floor", "fround"]
    assert complete_locally("Math._", 6, properties=props).texts == ["__proto__"]
    # after a dot there are no keywords or globals
    assert complete_locally("Math.", 5).items == []


def test_probe_code_refuses_anything_but_a_member_chain() -> None:
    # only the first name is evaluated; the rest is walked by descriptors
    assert core.property_probe_code("a.b?.c").endswith('(() => (a), ["a", "b", "c"], false)')
    assert core.property_probe_code("process.env").endswith('(() => (process), ["process", "env"], true)')
    for bad in ["f()", "a[0]", "a.b; process.exit()", "a + b", ""]:
        with pytest.raises(ValueError):
            core.property_probe_code(bad)


def test_regex_literal_is_never_completed_as_code() -> None:
    # The case: `return` offered inside `/ret/`.
    source = "x = /ret"
    assert "return" not in complete_locally(source, len(source)).texts
    # a division by `ret` is code
    source = "x = y /ret"
    assert "return" in complete_locally(source, len(source)).texts


def test_probe_answer_from_the_session_is_untrusted() -> None:
    marker = core.PROBE_MARKER
    junk = ["ok", 3, None, {"a": 1}, "\x1b[2Jclear", "bad name", "x" * 5000, "ok", "café", "$fine"]
    stdout = "noise\n" + marker + json.dumps(junk) + "\n"
    assert parse_probe_answer(stdout) == ["ok", "café", "$fine"]
    assert parse_probe_answer(marker + json.dumps([f"n{i}" for i in range(100_000)])) == [
        f"n{i}" for i in range(core.MAX_NAMES)
    ]
    assert parse_probe_answer(marker + "{not json") is None
    assert parse_probe_answer(marker + '{"a": 1}') is None
    assert parse_probe_answer("no marker at all") is None


# --------------------------------------------------------------------------- dot-commands


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "demo.js").write_text("1")
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "inner.js").write_text("2")
    (tmp_path / "my file.js").write_text("3")
    (tmp_path / ".hidden.js").write_text("4")
    (tmp_path / "notes.md").write_text("5")
    return tmp_path


def paths(source: str, cwd: Path, cursor: int | None = None) -> Completions:
    result = dot_command_completions(source, len(source) if cursor is None else cursor, cwd)
    assert result is not None
    return result


def test_load_completes_local_paths_not_javascript(tree: Path) -> None:
    result = paths(".load de", tree)
    assert result.start == 6
    assert [(c.text, c.kind, c.label) for c in result.items] == [
        ("demo.js", "file", "demo.js"),
        ("dev/", "directory", "dev/"),
    ]
    assert result.context == "path"
    assert paths(".load dev/", tree).texts == ["dev/inner.js"]
    assert paths(".load dev/in", tree).texts == ["dev/inner.js"]
    # hidden files only when asked for
    assert ".hidden.js" not in paths(".load ", tree).texts
    assert paths(".load .h", tree).texts == [".hidden.js"]
    # a name that is a JavaScript global gets no JavaScript candidates
    assert paths(".load Ma", tree).items == []


def test_paths_with_spaces_are_quoted_as_the_parser_reads_them(tree: Path) -> None:
    from repl.dotcommands import parse

    assert paths(".load my", tree).texts == ['"my file.js"']
    assert paths('.load "my f', tree).texts == ['"my file.js"']
    assert paths(".load 'my f", tree).texts == ["'my file.js'"]
    assert paths(".load my\\ f", tree).texts == ['"my file.js"']
    (tree / "a dir").mkdir()
    assert paths(".load a", tree).texts == ['"a dir/']  # left open: the path goes on
    command = parse('.load "my file.js"')
    assert command is not None and command.args == ("my file.js",)


@pytest.mark.parametrize("name", ["it's.js", 'say "hi".js', "back\\slash.js", "tab\there.js", "plain.js"])
def test_every_completed_path_reads_back_as_the_file(tree: Path, name: str) -> None:
    from repl.dotcommands import parse

    (tree / name).write_text("x")
    for typed in (name[:2], '"' + name[:2], "'" + name[:2]):
        texts = [t for t in paths(f".load {typed}", tree).texts if "dev" not in t and "demo" not in t]
        assert len(texts) == 1, (typed, texts)
        command = parse(".load " + texts[0])
        assert command is not None and command.args == (name,), (typed, texts[0])


def test_tilde_and_absolute_paths(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tree))
    assert paths(".upload ~", tree).texts == ["~/"]
    assert paths(".upload ~/de", tree / "dev").texts == ["~/demo.js", "~/dev/"]
    absolute = str(tree) + "/no"
    assert paths(f".save {absolute}", Path("/")).texts == [absolute + "tes.md"]


def test_which_arguments_complete_paths(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths(".download notes.md de", tree).texts == ["demo.js", "dev/"]  # DEST
    assert paths(".download de", tree).items == []  # NAME is a file in the session
    assert paths(".export no", tree).texts == ["notes.md"]
    assert paths(".save de", tree).texts == ["demo.js", "dev/"]
    assert paths(".session de", tree).items == []
    assert paths(".load demo.js de", tree).items == []  # no second argument
    # the cursor in the first argument of a longer line
    assert paths(".download notes.md de", tree, cursor=12).items == []
    # the process's working directory when the engine has none
    monkeypatch.chdir(tree)
    result = dot_command_completions(".load de", 8, None)
    assert result is not None and result.texts == ["demo.js", "dev/"]


def test_command_names_complete(tree: Path) -> None:
    result = paths(".lo", tree)
    assert result.start == 1 and result.texts == ["load"] and result.items[0].label == ".load FILE"
    assert set(paths(".", tree).texts) >= {"help", "load", "save", "exit"}
    assert paths(".e", tree).texts == ["export", "editor", "exit"]  # in the order of .help
    # JavaScript that starts with a dot is not a command
    assert dot_command_completions(".5 + Ma", 7, tree) is None
    assert dot_command_completions(".foo(Ma", 7, tree) is None
    assert dot_command_completions("x\n.load de", 10, tree) is None
    assert dot_command_completions("Ma", 2, tree) is None


def test_a_missing_directory_offers_nothing(tree: Path) -> None:
    assert paths(".load nowhere/x", tree).items == []
    assert paths(".load demo.js/x", tree).items == []


# --------------------------------------------------------------------------- local pool


async def test_math_properties_come_from_the_session(engine) -> None:
    assert not engine.cooldown.started
    result = await engine.completer.complete("Math.", 5, timeout=10)
    texts = result.texts
    assert result.start == 5
    for name in ("floor", "max", "PI", "random", "hasOwnProperty"):  # own and inherited
        assert name in texts
    assert all(c.kind == "property" for c in result.items)
    assert engine.cooldown.started  # the probe named the identifier: it resets the cooldown
    # the probe does not appear in the transcript or history
    assert len(engine.transcript) == 0
    result = await engine.completer.complete("Math.fl", 7, timeout=10)
    assert result.texts == ["floor"]


async def test_the_cache_belongs_to_the_engine(engine, local_pool, tmp_path: Path) -> None:
    from repl.api.auth import StaticToken
    from repl.api.client import SessionsClient
    from repl.connection import Connection
    from repl.engine import ReplEngine
    from repl.history import History

    cell = await engine.run("const perEngine = { one: 1 }")
    assert cell.ok, cell
    assert (await engine.completer.complete("perEngine.o", 11, timeout=10)).texts == ["one"]
    assert engine.completer.cached_properties("perEngine") is not None
    client = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), arm_base=local_pool.arm_base)
    other = ReplEngine(
        Connection(client=client, kind="local", endpoint=local_pool.endpoint, label="other"),
        history=History(tmp_path / "other.jsonl"),
        identifier=engine.identifier,
    )
    try:
        assert other.completer is not engine.completer
        assert other.completer.cached_properties("perEngine") is None
    finally:
        await client.aclose()
    # a run invalidates the cache: the object may have changed
    cell = await engine.run("perEngine.two = 2")
    assert cell.ok, cell
    assert engine.completer.cached_properties("perEngine") is None
    assert (await engine.completer.complete("perEngine.tw", 12, timeout=10)).texts == ["two"]


async def test_declared_object_properties_and_names(engine) -> None:
    cell = await engine.run("const inventory = { apples: 3, apricots: 1, bananas: 2 }")
    assert cell.ok, cell
    result = await engine.completer.complete("inventory.ap", 12, timeout=10)
    assert result.texts == ["apples", "apricots"]
    # a prototype method is offered too
    result = await engine.completer.complete("inventory.toStr", 15, timeout=10)
    assert result.texts == ["toString"]
    # declared names, learned from the submitted input
    result = await engine.completer.complete("inv", 3, remote=False)
    assert result.items[0] == core.Completion("inventory", "declared")
    # a nested member chain, declared by an await input
    cell = await engine.run("const deep = await Promise.resolve({ inner: { zeta: 1, zed: 2 } })")
    assert cell.ok, cell
    result = await engine.completer.complete("deep.inner.z", 12, timeout=10)
    assert result.texts == ["zed", "zeta"]


@pytest.mark.parametrize("name", ["o", "p", "k", "names", "seen", "get", "e", "find", "path", "STOP", "util"])
async def test_properties_of_a_name_the_probe_also_uses(engine, name: str) -> None:
    # The probe's own variables must never shadow the user's.
    cell = await engine.run(f"const {name} = {{ alpha: 1, beta: 2 }}")
    assert cell.ok, cell
    result = await engine.completer.complete(f"{name}.", len(name) + 1, timeout=10)
    assert {"alpha", "beta"} <= set(result.texts)


async def test_no_getter_of_the_session_runs(engine) -> None:
    cell = await engine.run(
        "globalThis.hits = 0; const o = { get g() { hits++; return { inner: 1 } }, plain: { leaf: 1 } };"
        "Object.defineProperty(globalThis, 'lazy', { get() { hits++; return { x: 1 } }, configurable: true })"
    )
    assert cell.ok, cell
    result = await engine.completer.complete("o.", 2, timeout=10)
    assert {"g", "plain"} <= set(result.texts)
    # a getter in the chain stops the walk: nothing offered, nothing run
    assert (await engine.completer.complete("o.g.", 4, timeout=10)).items == []
    assert (await engine.completer.complete("lazy.", 5, timeout=10)).items == []
    # data properties are followed
    assert "leaf" in (await engine.completer.complete("o.plain.", 8, timeout=10)).texts
    cell = await engine.run("hits")
    assert cell.ok and cell.execution.value_text == "0", cell


async def test_no_proxy_trap_of_the_session_runs(engine) -> None:
    cell = await engine.run(
        "globalThis.traps = 0; const handler = {"
        " ownKeys(t) { traps++; return Reflect.ownKeys(t) },"
        " getPrototypeOf(t) { traps++; return Reflect.getPrototypeOf(t) },"
        " getOwnPropertyDescriptor(t, k) { traps++; return Reflect.getOwnPropertyDescriptor(t, k) },"
        " get(t, k) { traps++; return Reflect.get(t, k) }, has(t, k) { traps++; return Reflect.has(t, k) } };"
        "const px = new Proxy({ secret: 1 }, handler);"
        "const child = Object.create(px); child.mine = 1;"
        "const holder = { px };"
    )
    assert cell.ok, cell
    assert (await engine.completer.complete("px.", 3, timeout=10)).items == []
    assert (await engine.completer.complete("holder.px.", 10, timeout=10)).items == []
    # an object whose prototype is a Proxy still offers its own names
    assert (await engine.completer.complete("child.", 6, timeout=10)).texts == ["mine"]
    cell = await engine.run("traps")
    assert cell.ok and cell.execution.value_text == "0", cell


async def test_node_lazy_globals_complete(engine) -> None:
    result = await engine.completer.complete("process.ver", 11, timeout=10)
    assert result.texts == ["version", "versions"]
    result = await engine.completer.complete("Buffer.fr", 9, timeout=10)
    assert result.texts == ["from"]


async def test_unknown_name_gives_no_properties(engine) -> None:
    result = await engine.completer.complete("noSuchThing.", 12, timeout=10)
    assert result.items == []


async def test_no_remote_request_without_an_explicit_tab(engine) -> None:
    result = await engine.completer.complete("Math.", 5, remote=False)
    assert result.items == []
    assert not engine.cooldown.started  # nothing was sent


async def test_calls_are_never_sent(engine) -> None:
    cell = await engine.run("globalThis.calls = 0; function f() { calls++; return Math }")
    assert cell.ok
    result = await engine.completer.complete("f().", 4, timeout=10)
    assert result.items == []
    cell = await engine.run("calls")
    assert cell.execution.value_text == "0"


async def test_a_busy_session_gets_local_candidates_and_no_probe(engine) -> None:
    cell = await engine.run("const slowObject = { needle: 1 }")
    assert cell.ok
    # A run that holds the session until the test uploads /mnt/data/go.
    busy = asyncio.create_task(
        engine.run(
            "const fs = require('fs'); const t0 = Date.now();"
            " while (!fs.existsSync('/mnt/data/go') && Date.now() - t0 < 20000) {}"
        )
    )
    while not engine.busy:
        await asyncio.sleep(0)
    result = await engine.completer.complete("slowObject.nee", 14, timeout=10)
    assert result.items == []  # the probe was not sent: local candidates only
    assert engine.completer.cached_properties("slowObject") is None
    # declared names are still offered while the session is busy
    result = await engine.completer.complete("slowO", 5, timeout=10)
    assert result.texts == ["slowObject"]
    assert not busy.done()
    go = Path(os.environ.get("TMPDIR", "/tmp")) / f"go-{engine.identifier}"
    go.write_text("")
    try:
        await engine.client.upload(engine.identifier, go, name="go")
    finally:
        go.unlink()
    assert (await busy).ok
    result = await engine.completer.complete("slowObject.nee", 14, timeout=10)
    assert result.texts == ["needle"]


async def test_refine_filters_without_the_network(engine) -> None:
    cell = await engine.run("const shelf = { apple: 1, apricot: 2, banana: 3 }")
    assert cell.ok
    first = await engine.completer.complete("shelf.a", 7, timeout=10)
    assert first.texts == ["apple", "apricot"]
    engine.completer.forget()  # from here on only the earlier answer is known
    assert engine.completer.refine(first, "shelf.app", 9).texts == ["apple"]
    assert {"apple", "apricot", "banana"} <= set(engine.completer.refine(first, "shelf.", 6).texts)
    assert engine.completer.refine(first, "shelf.x", 7).items == []
    # leaving the word ends it
    assert engine.completer.refine(first, "shelf.apple.", 12).items == []
    assert engine.completer.refine(first, "shelf.apple(", 12).items == []
    # the code context refines too, locally
    names = await engine.completer.complete("sh", 2)
    assert engine.completer.refine(names, "she", 3).texts == ["shelf"]
    assert engine.completer.refine(names, "", 0).items == []


async def test_dot_commands_through_the_engine_use_its_cwd(engine, tmp_path: Path) -> None:
    (tmp_path / "script.js").write_text("1")
    engine.cwd = tmp_path
    result = await engine.completer.complete(".load sc", 8)
    assert result.texts == ["script.js"]
    assert not engine.cooldown.started  # local paths ask nothing of the session
