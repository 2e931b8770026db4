"""Top-level await: the pure transformation, then the same inputs run in a real
local pool (real HTTP, real Node kernels)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import pytest

from repl.js.await_rewrite import rewrite_top_level_await as rewrite

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node_script_errors(codes: list[str]) -> list[str | None]:
    """Compile each code as a *script* in one real Node process (what the kernel
    does with vm.runInThisContext); None for each that compiles, else the error."""
    program = (
        "const vm = require('vm'); const codes = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(codes.map(c => { try { new vm.Script(c); return null }"
        " catch (e) { return String(e) } })))"
    )
    out = subprocess.run([NODE, "-e", program], input=json.dumps(codes), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# --------------------------------------------------------------------------- unchanged

UNCHANGED = {
    "no await": "1 + 1",
    "empty": "",
    "await inside an async function": "async function f() { return await g() }",
    "await inside an async arrow": "const h = async () => { await g() }",
    "await inside a class method": "class A { async m() { await 1 } }",
    "await inside a class field initialiser": "class A { f = async () => await 1 }",
    "await inside a static block": "class A { static { (async () => await 1)() } }",
    "await inside a getter": "const o = { get g() { return (async () => await 1)() } }",
    "await inside an object method": "const o = { async m() { return await 1 } }",
    "for await inside a function": "async function f(xs) { for await (const x of xs) {} }",
    "await as an identifier (sloppy)": "var await = 1; await",
    "await as a destructured name": "var { await } = { await: 2 }",
    "bare await identifier": "await",
    "only in a string": "'await x'",
    "only in a template text": "`await ${x}`",
    "only in a comment": "x // await y\n/* await z */",
    "only in a regex": "/await/.test(s)",
    "property named await": "o.await",
    "syntax error": "await (",
    "syntax error after await": "await x; let = ;",
    "top-level return": "await 1; return 2",
    "hashbang line": "#!/usr/bin/env node\nawait 1",
}


@pytest.mark.parametrize("source", UNCHANGED.values(), ids=UNCHANGED.keys())
def test_inputs_without_top_level_await_are_sent_unchanged(source: str) -> None:
    assert rewrite(source) is None


# --------------------------------------------------------------------------- rewritten

REWRITTEN = {
    "plain await": ("await 1", []),
    "for await": ("for await (const v of gen()) console.log(v)", []),
    "template literal": ("`t${await f()}`", []),
    "nested block": ("if (x) { await y }", []),
    "nested block var": ("if (x) { var v = await y }", ["v"]),
    "destructuring": ("const {a, b: [c], ...d} = await f()", ["a", "c", "d"]),
    "array destructuring defaults": ("let [e = 1, , ...f] = await g()", ["e", "f"]),
    "several declarators": ("let x = await 1, y, z = 3", ["x", "y", "z"]),
    "function declaration": ("function fn() {}\nawait fn()", ["fn"]),
    "class declaration": ("class K {}\n[1].map(String)\nawait 0", ["K"]),
    "for var": ("for (var i = 0; i < 2; i++) await i", ["i"]),
    "for in var": ("for (var k in o) await k", ["k"]),
    "for of let is block scoped": ("for (let w of ws) await w", []),
    "block let is block scoped": ("{ let inner = await 1 }", []),
    "unicode": ("const café = await 'é'; café", ["café"]),
    "await in an argument": ("console.log(await 1)", []),
    "trailing comment": ("await 1 // done", []),
    "await in a class heritage": ("class Q extends (await base()) {}", ["Q"]),
    "await in a computed class member name": ("class R { [await key()]() { return 1 } }", ["R"]),
    "await in a computed object method name": ("({ [await key()]() {} })", []),
}


@pytest.mark.parametrize("case", REWRITTEN.values(), ids=REWRITTEN.keys())
def test_rewrite_hoists_declared_names(case: tuple[str, list[str]]) -> None:
    source, names = case
    out = rewrite(source)
    assert out is not None
    first = out.splitlines()[0]
    if names:
        assert first.startswith(f"var {', '.join(names)}; $$.async(); (async () => {{ ")
    else:
        assert first.startswith("$$.async(); (async () => { ")
    assert out.rstrip().endswith("(e) => { $$.sendError(e) });")
    # The user's lines stay on their line numbers (stack traces match the input).
    assert len(out.splitlines()) == len(source.splitlines()) + 1
    for original, sent in zip(source.splitlines()[1:], out.splitlines()[1:], strict=False):
        assert original.split()[0][:3] in sent


@needs_node
def test_every_rewrite_compiles_as_a_script_in_node() -> None:
    codes = [rewrite(source) for source, _ in REWRITTEN.values()]
    errors = node_script_errors(codes)
    assert errors == [None] * len(codes), dict(zip(REWRITTEN, errors, strict=False))
    # ...while the originals do not (no top-level await in scripts).
    originals = node_script_errors([source for source, _ in REWRITTEN.values()])
    assert all(e is not None and "SyntaxError" in e for e in originals), originals


def test_last_expression_value_is_returned_wrapped() -> None:
    out = rewrite("const x = await f();\nx + 1;;\n// end")
    assert "return { value: (x + 1) };;" in out
    assert "void (x = await f());" in out


def test_comments_around_the_last_expression() -> None:
    out = rewrite("await 1; /* c */ x /* d */ ;")
    assert "/* c */ return { value: (x) } /* d */ ;" in out


def test_last_statement_not_an_expression_returns_nothing() -> None:
    out = rewrite("await f(); if (x) { 1 }")
    assert "return" not in out


def test_class_declaration_becomes_a_terminated_assignment() -> None:
    out = rewrite("class K {}\n[1].map(String)\nawait 0")
    assert "K=class K {};\n[1].map(String)" in out


def test_function_declaration_is_published_globally() -> None:
    out = rewrite("await 0\nfunction fn() { return 1 }")
    assert "globalThis.fn = fn; function fn() { return 1 }" in out


def test_var_without_initialiser_keeps_the_existing_value() -> None:
    out = rewrite("var keep; await 0")
    assert "void (keep);" in out
    out = rewrite("let fresh; await 0")
    assert "void (fresh=undefined);" in out


def test_rewrite_result_goes_through_done_not_send_result() -> None:
    # $$.sendResult would await a Promise value a second time; $$.done shows it
    # as a synchronous completion value would be shown (Promise { 1 }).
    out = rewrite("await 0; Promise.resolve(1)")
    assert "$$.done(r ? r.value : undefined)" in out
    assert "sendResult" not in out


# --------------------------------------------------------------------------- local pool

TIMEOUT = 20


def run_inputs(local_pool, identifier: str, inputs: list[str], timeout: float = TIMEOUT):
    """Run inputs in order in one session, each rewritten as the engine does."""
    from repl.api.auth import StaticToken
    from repl.api.client import SessionsClient

    async def go():
        c = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), arm_base=local_pool.arm_base)
        try:
            results = []
            for code in inputs:
                sent = rewrite(code)
                code_sent = sent if sent is not None else code
                results.append(await c.execute(code_sent, identifier=identifier, timeout=timeout))
            return results
        finally:
            await c.aclose()

    return asyncio.run(go())


OK = "succeeded"
FAILED = "failed"

# name: [(input, expected status, expected value_text or None for "don't care",
#         text that must appear in stdout+stderr or "")]
SCENARIOS = {
    "value of the last expression": [
        ("await Promise.resolve(41) + 1", OK, "42", ""),
    ],
    "string value is util.inspect text": [
        ("await Promise.resolve('hi')", OK, "'hi'", ""),
    ],
    "object value": [
        ("({ a: await Promise.resolve(1), b: [2] })", OK, "{ a: 1, b: [ 2 ] }", ""),
    ],
    "undefined shows no value": [
        ("await 0; undefined", OK, "", ""),
        ("await 0; let nothing = 1", OK, "", ""),
    ],
    "a promise value is shown, not awaited again": [
        ("await 0; Promise.resolve(1)", OK, "Promise { 1 }", ""),
    ],
    "let persists and can be re-run": [
        ("let counter = await Promise.resolve(1)", OK, "", ""),
        ("counter + 1", OK, "2", ""),
        ("let counter = await Promise.resolve(5)", OK, "", ""),
        ("counter", OK, "5", ""),
    ],
    "const persists (and becomes reassignable)": [
        ("const answer = await Promise.resolve(42)", OK, "", ""),
        ("answer", OK, "42", ""),
        ("answer = 43; answer", OK, "43", ""),
    ],
    "a later synchronous let of the same name fails as in the kernel": [
        ("const taken = await 1", OK, "", ""),
        ("let taken = 2", FAILED, None, "already been declared"),
        ("taken", OK, "1", ""),
    ],
    "a synchronous let then an await declaration of the same name fails": [
        ("let early = 1", OK, "", ""),
        ("const early = await 2", FAILED, None, "already been declared"),
        ("early", OK, "1", ""),
    ],
    "var persists": [
        ("var v1 = await Promise.resolve('v')", OK, "", ""),
        ("v1 + globalThis.v1", OK, "'vv'", ""),
    ],
    "class persists": [
        ("class Point { constructor(x) { this.x = x } }\nawait 0", OK, "0", ""),
        ("new Point(3).x", OK, "3", ""),
    ],
    "function persists": [
        ("await 0\nfunction twice(n) { return 2 * n }", OK, "", ""),
        ("twice(21)", OK, "42", ""),
    ],
    "destructuring persists": [
        ("const {a, b: [c], ...rest} = await Promise.resolve({a: 1, b: [2], d: 4})", OK, "", ""),
        ("[a, c, rest.d]", OK, "[1, 2, 4]", ""),
    ],
    "for await": [
        ("for await (const v of (async function* () { yield 1; yield 2 })()) console.log('got', v)", OK, "",
         "got 1\ngot 2"),
    ],
    "await in a computed class member name": [
        ("class Keyed { [await Promise.resolve('dyn')]() { return 'called' } }\nnew Keyed().dyn()", OK,
         "'called'", ""),
    ],
    "await in a template literal": [
        ("`t${await Promise.resolve(3)}`", OK, "'t3'", ""),
    ],
    "await in a nested block, var escapes the block": [
        ("if (true) { var nested = await Promise.resolve(7) }", OK, "", ""),
        ("nested", OK, "7", ""),
    ],
    "await inside a function is not top level": [
        ("async function later() { return await Promise.resolve(8) }", OK, "", ""),
        ("await later()", OK, "8", ""),
    ],
    "await as an identifier in sloppy code": [
        ("var await = 1; await + 1", OK, "2", ""),
    ],
    "await only in strings and comments": [
        ("'await' // await it", OK, "'await'", ""),
    ],
    "syntax error is reported by the server": [
        ("await (", FAILED, None, "SyntaxError"),
    ],
    "rejected promise fails with name, message and stack": [
        ("await Promise.reject(new TypeError('boom'))", FAILED, None, "TypeError"),
    ],
    "throw after an await fails with name, message and stack": [
        ("await 0\nthrow new RangeError('late failure')", FAILED, None, "late failure"),
        ("1 + 1", OK, "2", ""),
    ],
    "a failed await declaration can be fixed and re-run": [
        ("const res = await Promise.reject(new Error('typo'))", FAILED, None, "typo"),
        ("typeof res", OK, "'undefined'", ""),
        ("const res = await Promise.resolve('fixed')", OK, "", ""),
        ("res", OK, "'fixed'", ""),
    ],
    "only the last expression statement gives the value": [
        ("await 0; if (true) { 1 }", OK, "", ""),
    ],
    "stack line numbers match the input": [
        ("await 0\n\nthrow new Error('line three')", FAILED, None, ":3:"),
    ],
    "console output after an await": [
        ("await 0; console.log('after'); console.error('err after')", OK, "", "after"),
    ],
}


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_rewritten_inputs_in_the_local_pool(local_pool, identifier: str, steps) -> None:
    results = run_inputs(local_pool, identifier, [s[0] for s in steps])
    for (code, status, value_text, text), ex in zip(steps, results, strict=False):
        output = ex.stdout + ex.stderr
        assert ex.status.value == status, (code, ex)
        if value_text is not None:
            assert ex.value_text == value_text, (code, ex)
        if text:
            assert text in output, (code, ex)


def test_error_after_await_carries_name_message_and_stack(local_pool, identifier: str) -> None:
    (ex,) = run_inputs(local_pool, identifier, ["await 0\nnull.boom"])
    assert ex.status.value == FAILED
    assert "TypeError" in ex.stderr
    assert "Cannot read properties of null" in ex.stderr
    assert "    at " in ex.stderr  # the stack


def test_never_settling_await_ends_at_the_execution_timeout(local_pool, identifier: str) -> None:
    import time

    t0 = time.monotonic()
    (ex,) = run_inputs(local_pool, identifier, ["await new Promise(() => {})"], timeout=2)
    elapsed = time.monotonic() - t0
    assert ex.status.value in ("timed_out", "failed"), ex
    assert "timed out" in (ex.stderr + ex.stdout).lower() or ex.status.value == "timed_out", ex
    assert 1.5 <= elapsed < 10, elapsed


async def test_engine_sends_the_rewrite_and_keeps_what_was_typed(local_pool, tmp_path) -> None:
    from repl.api.auth import StaticToken
    from repl.api.client import SessionsClient
    from repl.connection import Connection
    from repl.engine import ReplEngine
    from repl.history import History

    client = SessionsClient(local_pool.endpoint, StaticToken(local_pool.token), arm_base=local_pool.arm_base)
    conn = Connection(client=client, kind="local", endpoint=local_pool.endpoint, label="test pool")
    history = History(tmp_path / "history.jsonl")
    engine = ReplEngine(conn, history=history, timeout=20)
    try:
        typed = "const fromEngine = await Promise.resolve(20)\nfromEngine + 1"
        cell = await engine.run(typed)
        assert cell.ok, cell
        assert cell.execution.value_text == "21"
        assert cell.code == typed
        assert cell.sent_code == rewrite(typed) and cell.rewritten
        assert "$$.async()" not in history.path.read_text()
        plain = await engine.run("fromEngine")
        assert plain.sent_code == "fromEngine" and not plain.rewritten
        assert plain.execution.value_text == "20"
    finally:
        await client.aclose()
