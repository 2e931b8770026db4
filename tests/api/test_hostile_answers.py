"""The client against a hostile server (tests/hostile_server.py, real HTTP on
127.0.0.1): every misbehaviour is one ApiError with a clean message, never a
RecursionError, a hang or a body read whole."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from repl.api import BadRequestError, BadResponseError, ConnectError, RequestTimeout, SessionsClient, StaticToken
from repl.api.dialects import parse_execution, parse_file_list, parse_metadata, parse_session_list, split_truncation
from repl.api.errors import MAX_JSON_DEPTH, loads
from tests.hostile_server import HostileServer

TOKEN = "api-hostile-token-93b1"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture(params=["loopback", "httpx"])
async def connect(hostile: HostileServer,
                  request: pytest.FixtureRequest) -> AsyncIterator[Callable[[str], SessionsClient]]:
    """Clients on both transports: the lean loopback one (every URL on loopback, as
    for the local pool) and httpx's own (an ARM base elsewhere, as for Azure)."""
    clients: list[SessionsClient] = []
    arm_base = f"http://127.0.0.1:{hostile.port}" if request.param == "loopback" else "https://management.invalid"

    def make(mode: str) -> SessionsClient:
        c = SessionsClient(hostile.endpoint(mode), StaticToken(TOKEN), api_version="2025-10-02-preview",
                           arm_base=arm_base)
        assert (type(c._http._transport).__name__ == "LoopbackTransport") == (request.param == "loopback")
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


def _clean(err: BaseException) -> str:
    text = str(err)
    assert not CONTROL.search(text) and TOKEN not in text and "PWNED" not in text, text
    return text


async def test_deep_json_is_a_bad_response_not_a_recursion_error(connect):
    with pytest.raises(BadResponseError) as e:
        await connect("deep").execute("1", identifier="s")
    assert "nested too deeply" in _clean(e.value)
    with pytest.raises(BadRequestError) as e2:  # a deep *error* body is mapped like any other 400
        await connect("deeperror").list_files("s")
    _clean(e2.value)


async def test_a_drip_ends_at_the_overall_deadline(connect, monkeypatch):
    monkeypatch.setattr("repl.api.client.READ_MARGIN", 0.5)
    with pytest.raises(RequestTimeout) as e:
        await connect("drip").execute("1", identifier="s", timeout=1)
    assert "within 1.5 s" in _clean(e.value)


async def test_a_body_over_the_cap_is_never_read_whole(connect, monkeypatch):
    with pytest.raises(BadResponseError) as e:  # declared: refused before reading
        await connect("huge").list_files("s")
    assert "larger than 16 MB" in _clean(e.value)
    monkeypatch.setattr("repl.api.client.MAX_EXECUTION_BYTES", 4 * 1024 * 1024)
    with pytest.raises(BadResponseError) as e:  # chunked: cut while reading
        await connect("hugechunked").execute("1", identifier="s")
    assert "larger than 4 MB" in _clean(e.value)


async def test_cut_json_is_a_dropped_connection(connect):
    with pytest.raises(ConnectError) as e:
        await connect("truncated").execute("1", identifier="s")
    assert "may or may not have run" in _clean(e.value)


async def test_wrong_shapes_are_errors_not_empty_success(connect):
    client = connect("shape")
    for call in (client.list_files("s"), client.list_sessions(), client.metadata(), client.get_session("s"),
                 client.execute("1", identifier="s")):
        with pytest.raises(BadResponseError) as e:
            await call
        _clean(e.value)
    status = await client.pool_status()
    assert status.sessions_in_use is None and status.runtime is None and len(status.notes) == 3


async def test_escapes_and_the_token_in_an_error_never_reach_the_message(connect):
    with pytest.raises(BadRequestError) as e:
        await connect("escapes").list_files("s")
    text = _clean(e.value)
    assert "owned" in text and "***" in text
    assert not CONTROL.search(e.value.code or "") and e.value.request_id and "PWNED" not in e.value.request_id


def test_loads_refuses_deep_json_without_recursion():
    assert loads(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    for deep in (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), b"[" * 100_000 + b"]" * 100_000,
                 b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        for form in (deep, deep.decode()):  # bytes and text alike
            with pytest.raises(ValueError):
                loads(form)
    # Shallow answers with many brackets (in strings, or many containers side by side)
    # are read: the bracket count only decides whether the depth is walked.
    wide = "[" + ",".join(["[]"] * 500) + "]"
    assert len(loads(wide)) == 500
    assert loads('{"stdout": "' + "[{" * 1000 + '"}')["stdout"] == "[{" * 1000


def test_the_pools_truncation_marker_becomes_fields():
    marker = "\n[output truncated: 1200 more characters not shown (limit 100 characters)]\n"
    ex = parse_execution({"status": "Succeeded", "result": {
        "stdout": "x" * 100 + marker, "stderr": "e" * 100 + marker + "Error: boom\n",
        "executionResult": "'" + "v" * 99 + marker}})
    assert (ex.stdout, ex.stdout_dropped, ex.output_limit) == ("x" * 100, 1200, 100)
    assert (ex.stderr, ex.stderr_dropped) == ("e" * 100 + "\nError: boom\n", 1200)
    assert (ex.value_text, ex.value_dropped, ex.truncated) == ("'" + "v" * 99, 1200, True)
    assert ex.to_json()["truncated"] is True
    assert ex.truncation_notes()[0] == ("stdout was cut by the pool: 1,200 more characters not shown "
                                        "(limit 100 characters)")
    assert split_truncation("no marker") == ("no marker", 0, None)
    assert not parse_execution({"status": "Succeeded", "result": {"stdout": "hi"}}).truncated


@pytest.mark.parametrize("body", [{}, {"value": "x"}, {"value": [1, 2]}, {"value": [{"type": "file"}]}, 3, "x"])
def test_file_lists_of_the_wrong_shape_are_refused(body):
    with pytest.raises(ValueError):
        parse_file_list(body)


def test_session_lists_and_metadata_of_the_wrong_shape_are_refused():
    for body in ({}, {"sessions": "x"}, {"unexpected": True}):
        with pytest.raises(ValueError):
            parse_session_list(body)
    with pytest.raises(ValueError):
        parse_metadata({"unexpected": True})
    assert parse_file_list({"value": []}) == [] and parse_session_list({"value": []}) == ([], None)
