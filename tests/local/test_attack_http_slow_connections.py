"""Attack: slow and half-open connections (slowloris) against the local pool.

Each test asserts the attack fails (the connection is timed out, refused or
evicted) and that the pool keeps answering requests that complete, for this
session and others.  Timeouts here are short so the tests are quick; the only
time bounds asserted are generous ones that keep a broken server from hanging
the run.
"""

from __future__ import annotations

import json
import resource
import socket
import uuid

import httpx
import pytest

from repl.local.connections import ConnectionLimits
from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings
from tests.local.http_attack import (
    V,
    authed,
    client,
    half_request,
    host_port,
    read_until_closed,
    run_code,
    serve_process,
)


@pytest.fixture(scope="module")
def tight_pool(tmp_path_factory: pytest.TempPathFactory):
    limits = ConnectionLimits(header_timeout=1.0, body_timeout=1.0, max_connections=40, max_head_bytes=8 * 1024)
    settings = PoolSettings(ready=1, cooldown=60, max_sessions=32, data_dir=tmp_path_factory.mktemp("tight"))
    with EmbeddedPool(settings, server_options={"limits": limits}) as pool:
        yield pool


def test_half_sent_request_head_gets_408_and_is_closed(tight_pool) -> None:
    s = half_request(tight_pool.endpoint)
    with s:
        data = read_until_closed(s)
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]
    body = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "RequestTimeout"


def test_a_head_trickled_byte_by_byte_still_times_out(tight_pool) -> None:
    """Slowloris proper: a byte now and then must not keep the head deadline away."""
    host, port = host_port(tight_pool.endpoint)
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"GET /metadata HTTP/1.1\r\n")
        closed = False
        for _ in range(200):  # 200 x 50 ms: far beyond the 1 s deadline
            try:
                s.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            s.settimeout(0.05)
            try:
                if s.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except ConnectionResetError:
                closed = True
                break
            closed = True  # got the 408
            break
        assert closed


def test_half_sent_body_is_closed(tight_pool) -> None:
    s = half_request(tight_pool.endpoint, body=True)
    with s:
        data = read_until_closed(s)
    assert b" 200 " not in data[:20]


def test_idle_connection_without_a_request_is_closed(tight_pool) -> None:
    host, port = host_port(tight_pool.endpoint)
    with socket.create_connection((host, port), timeout=30) as s:
        assert read_until_closed(s) == b""


def test_oversized_request_head_is_431(tight_pool) -> None:
    host, port = host_port(tight_pool.endpoint)
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(f"GET /metadata HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
        try:
            for _ in range(64):
                s.sendall(b"X-Big: " + b"a" * 1000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = read_until_closed(s)
    assert data.startswith(b"HTTP/1.1 431 "), data[:200]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "RequestHeaderFieldsTooLarge"


def test_malformed_http_gets_the_error_shape(tight_pool) -> None:
    host, port = host_port(tight_pool.endpoint)
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n")
        data = read_until_closed(s)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "BadRequest"


def test_hundreds_of_half_requests_do_not_lock_out_a_real_client(tight_pool) -> None:
    """300 half-open requests against a cap of 40 connections: the real client's
    connection evicts the longest-waiting one and is answered; another session works."""
    slow = []
    try:
        for i in range(300):
            slow.append(half_request(tight_pool.endpoint, body=i % 3 == 0))
        with client(tight_pool.endpoint, tight_pool.token) as http:
            r = http.get("/metadata", params={"api-version": V})
            assert r.status_code == 200
            out = run_code(http, str(uuid.uuid4()), "6*7")
            assert out["result"]["executionResult"] == 42
    finally:
        for s in slow:
            s.close()


def test_a_long_execution_is_never_timed_out(tight_pool) -> None:
    """Timeouts cover requests still arriving, not requests being answered."""
    with client(tight_pool.endpoint, tight_pool.token) as http:
        code = "$$.async(); setTimeout(() => $$.done(7), 3000)"
        out = run_code(http, str(uuid.uuid4()), code)
    assert out["status"] == "Succeeded"
    assert out["result"]["executionResult"] == 7


def test_busy_connections_are_not_evicted(tight_pool) -> None:
    """With every slot but one busy or half-open, a half-open flood cannot take over
    connections whose requests are being answered."""
    import concurrent.futures

    ident = str(uuid.uuid4())

    def long_run() -> dict:
        with client(tight_pool.endpoint, tight_pool.token) as http:
            return run_code(http, f"{ident}-{uuid.uuid4()}", "$$.async(); setTimeout(() => $$.done(1), 1500)")

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        futures = [ex.submit(long_run) for _ in range(4)]
        slow = [half_request(tight_pool.endpoint) for _ in range(100)]
        try:
            results = [f.result(timeout=60) for f in futures]
        finally:
            for s in slow:
                s.close()
    assert all(r["result"]["executionResult"] == 1 for r in results)


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_a_thousand_half_requests_under_a_low_fd_limit(tmp_path) -> None:
    """The reported attack: ``serve`` with 256 file descriptors, 1,000 incomplete
    requests.  The pool's connection cap (half the fd limit) keeps fds for the
    real client, and that client is answered."""
    token = "slow-loris-test-token"
    env = {"ACAJS_SERVE_TOKEN": token, "ACAJS_DATA_DIR": str(tmp_path / "data")}
    with serve_process(["--data-dir", str(tmp_path / "pool")], env, preexec=_low_fd_limit) as srv:
        slow = []
        try:
            for _ in range(1000):
                try:
                    slow.append(half_request(srv.endpoint))
                except OSError:  # the backlog is full for a moment: the flood goes on
                    continue
            with client(srv.endpoint, token, transport=httpx.HTTPTransport(retries=3)) as http:
                r = http.get("/metadata", params={"api-version": V})
                assert r.status_code == 200, r.text
                out = run_code(http, str(uuid.uuid4()), "'still here'")
                assert out["result"]["executionResult"] == "'still here'"
        finally:
            for s in slow:
                s.close()
        assert srv.proc.poll() is None
        srv.proc.terminate()
        _out, err = srv.proc.communicate(timeout=60)
        assert "Too many open files" not in err  # the cap kept the pool below its fd limit


def _read_response(s: socket.socket) -> bytes:
    """One HTTP response (head and Content-Length body) from ``s``."""
    s.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"closed before a response: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    length = int(lengths[0])
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, "closed inside a response body"
        body += chunk
    return head + b"\r\n\r\n" + body


def _metadata_request(pool) -> bytes:
    host, port = host_port(pool.endpoint)
    headers = "".join(f"{k}: {v}\r\n" for k, v in authed(pool.token).items())
    return f"GET /metadata?api-version={V} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}\r\n".encode()


def test_a_kept_alive_connection_outlives_the_head_timeout(tight_pool) -> None:
    """Between requests a connection is kept alive (a REPL at a person's pace
    reuses it): a pause longer than the 1 s head timeout does not close it."""
    import time

    with socket.create_connection(host_port(tight_pool.endpoint), timeout=30) as s:
        s.sendall(_metadata_request(tight_pool))
        assert _read_response(s).startswith(b"HTTP/1.1 200 ")
        time.sleep(2.5)
        s.sendall(_metadata_request(tight_pool))
        assert _read_response(s).startswith(b"HTTP/1.1 200 ")


def test_a_slow_head_after_a_kept_alive_pause_still_times_out(tight_pool) -> None:
    """The keep-alive pause gives no extra time to the next head: its deadline
    starts at its first byte."""
    import time

    with socket.create_connection(host_port(tight_pool.endpoint), timeout=30) as s:
        s.sendall(_metadata_request(tight_pool))
        assert _read_response(s).startswith(b"HTTP/1.1 200 ")
        time.sleep(1.5)
        s.sendall(b"GET /metadata HTTP/1.1\r\nX-Slow: ")
        data = read_until_closed(s)
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]


def test_a_body_that_keeps_coming_is_not_timed_out(tight_pool) -> None:
    """The body timeout bounds the silence between two pieces, not the whole body:
    pieces 0.4 s apart for 2.4 s (the timeout is 1 s) make a request that is answered,
    on a connection that then serves the next request too."""
    import time

    host, port = host_port(tight_pool.endpoint)
    body = json.dumps({"code": "'kept ' + 'coming'", "executionType": "Synchronous"}).encode()
    headers = "".join(f"{k}: {v}\r\n" for k, v in authed(tight_pool.token).items())
    head = (f"POST /executions?api-version={V}&identifier={uuid.uuid4()} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"{headers}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    step = -(-len(body) // 6)
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(head)
        for start in range(0, len(body), step):
            time.sleep(0.4)
            s.sendall(body[start:start + step])
        response = _read_response(s)
        assert response.startswith(b"HTTP/1.1 200 "), response[:300]
        assert b"'kept coming'" in response
        s.sendall(_metadata_request(tight_pool))
        assert _read_response(s).startswith(b"HTTP/1.1 200 ")
