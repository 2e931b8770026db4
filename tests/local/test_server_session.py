"""Session, pool and ARM routes, api-version rules and error shapes, over real HTTP."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

SPEC = Path(__file__).resolve().parents[3] / "shared" / "azure-spec"
V = "2025-10-02-preview"
ARM_PATH = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local"
    "/providers/Microsoft.App/sessionPools/local"
)


def spec_body(rel: str, status: str = "200") -> dict:
    path = SPEC / rel
    if not path.exists():
        pytest.skip(f"spec example {path} is not available")
    return json.loads(path.read_text())["responses"][status]["body"]


def ts(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def touch(client: httpx.Client, identifier: str) -> None:
    r = client.get("/files", params={"api-version": V, "identifier": identifier})
    assert r.status_code == 200


def test_get_session_shape_and_times(local_pool, pool_http: httpx.Client, identifier: str) -> None:
    touch(pool_http, identifier)
    r = pool_http.get("/session", params={"api-version": V, "identifier": identifier})
    assert r.status_code == 200
    body = r.json()
    spec = spec_body("data-plane/preview/2025-02-02-preview/examples/SessionManagement_Get.json")
    assert set(spec) == set(body)
    assert body["identifier"] == identifier
    created, accessed, expire = ts(body["createdAt"]), ts(body["lastAccessedAt"]), ts(body["expireAt"])
    assert created <= accessed
    assert (expire - accessed).total_seconds() == pytest.approx(local_pool.settings.cooldown, abs=0.002)


def test_unknown_session_is_400_session_with_identifier_not_found(pool_http: httpx.Client, identifier: str) -> None:
    for method in ("GET", "DELETE"):
        r = pool_http.request(method, "/session", params={"api-version": V, "identifier": identifier})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "SessionWithIdentifierNotFound"
        assert r.headers["x-ms-error-code"] == "SessionWithIdentifierNotFound"
    # Looking did not create it.
    r = pool_http.get("/session", params={"api-version": V, "identifier": identifier})
    assert r.status_code == 400


def test_delete_session_removes_it_and_its_files(local_pool, pool_http: httpx.Client, identifier: str) -> None:
    q = {"api-version": V, "identifier": identifier}
    pool_http.post("/files", params=q, files={"file": ("a.txt", b"abc")})
    directory = local_pool.pool.get(identifier).directory
    assert (directory / "a.txt").read_bytes() == b"abc"
    assert pool_http.delete("/session", params=q).status_code == 204
    assert not directory.exists()
    assert pool_http.get("/session", params=q).status_code == 400
    assert pool_http.get("/files", params=q).json()["value"] == []
    new_dir = local_pool.pool.get(identifier).directory
    assert new_dir != directory


def test_list_sessions_is_pool_wide_and_does_not_touch(pool_http: httpx.Client, identifier: str) -> None:
    other = identifier + "-2"
    touch(pool_http, identifier)
    touch(pool_http, other)
    before = pool_http.get("/session", params={"api-version": V, "identifier": identifier}).json()
    r = pool_http.get("/listSessions", params={"api-version": V})
    assert r.status_code == 200
    body = r.json()
    assert body["nextLink"] is None
    spec = spec_body("data-plane/preview/2024-10-02-preview/examples/ListSessions_Get.json")
    listed = {s["identifier"]: s for s in body["sessions"]}
    assert {identifier, other} <= set(listed)
    assert set(spec["sessions"][0]) <= set(listed[identifier])
    assert listed[identifier]["lastAccessedAt"] == before["lastAccessedAt"]
    after = pool_http.get("/session", params={"api-version": V, "identifier": identifier}).json()
    assert after["lastAccessedAt"] == before["lastAccessedAt"]
    skipped = pool_http.get("/listSessions", params={"api-version": V, "skip": "1"}).json()["sessions"]
    assert len(skipped) == len(body["sessions"]) - 1


def test_metadata_shape(pool_http: httpx.Client) -> None:
    r = pool_http.get("/metadata", params={"api-version": V})
    assert r.status_code == 200
    body = r.json()
    spec = spec_body("data-plane/preview/2025-02-02-preview/examples/SessionPoolMetadata_Get.json")
    assert set(spec) <= set(body)
    assert set(spec["jupyterKernel"]) <= set(body["jupyterKernel"])
    assert body["runtimes"][0]["name"] == "node"
    major = body["runtimes"][0]["version"].split(".")[0]
    assert major.isdigit() and int(major) >= 20
    assert body["jupyterKernel"]["name"] == "IJavascript" and body["jupyterKernel"]["version"] == "5.2.1"


def test_arm_pool_resource(local_pool) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {local_pool.token}"}, timeout=10) as c:
        r = c.get(local_pool.arm_base + ARM_PATH, params={"api-version": "2025-10-02-preview"})
        assert r.status_code == 200
        body = r.json()
        spec = spec_body("resource-manager/2025-10-02-preview/examples/SessionPools_Get.json")
        assert {"id", "name", "type", "location", "properties"} <= set(body)
        assert body["id"] == ARM_PATH and body["type"] == spec["type"]
        p = body["properties"]
        s = local_pool.settings
        assert p["containerType"] == "NodeLTS"
        assert p["provisioningState"] == "Succeeded"
        assert p["nodeCount"] == 1
        assert p["scaleConfiguration"] == {
            "maxConcurrentSessions": s.max_sessions,
            "readySessionInstances": s.ready,
        }
        assert set(spec["properties"]["scaleConfiguration"]) == set(p["scaleConfiguration"])
        lc = p["dynamicPoolConfiguration"]["lifecycleConfiguration"]
        assert set(spec["properties"]["dynamicPoolConfiguration"]["lifecycleConfiguration"]) == set(lc)
        assert lc["cooldownPeriodInSeconds"] == s.cooldown
        assert p["sessionNetworkConfiguration"]["status"] == "EgressEnabled"
        assert p["poolManagementEndpoint"] == local_pool.endpoint
        # The endpoint it names serves the data plane.
        m = c.get(p["poolManagementEndpoint"] + "/metadata", params={"api-version": V})
        assert m.status_code == 200

        other = c.get(local_pool.arm_base + ARM_PATH.replace("/local/providers", "/other/providers"),
                      params={"api-version": "2025-10-02-preview"})
        assert other.status_code == 404 and other.json()["error"]["code"] == "ResourceNotFound"
        missing = c.get(local_pool.arm_base + ARM_PATH)
        assert missing.status_code == 400


def test_routes_served_at_root_and_under_the_endpoint_path(local_pool, identifier: str) -> None:
    headers = {"Authorization": f"Bearer {local_pool.token}"}
    q = {"api-version": V, "identifier": identifier}
    with httpx.Client(headers=headers, timeout=10) as c:
        c.post(local_pool.endpoint + "/files", params=q, files={"file": ("r.txt", b"root")})
        at_root = c.get(local_pool.arm_base + "/files/r.txt/content", params=q)
        assert at_root.status_code == 200 and at_root.content == b"root"
        doubled = c.get(local_pool.endpoint + "//files/r.txt/content", params=q)
        assert doubled.status_code == 200 and doubled.content == b"root"


@pytest.mark.parametrize("version", [None, "", "2023-01-01", "2025-10-02", "latest"])
def test_unknown_api_version_is_400_not_supported(pool_http: httpx.Client, identifier: str, version) -> None:
    q = {"identifier": identifier}
    if version is not None:
        q["api-version"] = version
    for method, path in (("GET", "/files"), ("POST", "/executions"), ("GET", "/session"), ("GET", "/metadata")):
        r = pool_http.request(method, path, params=q, json={"code": "1"} if method == "POST" else None)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["error"]["code"] == "SessionRequestNotSupported"
        assert r.headers["x-ms-error-code"] == "SessionRequestNotSupported"
        assert set(r.json()["error"]) >= {"code", "message"}


def test_session_routes_need_2025_versions(pool_http: httpx.Client, identifier: str) -> None:
    for version in ("2024-10-02-preview", "2024-08-02-preview"):
        for path in ("/session", "/listSessions", "/metadata"):
            r = pool_http.get(path, params={"api-version": version, "identifier": identifier})
            assert r.status_code == 400
            assert r.json()["error"]["code"] == "SessionRequestNotSupported"
    r = pool_http.get("/session", params={"api-version": "2025-02-02-preview", "identifier": identifier})
    assert r.json()["error"]["code"] == "SessionWithIdentifierNotFound"


@pytest.mark.parametrize("bad", ["", "a" * 257, "has space", "tab\there", "ünicode", "new\nline"])
def test_bad_identifier_is_400_validation_failed(pool_http: httpx.Client, bad: str) -> None:
    for method, path in (("GET", "/files"), ("POST", "/executions"), ("GET", "/session")):
        r = pool_http.request(method, path, params={"api-version": V, "identifier": bad},
                              json={"codeInputType": "Inline", "executionType": "Synchronous", "code": "1"}
                              if method == "POST" else None)
        assert r.status_code == 400, (bad, path)
        assert r.json()["error"]["code"] == "SessionRequestValidationFailed"


def test_missing_identifier_is_400(pool_http: httpx.Client) -> None:
    r = pool_http.get("/files", params={"api-version": V})
    assert r.status_code == 400 and r.json()["error"]["code"] == "SessionRequestValidationFailed"


def test_odd_but_valid_identifiers_work(pool_http: httpx.Client, identifier: str) -> None:
    odd = "x_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`" + identifier[:8]
    q = {"api-version": V, "identifier": odd}
    assert pool_http.post("/files", params=q, files={"file": ("o.txt", b"odd")}).status_code == 200
    s = pool_http.get("/session", params=q)
    assert s.status_code == 200 and s.json()["identifier"] == odd
    assert pool_http.delete("/session", params=q).status_code == 204


def test_unknown_route_is_a_json_404(pool_http: httpx.Client) -> None:
    r = pool_http.get("/nope", params={"api-version": V})
    assert r.status_code == 404 and r.json()["error"]["code"] == "NotFound"
    r = pool_http.put("/session", params={"api-version": V})
    assert r.status_code == 405 and r.headers["x-ms-error-code"] == "MethodNotAllowed"
