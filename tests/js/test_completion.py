"""Completion core: the pure parts, then against a real local pool over HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest

from repl.js import completion as core
from repl.js.completion import complete, complete_locally, completion_context, declared_names_in

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
    assert "(a.b?.c)" in core.property_probe_code("a.b?.c")
    for bad in ["f()", "a[0]", "a.b; process.exit()", "a + b", ""]:
        with pytest.raises(ValueError):
            core.property_probe_code(bad)


# --------------------------------------------------------------------------- local pool


async def test_math_properties_come_from_the_session(engine) -> None:
    assert not engine.cooldown.started
    result = await complete(engine, "Math.", 5, timeout=10)
    texts = result.texts
    assert result.start == 5
    for name in ("floor", "max", "PI", "random", "hasOwnProperty"):  # own and inherited
        assert name in texts
    assert all(c.kind == "property" for c in result.items)
    assert engine.cooldown.started  # the probe named the identifier
    # the probe does not appear in the transcript or history
    assert len(engine.transcript) == 0
    result = await complete(engine, "Math.fl", 7, timeout=10)
    assert result.texts == ["floor"]


async def test_declared_object_properties_and_names(engine) -> None:
    cell = await engine.run("const inventory = { apples: 3, apricots: 1, bananas: 2 }")
    assert cell.ok, cell
    result = await complete(engine, "inventory.ap", 12, timeout=10)
    assert result.texts == ["apples", "apricots"]
    # a prototype method is offered too
    result = await complete(engine, "inventory.toStr", 15, timeout=10)
    assert result.texts == ["toString"]
    # declared names, learned from the submitted input
    result = await complete(engine, "inv", 3, remote=False)
    assert result.items[0] == core.Completion("inventory", "declared")
    # a nested member chain, declared by an await input
    cell = await engine.run("const deep = await Promise.resolve({ inner: { zeta: 1, zed: 2 } })")
    assert cell.ok, cell
    result = await complete(engine, "deep.inner.z", 12, timeout=10)
    assert result.texts == ["zed", "zeta"]


@pytest.mark.parametrize("name", ["o", "p", "k", "names", "seen", "get", "e"])
async def test_properties_of_a_name_the_probe_also_uses(engine, name: str) -> None:
    # The probe's own variables must never shadow the user's.
    cell = await engine.run(f"const {name} = {{ alpha: 1, beta: 2 }}")
    assert cell.ok, cell
    result = await complete(engine, f"{name}.", len(name) + 1, timeout=10)
    assert {"alpha", "beta"} <= set(result.texts)


async def test_unknown_name_gives_no_properties(engine) -> None:
    result = await complete(engine, "noSuchThing.", 12, timeout=10)
    assert result.items == []


async def test_no_remote_request_without_an_explicit_tab(engine) -> None:
    result = await complete(engine, "Math.", 5, remote=False)
    assert result.items == []
    assert not engine.cooldown.started  # nothing was sent


async def test_calls_are_never_sent(engine) -> None:
    cell = await engine.run("globalThis.calls = 0; function f() { calls++; return Math }")
    assert cell.ok
    result = await complete(engine, "f().", 4, timeout=10)
    assert result.items == []
    cell = await engine.run("calls")
    assert cell.execution.value_text == "0"


async def test_slow_request_is_dropped_within_the_bound(engine) -> None:
    cell = await engine.run("const slowObject = { needle: 1 }")
    assert cell.ok
    # Keep the session busy so the probe queues behind a running execution.
    busy = asyncio.create_task(engine.run("const until = Date.now() + 1500; while (Date.now() < until) {}"))
    await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    result = await complete(engine, "slowObject.nee", 14, timeout=0.2)
    elapsed = time.perf_counter() - t0
    assert result.items == []  # dropped: local candidates only (none after a dot)
    assert elapsed < 0.6, elapsed
    # declared names are still offered at once while the session is busy
    t0 = time.perf_counter()
    result = await complete(engine, "slowO", 5, timeout=0.2)
    assert result.texts == ["slowObject"]
    assert time.perf_counter() - t0 < 0.5
    await busy
    # the late answer filled the cache: the next Tab needs no round trip
    for _ in range(50):
        if core.cached_properties(engine, "slowObject") is not None:
            break
        await asyncio.sleep(0.1)
    result = await complete(engine, "slowObject.nee", 14, remote=False)
    assert result.texts == ["needle"]
