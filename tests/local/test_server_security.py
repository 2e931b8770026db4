"""Security of the local pool over real HTTP: token, Host header, no CORS, limits, remote binding."""

from __future__ import annotations

import socket

import httpx
import pytest

from repl.local.embedded import EmbeddedPool, PoolStartError
from repl.local.server import MAX_BODY_BYTES, MAX_UPLOAD_BYTES
from repl.local.settings import PoolSettings

V = "2025-10-02-preview"


def test_every_route_needs_the_bearer_token(local_pool, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    arm = (
        f"{local_pool.arm_base}/subscriptions/00000000-0000-0000-0000-000000000000"
        "/resourceGroups/local/providers/Microsoft.App/sessionPools/local"
    )
    urls = [
        ("POST", local_pool.endpoint + "/executions"),
        ("POST", local_pool.endpoint + "/code/execute"),
        ("GET", local_pool.endpoint + "/files"),
        ("GET", local_pool.endpoint + "/session"),
        ("GET", local_pool.endpoint + "/listSessions"),
        ("GET", local_pool.endpoint + "/metadata"),
        ("GET", local_pool.arm_base + "/executions/x"),
        ("GET", arm),
        ("GET", local_pool.arm_base + "/no/such/route"),
    ]
    bad_headers = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {local_pool.token}x"},
        {"Authorization": f"Bearer {local_pool.token[:-1]}"},
        {"Authorization": f"Basic {local_pool.token}"},
        {"Authorization": local_pool.token},
    ]
    with httpx.Client(timeout=10) as client:
        for method, url in urls:
            for headers in bad_headers:
                r = client.request(method, url, params=q, headers=headers, json={"code": "1"})
                assert r.status_code == 401, (method, url, headers, r.text)
                assert r.json()["error"]["code"] == "Unauthorized"
                assert r.headers["x-ms-error-code"] == "Unauthorized"
                assert r.headers["www-authenticate"].startswith("Bearer")
        ok = client.get(url=local_pool.endpoint + "/listSessions", params={"api-version": V},
                        headers={"Authorization": f"bearer {local_pool.token}"})
        assert ok.status_code == 200
    # A refused request creates nothing.
    assert local_pool.pool.get(identifier) is None


def test_foreign_host_header_is_refused(local_pool) -> None:
    port = local_pool.port
    auth = {"Authorization": f"Bearer {local_pool.token}"}
    url = f"http://127.0.0.1:{port}{local_pool.settings.endpoint_path}/listSessions"
    with httpx.Client(timeout=10) as client:
        for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", f"localhost.evil:{port}", ""):
            r = client.get(url, params={"api-version": V}, headers={**auth, "Host": host})
            assert r.status_code == 400, host
            assert r.json()["error"]["code"] == "InvalidHostHeader"
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
            r = client.get(url, params={"api-version": V}, headers={**auth, "Host": host})
            assert r.status_code == 200, host


def test_no_cors_headers_ever(local_pool) -> None:
    origin = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    with httpx.Client(timeout=10) as client:
        pre = client.options(local_pool.endpoint + "/executions", headers=origin)
        assert pre.status_code in (401, 404, 405)
        got = client.get(
            local_pool.endpoint + "/metadata",
            params={"api-version": V},
            headers={**origin, "Authorization": f"Bearer {local_pool.token}"},
        )
        assert got.status_code == 200
        for r in (pre, got):
            assert not [h for h in r.headers if h.lower().startswith("access-control-")]


def test_responses_carry_a_request_id(pool_http: httpx.Client) -> None:
    a = pool_http.get("/metadata", params={"api-version": V})
    b = pool_http.get("/metadata", params={"api-version": "1999-01-01"})
    assert a.headers["x-ms-request-id"] and b.headers["x-ms-request-id"]
    assert a.headers["x-ms-request-id"] != b.headers["x-ms-request-id"]


def test_non_loopback_host_needs_allow_remote() -> None:
    with pytest.raises(PoolStartError, match="allow-remote"):
        EmbeddedPool(PoolSettings(host="0.0.0.0", ready=0)).start()
    with pytest.raises(PoolStartError, match="allow-remote"):
        EmbeddedPool(PoolSettings(host="192.0.2.1", ready=0)).start()


def test_remote_pool_still_requires_the_token(tmp_path) -> None:
    pool = EmbeddedPool(PoolSettings(host="0.0.0.0", allow_remote=True, ready=0, data_dir=tmp_path))
    with pool:
        with httpx.Client(timeout=10) as client:
            url = f"{pool.arm_base}{pool.settings.endpoint_path}/listSessions"
            assert client.get(url, params={"api-version": V}).status_code == 401
            ok = client.get(url, params={"api-version": V},
                            headers={"Authorization": f"Bearer {pool.token}", "Host": f"myhost:{pool.port}"})
            assert ok.status_code == 200


def test_default_binding_is_loopback_only(local_pool) -> None:
    assert local_pool.settings.host == "127.0.0.1"
    assert local_pool.endpoint.startswith("http://127.0.0.1:")
    addr = local_pool._sock.getsockname()
    assert addr[0] == "127.0.0.1"


def test_token_is_random_and_long() -> None:
    a, b = EmbeddedPool(PoolSettings()), EmbeddedPool(PoolSettings())
    assert a.token != b.token and len(a.token) >= 32
    assert EmbeddedPool(PoolSettings(token="given")).token == "given"


def test_real_limits() -> None:
    assert MAX_UPLOAD_BYTES == 128 * 1024 * 1024
    assert MAX_BODY_BYTES >= 1024 * 1024


@pytest.fixture(scope="module")
def small_limits_pool(tmp_path_factory):
    pool = EmbeddedPool(
        PoolSettings(ready=0, data_dir=tmp_path_factory.mktemp("limits")),
        app_options={"max_upload_bytes": 4096, "max_body_bytes": 2048},
    )
    with pool:
        yield pool


def test_uploads_over_the_limit_get_413(small_limits_pool, identifier: str) -> None:
    p = small_limits_pool
    q = {"api-version": V, "identifier": identifier}
    with httpx.Client(base_url=p.endpoint, headers={"Authorization": f"Bearer {p.token}"}, timeout=10) as c:
        r = c.post("/files", params=q, files={"file": ("ok.bin", b"x" * 4096)})
        assert r.status_code == 200
        r = c.post("/files", params=q, files={"file": ("big.bin", b"x" * 4097)})
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == r.headers["x-ms-error-code"]
        # A body far over the limit is refused from its Content-Length alone.
        r = c.post("/files", params=q, files={"file": ("huge.bin", b"x" * (3 * 1024 * 1024))})
        assert r.status_code == 413
        legacy = c.post("/files/upload", params={**q, "api-version": "2024-08-02-preview"},
                        files={"file": ("big.bin", b"y" * 5000)})
        assert legacy.status_code == 413
        names = [e["name"] for e in c.get("/files", params=q).json()["value"]]
        assert names == ["ok.bin"]
        staging = list(p.pool.staging_dir.iterdir())
        assert staging == []


def test_chunked_upload_without_length_is_still_capped(small_limits_pool, identifier: str) -> None:
    p = small_limits_pool
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.bin\"\r\n\r\n".encode()
        + b"z" * 10000
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks():
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    with httpx.Client(timeout=10) as c:
        r = c.post(
            p.endpoint + "/files",
            params={"api-version": V, "identifier": identifier},
            headers={"Authorization": f"Bearer {p.token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
            content=chunks(),
        )
    assert r.status_code == 413


def test_request_bodies_are_capped(small_limits_pool, identifier: str) -> None:
    p = small_limits_pool
    with httpx.Client(base_url=p.endpoint, headers={"Authorization": f"Bearer {p.token}"}, timeout=10) as c:
        big = {"codeInputType": "Inline", "executionType": "Synchronous", "code": "1;" * 2000}
        r = c.post("/executions", params={"api-version": V, "identifier": identifier}, json=big)
        assert r.status_code == 413
        r = c.post("/code/execute", params={"api-version": "2024-10-02-preview", "identifier": identifier},
                   json={"properties": big})
        assert r.status_code == 413


def test_port_in_use_is_a_clear_error(local_pool) -> None:
    with pytest.raises(PoolStartError, match="Cannot listen"):
        EmbeddedPool(PoolSettings(port=local_pool.port)).start()


def test_start_binds_synchronously(tmp_path) -> None:
    pool = EmbeddedPool(PoolSettings(ready=0, data_dir=tmp_path))
    pool.start()
    try:
        # The socket accepts connections before the server thread is necessarily up.
        with socket.create_connection(("127.0.0.1", pool.port), timeout=5):
            pass
        r = httpx.get(pool.endpoint + "/listSessions", params={"api-version": V},
                      headers={"Authorization": f"Bearer {pool.token}"}, timeout=30)
        assert r.status_code == 200 and r.json()["sessions"] == []
    finally:
        pool.stop()
    assert not pool.running


def test_localhost_host_binds_loopback(tmp_path) -> None:
    with EmbeddedPool(PoolSettings(host="localhost", ready=0, data_dir=tmp_path)) as pool:
        assert pool.endpoint.startswith("http://127.0.0.1:")
        r = httpx.get(f"http://localhost:{pool.port}/listSessions", params={"api-version": V},
                      headers={"Authorization": f"Bearer {pool.token}"}, timeout=10)
        assert r.status_code == 200
