"""Attack: a session exhausts the server's memory or CPU while no execution runs.

Each defence is checked from session JavaScript against a real pool: a timer
growing memory fast (the watchdog samples idle kernels every 50 ms), junk in
the results pipe (bounded buffer, kernel stopped), a timer spinning the CPU
(an idle allowance, then the kernel is stopped), and big kept execution
records (capped in characters per session).
"""

from __future__ import annotations

import pytest

from repl.local import pool as pool_module
from tests.local.sandbox_support import V, healthy, kernel_pid, new_id, run, sandboxed_pool


def _wait_dead(pool, identifier: str) -> None:
    kernel = pool.pool.get(identifier).kernel
    pool.run(kernel.wait(), timeout=60)


def test_an_idle_timer_growing_1_gib_per_second_is_stopped() -> None:
    with sandboxed_pool(memory_mb=64) as (pool, c):
        victim, attacker = new_id(), new_id()
        healthy(c, victim)
        grow = "globalThis.hog = []; setInterval(() => hog.push(Buffer.alloc(64 << 20, 1)), 50); 'armed'"
        res = run(c, attacker, grow)
        assert res["executionResult"] == "'armed'"
        _wait_dead(pool, attacker)  # no execution runs: the watchdog stops it
        res = run(c, attacker, "typeof hog")
        assert "MiB of memory" in res["stderr"] and "state was lost" in res["stderr"], res
        assert res["executionResult"] == "'undefined'"  # a fresh kernel ran it
        healthy(c, victim)


def test_junk_in_the_results_pipe_stops_only_that_kernel() -> None:
    with sandboxed_pool(output_cap=1000) as (pool, c):
        victim, attacker = new_id(), new_id()
        healthy(c, victim)
        # the results pipe's number is in the harness's command line; no newline ever
        flood = ("const argv = fs.readFileSync('/proc/self/cmdline', 'utf8').split('\\0');"
                 "const fd = +argv[argv.findIndex((a) => a.endsWith('harness.js')) + 2];"
                 "const junk = Buffer.alloc(1 << 20, 120);"
                 "for (let i = 0; i < 16; i++) fs.writeSync(fd, junk);"
                 "'flooded'")
        res = run(c, attacker, flood)
        assert res["status"] == "Failed" and "results pipe" in res["stderr"], res
        healthy(c, victim)
        healthy(c)


_RESULTS_FD = ("const argv = fs.readFileSync('/proc/self/cmdline', 'utf8').split('\\0');"
               "const fd = +argv[argv.findIndex((a) => a.endsWith('harness.js')) + 2];")


@pytest.mark.parametrize(
    "raw",
    [
        '[["stdout", 1e12]]',  # more raw text than any result can hold: never allocated
        '[["stdout", 3], ["stdout", 3]]',
        '[["argv", 3]]',
        '[["stdout", -1]]',
        '"stdout"',
    ],
    ids=["too-long", "field-twice", "unknown-field", "negative", "not-a-list"],
)
def test_a_result_announcing_impossible_raw_texts_stops_only_that_kernel(raw: str) -> None:
    # Results may be followed by raw UTF-8 texts; a line that announces what no
    # result can have leaves the pipe's framing lost: the kernel is stopped.
    with sandboxed_pool() as (pool, c):
        victim, attacker = new_id(), new_id()
        healthy(c, victim)
        forge = _RESULTS_FD + f"fs.writeSync(fd, JSON.stringify({{ev: 'done', id: 'forged', raw: {raw}}}) + '\\n'); 1"
        res = run(c, attacker, forge)
        assert res["status"] == "Failed" and "malformed result into its results pipe" in res["stderr"], res
        res = run(c, attacker, "2")
        assert res["executionResult"] == 2  # a fresh kernel
        healthy(c, victim)


def test_no_line_after_a_lost_framing_is_believed_though_read_in_the_same_chunk() -> None:
    # One write (one read on the other side): a line that loses the framing, then
    # a well-formed result for the running execution (the first of a fresh
    # kernel: id 1). The second line was parsed and believed when both came in
    # one read; seen only under a fast kernel, where they often do.
    with sandboxed_pool() as (pool, c):
        attacker = new_id()
        forged = "JSON.stringify({ev: 'done', id: 'forged', raw: 'stdout'}) + '\\n' + " \
                 "JSON.stringify({ev: 'done', id: 1, status: 'ok', stdout: '', stderr: '', value: \"'owned'\"," \
                 " error: '', ms: 1}) + '\\n'"
        res = run(c, attacker, _RESULTS_FD + f"fs.writeSync(fd, {forged}); while (true) {{}}")
        assert res["status"] == "Failed" and "malformed result into its results pipe" in res["stderr"], res
        assert res["executionResult"] != "'owned'"
        healthy(c)


def test_a_forged_result_with_raw_texts_is_read_whole_and_ignored() -> None:
    # Its texts hold a newline and what looks like a result line: read as texts
    # (by their announced length), they never desynchronise the pipe.
    with sandboxed_pool() as (pool, c):
        ident = new_id()
        inner = '\\n{"ev":"done","id":"x","status":"ok","stdout":"fake"}\\n'
        forge = (_RESULTS_FD + f"const t = Buffer.from('ab{inner}cd');"
                 "fs.writeSync(fd, JSON.stringify({ev: 'done', id: 'forged', raw: [['stdout', t.length]]}) + '\\n');"
                 "fs.writeSync(fd, t); globalThis.kept = 41; 'real'")
        res = run(c, ident, forge)
        assert res["status"] == "Succeeded" and res["executionResult"] == "'real'", res
        assert run(c, ident, "kept + 1")["executionResult"] == 42


def test_an_idle_kernel_spinning_in_a_timer_is_stopped() -> None:
    with sandboxed_pool(idle_cpu_seconds=0.5) as (pool, c):
        victim, attacker = new_id(), new_id()
        healthy(c, victim)
        spin = "setInterval(() => { const t = Date.now(); while (Date.now() - t < 40); }, 0); 'spinning'"
        res = run(c, attacker, spin)
        assert res["executionResult"] == "'spinning'"
        pid = kernel_pid(pool, attacker)
        _wait_dead(pool, attacker)
        res = run(c, attacker, "1")
        assert "kept the CPU busy while no execution was running" in res["stderr"], res
        assert kernel_pid(pool, attacker) != pid
        healthy(c, victim)


def test_kept_execution_records_are_capped_in_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "MAX_EXECUTION_RECORD_CHARS", 3_000_000)
    with sandboxed_pool() as (pool, c):
        ident = new_id()
        ids = []
        for _ in range(5):
            r = c.post("/executions", params={"api-version": V, "identifier": ident},
                       json={"code": "console.log('x'.repeat(1e6))", "executionType": "Synchronous"})
            assert r.status_code == 200
            ids.append(r.headers["operation-id"])
        kept = [c.get(f"/executions/{i}", params={"api-version": V, "identifier": ident}).status_code for i in ids]
        assert kept[-1] == 200 and kept[0] == 404 and kept.count(200) <= 3, kept
