"""Large outputs (issue 14): the pool answers with a stream of JSON pieces
instead of rendering the whole body, the client parses it from one buffer, and
the text arrives exactly as written, whatever characters straddle the pieces.
Real pool over HTTP, real Node."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from starlette.responses import JSONResponse

from repl.api import SessionsClient, StaticToken
from repl.local import json_body
from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings

V = "2025-10-02-preview"
UNIT = 'a€"\\\n\t𝄞\x01'  # multibyte, escaped, astral (a surrogate pair in JS), a control character


@pytest.fixture(scope="module")
def big_pool(tmp_path_factory: pytest.TempPathFactory):
    settings = PoolSettings(ready=1, output_cap=16 << 20, data_dir=tmp_path_factory.mktemp("big"))
    with EmbeddedPool(settings) as pool:
        pool.wait_started()
        yield pool


@pytest.mark.parametrize(
    "content",
    [
        {"s": UNIT * 40, "n": 1, "f": 1.5, "b": True, "z": None, "l": [UNIT * 9, {"k": "v"}, []], "e": {}},
        [UNIT * 13, "", "\ud800 lone", "\x7f\u2028\u2029"],
        "x" * 100,
    ],
)
def test_pieces_join_to_exactly_the_jsonresponse_body(monkeypatch: pytest.MonkeyPatch, content: object) -> None:
    monkeypatch.setattr(json_body, "PIECE_CHARS", 7)  # pieces cut through every kind of character
    try:
        expected = JSONResponse(content).body
    except UnicodeEncodeError:  # a lone surrogate: neither form can encode it
        with pytest.raises(UnicodeEncodeError):
            b"".join(json_body.json_pieces(content))
        return
    assert b"".join(json_body.json_pieces(content)) == expected


def _execute_raw(pool: EmbeddedPool, code: str) -> httpx.Response:
    with httpx.Client(base_url=pool.endpoint, headers={"Authorization": f"Bearer {pool.token}"}, timeout=120) as c:
        return c.post("/executions", params={"api-version": V, "identifier": str(uuid.uuid4())},
                      json={"codeInputType": "Inline", "executionType": "Synchronous", "code": code})


def test_a_large_output_is_streamed_and_a_small_one_is_not(big_pool: EmbeddedPool) -> None:
    small = _execute_raw(big_pool, "console.log('hi')")
    assert small.headers.get("content-length") and "transfer-encoding" not in small.headers
    assert small.json()["result"]["stdout"] == "hi\n"
    big = _execute_raw(big_pool, f"process.stdout.write({json.dumps(UNIT)}.repeat(300000)); 7")
    assert big.headers.get("transfer-encoding") == "chunked" and "content-length" not in big.headers
    body = big.json()
    assert body["status"] == "Succeeded" and body["result"]["executionResult"] == 7
    assert body["result"]["stdout"] == UNIT * 300000


async def test_the_client_reads_a_large_output_exactly(big_pool: EmbeddedPool) -> None:
    client = SessionsClient(big_pool.endpoint, StaticToken(big_pool.token))
    try:
        ex = await client.execute(f"process.stdout.write({json.dumps(UNIT)}.repeat(500000)); 'done'",
                                  identifier=str(uuid.uuid4()), timeout=120)
    finally:
        await client.aclose()
    assert ex.ok and ex.value_text == "'done'"
    assert ex.stdout == UNIT * 500000


def test_long_texts_of_every_kind_arrive_whole_and_the_next_result_after_them(big_pool: EmbeddedPool) -> None:
    # Texts of 64 KiB and more follow their result's line as raw UTF-8, several at
    # once here (stdout, stderr, value; then an error), read by their announced
    # lengths whatever the pipe's reads cut: the next result is still read right.
    ident = str(uuid.uuid4())
    with httpx.Client(base_url=big_pool.endpoint, headers={"Authorization": f"Bearer {big_pool.token}"},
                      timeout=120) as c:
        def run(code: str) -> dict:
            r = c.post("/executions", params={"api-version": V, "identifier": ident},
                       json={"codeInputType": "Inline", "executionType": "Synchronous", "code": code})
            assert r.status_code == 200, r.text
            return r.json()

        unit = json.dumps(UNIT)
        body = run(f"process.stdout.write({unit}.repeat(90000)); process.stderr.write('é\\n'.repeat(70000));"
                   "Object.fromEntries(Array.from({length: 20000}, (_, i) => ['k' + i, 'é' + i]))")
        assert body["status"] == "Succeeded", body
        assert body["result"]["stdout"] == UNIT * 90000
        assert body["result"]["stderr"] == "é\n" * 70000
        value = body["result"]["executionResult"]  # util.inspect's text of the object, > 64 KiB
        assert len(value) > 65536 and value.startswith("{") and "k19999: 'é19999'" in value
        body = run("throw new Error('𝄞'.repeat(40000))")
        assert body["status"] == "Failed" and "𝄞" * 40000 in body["result"]["stderr"]
        body = run("console.log('small'); 6 * 7")
        assert body["result"]["stdout"] == "small\n" and body["result"]["executionResult"] == 42
