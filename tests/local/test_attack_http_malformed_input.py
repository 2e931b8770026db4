"""Attack: malformed input on every route.  Each is a 4xx in the service's error
shape (``{"error": {...}}`` plus ``x-ms-error-code``), never a 500, and the pool
keeps serving this session and others afterwards."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from repl.local.settings import DEFAULT_OUTPUT_CAP

V = "2025-10-02-preview"
EXEC = {"codeInputType": "Inline", "executionType": "Synchronous"}


def assert_refused(r: httpx.Response, status: int | tuple[int, ...] = 400) -> dict:
    statuses = (status,) if isinstance(status, int) else status
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    body = r.json()
    assert set(body["error"]) >= {"code", "message", "target", "details", "innererror"}
    assert r.headers["x-ms-error-code"] == body["error"]["code"]
    assert "Traceback" not in r.text
    return body


@pytest.fixture(autouse=True)
def _pool_still_healthy(pool_http: httpx.Client):
    """After each attack, a fresh session still runs code."""
    yield
    r = pool_http.post("/executions", params={"api-version": V, "identifier": str(uuid.uuid4())},
                       json={**EXEC, "code": "40+2"})
    assert r.status_code == 200 and r.json()["result"]["executionResult"] == 42


def _post_raw(pool_http: httpx.Client, identifier: str, raw: bytes, path: str = "/executions",
              version: str = V) -> httpx.Response:
    return pool_http.post(path, params={"api-version": version, "identifier": identifier},
                          content=raw, headers={"content-type": "application/json"})


BAD_BODIES = [
    pytest.param(b'{"code": "\xc3\xa9t\xc3\xa9", "codeInputType": "InlineBase64"}', id="non-ascii-base64"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": ' + b"9" * 5000 + b"}", id="int-over-4300-digits"),
    pytest.param(b'{"code": "1", "outputStreamsMaxLength": ' + b"9" * 5000 + b"}", id="limit-over-4300-digits"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": 1e400}', id="timeout-inf-float"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": -' + b"9" * 400 + b"}", id="timeout-huge-negative-int"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": NaN}', id="timeout-nan"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": -Infinity}', id="timeout-neg-inf"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="json-nested-100000-deep"),
    pytest.param(b'{"code": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="code-nested-100000-deep"),
    pytest.param(b'{"code": 123}', id="code-number"),
    pytest.param(b'{"code": null}', id="code-null"),
    pytest.param(b'{"code": "1", "executionType": []}', id="execution-type-list"),
    pytest.param(b'{"code": "1", "codeInputType": {}}', id="input-type-object"),
    pytest.param(b'{"code": "1", "codeInputType": "Python"}', id="input-type-unknown"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": "60"}', id="timeout-string"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": true}', id="timeout-bool"),
    pytest.param(b'{"code": "1", "timeoutInSeconds": 0}', id="timeout-zero"),
    pytest.param(b'{"code": "1", "outputStreamsMaxLength": 1.5}', id="limit-float"),
    pytest.param(b'{"code": "1", "outputStreamsMaxLength": -5}', id="limit-negative"),
    pytest.param(b'"just a string"', id="body-string"),
    pytest.param(b"[1, 2]", id="body-array"),
    pytest.param(b"\xff\xfe\x00", id="body-not-utf8"),
    pytest.param(b'{"code": "\\ud800"}', id="lone-surrogate-code"),
]


@pytest.mark.parametrize("raw", BAD_BODIES)
def test_bad_execution_bodies_are_400(pool_http: httpx.Client, identifier: str, raw: bytes) -> None:
    r = _post_raw(pool_http, identifier, raw)
    if r.status_code == 200:  # only the lone surrogate may run: it is valid JSON text
        assert raw == b'{"code": "\\ud800"}'
        return
    assert_refused(r)


@pytest.mark.parametrize("raw", BAD_BODIES[:9])
def test_bad_legacy_bodies_are_400(pool_http: httpx.Client, identifier: str, raw: bytes) -> None:
    wrapped = b'{"properties": ' + raw + b"}" if raw.startswith(b"{") else raw
    assert_refused(_post_raw(pool_http, identifier, wrapped, "/code/execute", "2024-10-02-preview"))


def test_a_huge_positive_timeout_is_capped_not_refused(pool_http: httpx.Client, identifier: str) -> None:
    r = _post_raw(pool_http, identifier, b'{"code": "6*7", "timeoutInSeconds": 1' + b"0" * 400 + b"}")
    assert r.status_code == 200 and r.json()["result"]["executionResult"] == 42


@pytest.mark.parametrize("skip", ["-1", "1.5", "abc", "²", "١", "9" * 5000, "99999999999", " 1", ""])
def test_odd_skip_values_are_400(pool_http: httpx.Client, skip: str) -> None:
    body = assert_refused(pool_http.get("/listSessions", params={"api-version": V, "skip": skip}))
    assert body["error"]["target"] == "skip"


def test_valid_skip_values(pool_http: httpx.Client) -> None:
    for skip in ("0", "3", str(2**31 - 1)):
        r = pool_http.get("/listSessions", params={"api-version": V, "skip": skip})
        assert r.status_code == 200, skip


def test_names_and_paths_over_name_max_are_400(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    long = "n" * 256
    wide = "é" * 128  # 256 bytes in UTF-8
    for name in (long, wide):
        assert_refused(pool_http.get(f"/files/{name}", params=q))
        assert_refused(pool_http.get(f"/files/{name}/content", params=q))
        assert_refused(pool_http.delete(f"/files/{name}", params=q))
        assert_refused(pool_http.get(f"/files/content/ok/{name}", params={**q, "api-version": "2024-10-02-preview"}))
    for name in (long, wide, f"ok/{long}", f"{long}/ok"):
        assert_refused(pool_http.get("/files/x", params={**q, "path": name}))
        assert_refused(pool_http.delete("/files/x", params={**q, "path": name}))
        assert_refused(pool_http.post("/files", params=q, files={"file": (name, b"x")}))
        assert_refused(pool_http.post("/files", params={**q, "path": name}, files={"file": ("x", b"x")}))
        assert_refused(pool_http.get("/files", params={**q, "path": name}))
    # A long path of short components is fine (it just does not exist).
    deep = "/".join(["d"] * 300)
    assert_refused(pool_http.get(f"/files/{deep}", params=q), 404)
    assert pool_http.get("/files", params={**q, "path": "/mnt/data/" + "n" * 255}).status_code == 404


def test_upload_of_a_255_byte_name_works(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    name = "n" * 255
    assert pool_http.post("/files", params=q, files={"file": (name, b"x")}).status_code == 200
    assert pool_http.get(f"/files/{name}/content", params=q).content == b"x"


def test_identifiers_of_wrong_shape(pool_http: httpx.Client) -> None:
    for ident in ("x" * 257, "a b", "ü", "\x00", "%"):
        assert_refused(pool_http.get("/session", params={"api-version": V, "identifier": ident}))


def test_bad_operation_id_header(pool_http: httpx.Client, identifier: str) -> None:
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier},
                       json={**EXEC, "code": "1"}, headers={"operation-id": "a b\x7f" + "x" * 300})
    assert_refused(r)


def test_bad_multipart_boundaries(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    for ctype in ("multipart/form-data; boundary*=utf-8''%E2%82%AC", "multipart/form-data", "text/plain",
                  "multipart/form-data; boundary="):
        r = pool_http.post("/files", params=q, content=b"--x\r\n", headers={"content-type": ctype})
        assert_refused(r)


def test_inline_text_is_accepted(pool_http: httpx.Client, identifier: str) -> None:
    for spelling in ("InlineText", "inlinetext"):
        r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier},
                           json={"codeInputType": spelling, "executionType": "Synchronous", "code": "'t'+1"})
        assert r.status_code == 200, r.text
        assert r.json()["result"]["executionResult"] == "'t1'"


def test_inline_base64_still_decodes(pool_http: httpx.Client, identifier: str) -> None:
    code = base64.b64encode("'é'.length".encode()).decode()
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier},
                       json={"codeInputType": "InlineBase64", "executionType": "Synchronous", "code": code})
    assert r.json()["result"]["executionResult"] == 1


def test_output_streams_max_length_is_clamped_to_the_cap(pool_http: httpx.Client, identifier: str) -> None:
    """A value above the pool's output cap is served as the cap (the swagger allows any
    int32 and calls it a maximum, so asking for more is not an error; the answer is
    simply bounded)."""
    n = DEFAULT_OUTPUT_CAP + 5000
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier},
                       json={**EXEC, "code": f"process.stdout.write('x'.repeat({n}))",
                             "outputStreamsMaxLength": 2**31 - 1})
    assert r.status_code == 200
    stdout = r.json()["result"]["stdout"]
    assert stdout.count("x") <= DEFAULT_OUTPUT_CAP
    assert "truncated" in stdout


def test_405_lists_the_allowed_methods(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    cases = {
        "/files": {"GET", "HEAD", "POST"},
        "/session": {"GET", "HEAD", "DELETE"},
        "/executions": {"POST"},
        "/files/x": {"GET", "HEAD", "DELETE"},
        "/metadata": {"GET", "HEAD"},
    }
    for path, allowed in cases.items():
        r = pool_http.request("PUT", path, params=q)
        body = assert_refused(r, 405)
        assert body["error"]["code"] == "MethodNotAllowed"
        assert {m.strip() for m in r.headers["allow"].split(",")} == allowed
    # The same under the Azure-shaped endpoint path (the Mount) and at the root.
    root = pool_http.base_url.copy_with(path="/files")
    assert set(pool_http.request("PATCH", root, params=q).headers["allow"].replace(" ", "").split(",")) == {
        "GET", "HEAD", "POST"}


def test_wrong_api_version_shapes(pool_http: httpx.Client, identifier: str) -> None:
    for version in ("x" * 10_000, "2025-10-02-preview\x00", "\u2603"):
        assert_refused(pool_http.get("/files", params={"api-version": version, "identifier": identifier}))
