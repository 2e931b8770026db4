"""Executions over real HTTP with real Node kernels: both dialects, async polling, faults, order."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from repl.local.embedded import EmbeddedPool
from repl.local.settings import PoolSettings

SHARED = Path(__file__).resolve().parents[3] / "shared"
SPEC = SHARED / "azure-spec" / "data-plane" / "preview"
V = "2025-10-02-preview"

# The tutorial's command, verbatim (shared/tutorial-nodejs.md, "Execute code in your session").
TUTORIAL_CURL = (
    """curl -v -X 'POST' -H "$AUTH_HEADER" """
    """"$SESSION_POOL_MANAGEMENT_ENDPOINT/code/execute?api-version=2024-10-02-preview&identifier=test" """
    """-H 'Content-Type: application/json' -d '
{
    "properties": {
        "codeInputType": "inline",
        "executionType": "synchronous",
        "code": "console.log(\\"hello-world\\")"
    }
}'"""
)


def spec(version: str, name: str, status: str = "200") -> dict:
    path = SPEC / version / "examples" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"spec example {path} is not available")
    return json.loads(path.read_text())["responses"][status]


def run(client: httpx.Client, identifier: str, code: str, version: str = V, headers=None, **fields) -> httpx.Response:
    body = {"codeInputType": "Inline", "executionType": "Synchronous", "code": code, **fields}
    return client.post("/executions", params={"api-version": version, "identifier": identifier},
                       json=body, headers=headers)


def legacy(client: httpx.Client, identifier: str, code: str, version: str = "2024-10-02-preview") -> httpx.Response:
    body = {"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": code}}
    return client.post("/code/execute", params={"api-version": version, "identifier": identifier}, json=body)


def test_current_sync_execution_shape(pool_http: httpx.Client, identifier: str) -> None:
    r = run(pool_http, identifier, "console.log(7*9); 6*7", timeoutInSeconds=60, outputStreamsMaxLength=4096)
    assert r.status_code == 200, r.text
    example = spec(V, "CodeExecution_Execute_Sync")
    body = r.json()
    assert set(body) == set(example["body"])
    assert set(body["result"]) == set(example["body"]["result"])
    assert body["status"] == "Succeeded" and body["executionType"] == "Synchronous"
    assert body["identifier"] == identifier
    assert body["result"]["stdout"] == "63\n" and body["result"]["stderr"] == ""
    assert body["result"]["executionResult"] == 42
    assert isinstance(body["result"]["executionTimeInMilliseconds"], int)
    for h in example["headers"]:
        assert h.lower() in r.headers
    assert r.headers["operation-id"] == body["id"]
    location = r.headers["Operation-Location"]
    assert urlparse(location).path.endswith(f"/executions/{body['id']}")
    again = pool_http.get(location)
    assert again.status_code == 200 and again.json() == body


def test_forwarded_headers_of_a_client_do_not_change_the_pools_urls(pool_http: httpx.Client, identifier: str) -> None:
    # No proxy stands in front of the pool: a local client saying it came through one
    # (uvicorn believes 127.0.0.1 by default) must not get https:// or another host.
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example"}
    r = run(pool_http, identifier, "1", headers=forged)
    location = urlparse(r.headers["Operation-Location"])
    assert (location.scheme, location.netloc) == ("http", urlparse(str(pool_http.base_url)).netloc)


def test_operation_id_header_names_the_execution(pool_http: httpx.Client, identifier: str) -> None:
    r = run(pool_http, identifier, "1", headers={"operation-id": "my-exec-1"})
    assert r.json()["id"] == "my-exec-1" and r.headers["operation-id"] == "my-exec-1"
    got = pool_http.get("/executions/my-exec-1", params={"api-version": V, "identifier": identifier})
    assert got.json()["result"]["executionResult"] == 1
    bad = run(pool_http, identifier, "1", headers={"operation-id": "bad id with spaces"})
    assert bad.status_code == 400


def test_status_codes_per_version(pool_http: httpx.Client, identifier: str) -> None:
    assert run(pool_http, identifier, "1", version="2024-10-02-preview").status_code == 202
    assert run(pool_http, identifier, "1", version="2025-02-02-preview").status_code == 200
    for version in ("2024-02-02-preview", "2024-08-02-preview"):
        r = run(pool_http, identifier, "1", version=version)
        assert r.status_code == 400 and r.json()["error"]["code"] == "SessionRequestNotSupported"
    r = legacy(pool_http, identifier, "1", version=V)
    assert r.status_code == 400 and r.json()["error"]["code"] == "SessionRequestNotSupported"


def test_legacy_code_execute_shape(pool_http: httpx.Client, identifier: str) -> None:
    for version in ("2024-02-02-preview", "2024-08-02-preview", "2024-10-02-preview"):
        r = legacy(pool_http, identifier, "console.log('x'); [1, 2]", version=version)
        assert r.status_code == 200
        props = r.json()["properties"]
        assert props["status"] == "Success"
        assert props["stdout"] == "x\n"
        assert props["executionResult"] == [1, 2] and props["result"] == [1, 2]
        assert isinstance(props["executionTimeInMilliseconds"], int)
    r = legacy(pool_http, identifier, "null.x")
    props = r.json()["properties"]
    assert r.status_code == 200 and props["status"] == "Failure" and "TypeError" in props["stderr"]


def test_tutorial_curl_command_verbatim(local_pool, tmp_path: Path) -> None:
    tutorial = SHARED / "tutorial-nodejs.md"
    if tutorial.exists():
        assert TUTORIAL_CURL in tutorial.read_text(encoding="utf-8")
    env = {
        **os.environ,
        "AUTH_HEADER": f"Authorization: Bearer {local_pool.token}",
        "SESSION_POOL_MANAGEMENT_ENDPOINT": local_pool.endpoint,
    }
    out = subprocess.run(["bash", "-c", TUTORIAL_CURL], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "< HTTP/1.1 200" in out.stderr
    body = json.loads(out.stdout)
    assert body["properties"]["status"] == "Success"
    assert body["properties"]["stdout"] == "hello-world\n"
    assert body["properties"]["executionResult"] == "" and body["properties"]["stderr"] == ""
    assert {"$id", "status", "stdout", "stderr", "executionResult", "executionTimeInMilliseconds"} <= set(
        body["properties"]
    )


def test_code_failure_is_http_200_failed(pool_http: httpx.Client, identifier: str) -> None:
    r = run(pool_http, identifier, "throw new RangeError('too far')")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "Failed"
    assert "RangeError" in body["result"]["stderr"] and "too far" in body["result"]["stderr"]


def test_state_persists_and_sessions_are_isolated(pool_http: httpx.Client, identifier: str) -> None:
    other = identifier + "-b"
    assert run(pool_http, identifier, "globalThis.secret = 41; const kept = 1; secret + kept").json()["result"][
        "executionResult"
    ] == 42
    assert run(pool_http, identifier, "secret + kept").json()["result"]["executionResult"] == 42
    assert run(pool_http, other, "typeof secret").json()["result"]["executionResult"] == "'undefined'"
    wrote = run(pool_http, other, "require('fs').writeFileSync('/mnt/data/only-b.txt', 'b'); 1")
    assert wrote.json()["status"] == "Succeeded", wrote.text
    seen = run(pool_http, identifier, "require('fs').existsSync('/mnt/data/only-b.txt')")
    assert seen.json()["result"]["executionResult"] is False


def test_files_written_by_code_are_served_and_uploads_are_readable(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    pool_http.post("/files", params=q, files={"file": ("in.txt", b"from upload")})
    r = run(pool_http, identifier, "const fs = require('fs'); fs.writeFileSync('/mnt/data/out.txt', "
            "fs.readFileSync('/mnt/data/in.txt', 'utf8').toUpperCase()); 'done'")
    assert r.json()["status"] == "Succeeded", r.text
    assert pool_http.get("/files/out.txt/content", params=q).content == b"FROM UPLOAD"


@pytest.mark.parametrize(
    "input_type,exec_type", [("inline", "synchronous"), ("INLINE", "SYNCHRONOUS"), ("Inline", "synchronous")]
)
def test_enums_are_case_insensitive(pool_http: httpx.Client, identifier: str, input_type: str, exec_type: str) -> None:
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier},
                       json={"codeInputType": input_type, "executionType": exec_type, "code": "2+2"})
    assert r.status_code == 200 and r.json()["result"]["executionResult"] == 4


def test_inline_base64(pool_http: httpx.Client, identifier: str) -> None:
    code = base64.b64encode("'é' + 1".encode()).decode()
    r = run(pool_http, identifier, code, codeInputType="inlinebase64")
    assert r.json()["result"]["executionResult"] == "'é1'"
    bad = run(pool_http, identifier, "not base64!!", codeInputType="InlineBase64")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "SessionRequestValidationFailed"


@pytest.mark.parametrize(
    "body,code",
    [
        (
            {"properties": {"codeInputType": "Inline", "executionType": "Synchronous", "code": "1"}},
            "SessionPropertiesMissing",
        ),
        ({"codeInputType": "Inline", "executionType": "Synchronous"}, "SessionRequestValidationFailed"),
        ({"codeInputType": "Inline", "executionType": "Synchronous", "code": 5}, "SessionRequestValidationFailed"),
        ({"codeInputType": "Python", "executionType": "Synchronous", "code": "1"}, "SessionRequestValidationFailed"),
        ({"codeInputType": "Inline", "executionType": "Later", "code": "1"}, "SessionRequestValidationFailed"),
        (
            {"codeInputType": "Inline", "executionType": "Synchronous", "code": "1", "timeoutInSeconds": -1},
            "SessionRequestValidationFailed",
        ),
        (
            {"codeInputType": "Inline", "executionType": "Synchronous", "code": "1", "timeoutInSeconds": "60"},
            "SessionRequestValidationFailed",
        ),
        (
            {"codeInputType": "Inline", "executionType": "Synchronous", "code": "1", "outputStreamsMaxLength": 0},
            "SessionRequestValidationFailed",
        ),
        ([1, 2], "SessionRequestValidationFailed"),
    ],
)
def test_bad_execution_bodies(pool_http: httpx.Client, identifier: str, body, code: str) -> None:
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier}, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code == r.headers["x-ms-error-code"]


def test_bad_bodies_on_legacy_and_raw(pool_http: httpx.Client, identifier: str) -> None:
    flat = {"codeInputType": "inline", "executionType": "synchronous", "code": "1"}
    legacy = {"api-version": "2024-10-02-preview", "identifier": identifier}
    r = pool_http.post("/code/execute", params=legacy, json=flat)
    assert r.status_code == 400 and r.json()["error"]["code"] == "SessionPropertiesMissing"
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier}, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "SessionRequestValidationFailed"
    r = pool_http.post("/executions", params={"api-version": V, "identifier": identifier}, content=b"")
    assert r.status_code == 400


def test_output_limit_is_passed_to_the_kernel(pool_http: httpx.Client, identifier: str) -> None:
    r = run(pool_http, identifier, "console.log('x'.repeat(20000))", outputStreamsMaxLength=100)
    out = r.json()["result"]["stdout"]
    assert out.startswith("x" * 50) and len(out) < 1000
    full = run(pool_http, identifier, "console.log('y'.repeat(3000))")
    assert full.json()["result"]["stdout"] == "y" * 3000 + "\n"


def test_async_execution_polling(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    body = {"codeInputType": "Inline", "executionType": "Asynchronous",
            "code": "const t0 = Date.now(); while (Date.now() - t0 < 300) {} console.log('late'); 'fin'"}
    r = pool_http.post("/executions", params=q, json=body, headers={"operation-id": "async-1"})
    assert r.status_code == 202
    running = r.json()
    example = spec("2025-02-02-preview", "CodeExecution_Execute_Async_Running", "202")
    assert set(running) == set(example["body"])
    assert running["status"] == "Running" and "result" not in running and running["id"] == "async-1"
    location = r.headers["Operation-Location"]
    deadline = time.monotonic() + 30
    while True:
        polled = pool_http.get(location)
        assert polled.status_code == 200
        if polled.json()["status"] != "Running":
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    done = polled.json()
    completed = spec("2025-02-02-preview", "CodeExecution_Execute_Async_Completed", "202")
    assert set(done) == set(completed["body"])
    assert done["status"] == "Succeeded" and done["result"]["stdout"] == "late\n"
    assert done["result"]["executionResult"] == "'fin'"
    missing = pool_http.get("/executions/nope", params=q)
    assert missing.status_code == 404 and missing.headers["x-ms-error-code"] == "ExecutionNotFound"


def test_kernel_exit_loses_state_then_a_fresh_kernel_serves(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    pool_http.post("/files", params=q, files={"file": ("keep.txt", b"kept")})
    run(pool_http, identifier, "globalThis.v = 1")
    r = run(pool_http, identifier, "process.exit(3)")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "Failed"
    assert "lost" in body["result"]["stderr"]
    after = run(pool_http, identifier, "typeof v")
    assert after.json()["status"] == "Succeeded"
    assert after.json()["result"]["executionResult"] == "'undefined'"
    kept = run(pool_http, identifier, "require('fs').readFileSync('/mnt/data/keep.txt', 'utf8')")
    assert kept.json()["result"]["executionResult"] == "'kept'"


def test_kernel_killed_between_requests_is_replaced(local_pool, pool_http: httpx.Client, identifier: str) -> None:
    run(pool_http, identifier, "globalThis.w = 2")
    session = local_pool.pool.get(identifier)
    pid = session.kernel.pid
    kernel = session.kernel
    os.kill(pid, signal.SIGKILL)
    local_pool.run(kernel.wait(), timeout=10)  # the kernel's own death event, no polling
    assert not kernel.alive
    r = run(pool_http, identifier, "typeof w")
    body = r.json()
    assert body["status"] == "Succeeded" and body["result"]["executionResult"] == "'undefined'"
    assert "state was lost" in body["result"]["stderr"]
    assert local_pool.pool.get(identifier).kernel.pid != pid


def test_executions_on_one_identifier_run_in_arrival_order(
    local_pool, pool_http: httpx.Client, identifier: str
) -> None:
    """A blocks until a file appears; B, C, D are sent from threads, each once the previous is queued."""
    results: dict[str, dict] = {}
    clients = {tag: httpx.Client(base_url=local_pool.endpoint, headers=pool_http.headers, timeout=60) for tag in "ABCD"}
    wait_for_go = ("const fs = require('fs'); const t0 = Date.now(); "
                   "while (!fs.existsSync('/mnt/data/go') && Date.now() - t0 < 20000) {} ")

    def send(tag: str) -> None:
        code = (f"{wait_for_go if tag == 'A' else ''}const s{tag} = Date.now(); "
                f"(globalThis.order ??= []).push(['{tag}', s{tag}, Date.now()]); '{tag}'")
        results[tag] = run(clients[tag], identifier, code).json()

    run(pool_http, identifier, "globalThis.order = []")
    threads = []
    try:
        for n, tag in enumerate("ABCD", start=1):
            t = threading.Thread(target=send, args=(tag,))
            t.start()
            threads.append(t)
            deadline = time.monotonic() + 10
            while local_pool.pool.get(identifier).pending < n:
                assert time.monotonic() < deadline, f"{tag} never queued"
                time.sleep(0.002)
        # The files API does not wait for executions: release A.
        q = {"api-version": V, "identifier": identifier}
        assert pool_http.post("/files", params=q, files={"file": ("go", b"")}).status_code == 200
        for t in threads:
            t.join(30)
    finally:
        for c in clients.values():
            c.close()
    assert all(results[t]["status"] == "Succeeded" for t in "ABCD"), results
    tags = run(pool_http, identifier, "order.map((o) => o[0]).join('')").json()["result"]["executionResult"]
    assert tags == "'ABCD'"
    no_overlap = run(pool_http, identifier, "order.every((o, i) => i === 0 || o[1] >= order[i - 1][2])")
    assert no_overlap.json()["result"]["executionResult"] is True


def test_async_executions_queue_in_order(pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    ids = []
    for tag in "XYZ":
        body = {"codeInputType": "Inline", "executionType": "Asynchronous",
                "code": f"const t{tag} = Date.now(); while (Date.now() - t{tag} < 30) {{}} "
                        f"(globalThis.seq ??= []).push('{tag}'); seq.join('')"}
        r = pool_http.post("/executions", params=q, json=body)
        assert r.status_code == 202
        ids.append(r.json()["id"])
    deadline = time.monotonic() + 30
    while (last := pool_http.get(f"/executions/{ids[-1]}", params=q).json())["status"] == "Running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert last["result"]["executionResult"] == "'XYZ'"


@pytest.fixture(scope="module")
def capped_pool(tmp_path_factory):
    with EmbeddedPool(PoolSettings(ready=0, timeout_cap=1, data_dir=tmp_path_factory.mktemp("cap"))) as pool:
        yield pool


def test_timeout_is_capped(capped_pool, identifier: str) -> None:
    with httpx.Client(base_url=capped_pool.endpoint, headers={"Authorization": f"Bearer {capped_pool.token}"},
                      timeout=60) as c:
        run(c, identifier, "globalThis.before = 'kept'")
        t0 = time.monotonic()
        r = run(c, identifier, "while (true) {}", timeoutInSeconds=120)
        elapsed = time.monotonic() - t0
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "Failed"
        assert re.search(r"time", body["result"]["stderr"], re.I)
        assert elapsed < 15
        assert run(c, identifier, "before").json()["result"]["executionResult"] == "'kept'"
