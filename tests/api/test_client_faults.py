"""Client behaviour under faults the local pool cannot produce, injected with respx."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from repl.api import (
    USER_AGENT,
    AuthError,
    AzureToken,
    BadRequestError,
    BadResponseError,
    CapacityError,
    ConnectError,
    ExecutionStatus,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    SessionNotFoundError,
    SessionsClient,
    StaticToken,
)
from repl.api.errors import ApiError

EP = "https://eastus.dynamicsessions.io/subscriptions/sub1/resourceGroups/rg1/sessionPools/pool1"
TOKEN = "eyJTOKEN-secret-value"
IDENT = "id with space/and&amp"
CUR = f"{EP}/executions"
LEG = f"{EP}/code/execute"
OK_CURRENT = {"id": "e1", "identifier": IDENT, "status": "Succeeded",
              "result": {"stdout": "hi\n", "stderr": "", "executionResult": 2, "executionTimeInMilliseconds": 3}}
OK_LEGACY = {"$id": "1", "properties": {"$id": "2", "status": "Success", "stdout": "hi\n", "stderr": "",
                                        "executionResult": 2, "executionTimeInMilliseconds": 5}}


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, s: float) -> None:
        self.calls.append(s)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(sleeps):
    c = SessionsClient(EP + "/", StaticToken(TOKEN), retry_policy=RetryPolicy(retries=3, sleep=sleeps))
    yield c
    await c.aclose()


def _no_secret(err: BaseException) -> None:
    for text in (str(err), repr(err)):
        assert TOKEN not in text and IDENT not in text


# --- requests ------------------------------------------------------------------


@respx.mock
async def test_execute_request_shape(client):
    route = respx.post(CUR).mock(return_value=httpx.Response(200, json=OK_CURRENT, headers={"x-ms-request-id": "r1"}))
    ex = await client.execute("1+1", identifier=IDENT, timeout=30)
    req = route.calls.last.request
    assert req.url.params["api-version"] == "2025-10-02-preview"
    assert req.url.params["identifier"] == IDENT
    assert "identifier=id%20with%20space%2Fand%26amp" in str(req.url)
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["user-agent"] == USER_AGENT
    assert json.loads(req.content) == {"codeInputType": "Inline", "executionType": "Synchronous",
                                       "code": "1+1", "timeoutInSeconds": 30}
    assert ex.ok and ex.value == 2 and ex.stdout == "hi\n" and ex.request_id == "r1"
    assert ex.round_trip_ms is not None and ex.round_trip_ms > 0 and ex.server_ms == 3
    assert client.endpoint == EP and client.dialect == "current"


@respx.mock
async def test_read_timeout_follows_execution_timeout(client):
    route = respx.post(CUR).mock(return_value=httpx.Response(200, json=OK_CURRENT))
    await client.execute("1", identifier="a", timeout=100)
    assert route.calls.last.request.extensions["timeout"]["read"] == 130
    await client.execute("1", identifier="a", timeout=1000)
    assert route.calls.last.request.extensions["timeout"]["read"] == 250  # 220 s service cap + margin


# --- dialect fallback ------------------------------------------------------------


@respx.mock
@pytest.mark.parametrize("refusal", [
    httpx.Response(404),
    httpx.Response(400, json={"error": {"code": "SessionRequestNotSupported", "message": "no"}}),
])
async def test_falls_back_to_legacy_once_and_remembers(client, refusal):
    cur = respx.post(CUR).mock(return_value=refusal)
    leg = respx.post(LEG).mock(return_value=httpx.Response(200, json=OK_LEGACY))
    ex = await client.execute("1+1", identifier="a")
    assert ex.ok and ex.value == 2 and ex.raw_status == "Success"
    assert client.dialect == "legacy" and client.api_version == "2024-10-02-preview"
    body = json.loads(leg.calls.last.request.content)
    assert body["properties"]["code"] == "1+1" and body["properties"]["executionType"] == "synchronous"
    assert leg.calls.last.request.url.params["api-version"] == "2024-10-02-preview"
    await client.execute("2", identifier="a")
    assert cur.call_count == 1 and leg.call_count == 2


@respx.mock
async def test_legacy_404_after_fallback_is_not_found(client):
    respx.post(CUR).mock(return_value=httpx.Response(404))
    respx.post(LEG).mock(return_value=httpx.Response(404, headers={"x-ms-request-id": "rq9"}))
    with pytest.raises(NotFoundError) as ei:
        await client.execute("1", identifier="a")
    assert str(ei.value).endswith("(request id rq9)")
    assert "endpoint" in str(ei.value)


@respx.mock
async def test_explicit_legacy_version_goes_straight_to_legacy(sleeps):
    c = SessionsClient(EP, StaticToken(TOKEN), api_version="2024-08-02-preview")
    cur = respx.post(CUR).mock(return_value=httpx.Response(200, json=OK_CURRENT))
    leg = respx.post(LEG).mock(return_value=httpx.Response(200, json=OK_LEGACY))
    assert c.dialect == "legacy"
    await c.execute("1", identifier="a")
    assert cur.call_count == 0 and leg.call_count == 1
    assert leg.calls.last.request.url.params["api-version"] == "2024-08-02-preview"
    await c.aclose()


@respx.mock
async def test_explicit_2024_10_tries_current_then_legacy():
    c = SessionsClient(EP, StaticToken(TOKEN), api_version="2024-10-02-preview")
    respx.post(CUR).mock(return_value=httpx.Response(404))
    leg = respx.post(LEG).mock(return_value=httpx.Response(200, json=OK_LEGACY))
    await c.execute("1", identifier="a")
    assert c.dialect == "legacy" and leg.calls.last.request.url.params["api-version"] == "2024-10-02-preview"
    await c.aclose()


@respx.mock
async def test_explicit_current_version_never_falls_back():
    c = SessionsClient(EP, StaticToken(TOKEN), api_version="2025-02-02-preview")
    respx.post(CUR).mock(return_value=httpx.Response(404))
    leg = respx.post(LEG).mock(return_value=httpx.Response(200, json=OK_LEGACY))
    with pytest.raises(NotFoundError):
        await c.execute("1", identifier="a")
    assert leg.call_count == 0
    await c.aclose()


# --- async executions -----------------------------------------------------------------


@respx.mock
async def test_202_running_polled_via_executions_id(client, monkeypatch):
    import repl.api.client as mod

    monkeypatch.setattr(mod, "POLL_FIRST", 0.001)
    respx.post(CUR).mock(return_value=httpx.Response(
        202, json={"id": "ex7", "status": "Running"}, headers={"Operation-Location": "operation-location-uri"}))
    poll = respx.get(f"{EP}/executions/ex7").mock(side_effect=[
        httpx.Response(200, json={"id": "ex7", "status": "NotStarted"}),
        httpx.Response(200, json={"id": "ex7", "status": "Running"}),
        httpx.Response(200, json={"id": "ex7", "status": "Failed",
                                  "result": {"stdout": "", "stderr": "Error: boom", "executionResult": ""}}),
    ])
    ex = await client.execute("throw", identifier="a", asynchronous=True)
    assert poll.call_count == 3 and ex.status is ExecutionStatus.FAILED and ex.stderr == "Error: boom"
    assert poll.calls.last.request.url.params["identifier"] == "a"


@respx.mock
async def test_202_running_polled_via_operation_location(client, monkeypatch):
    import repl.api.client as mod

    monkeypatch.setattr(mod, "POLL_FIRST", 0.001)
    loc = f"{EP}/operations/op1?api-version=2025-10-02-preview&identifier=a"
    respx.post(CUR).mock(return_value=httpx.Response(202, json={"id": "x", "status": "Running"},
                                                     headers={"Operation-Location": loc}))
    op = respx.get(f"{EP}/operations/op1").mock(return_value=httpx.Response(200, json=OK_CURRENT))
    ex = await client.execute("1", identifier="a", asynchronous=True)
    assert op.call_count == 1 and ex.ok


@respx.mock
async def test_operation_location_on_another_host_is_not_followed(client, monkeypatch):
    import repl.api.client as mod

    monkeypatch.setattr(mod, "POLL_FIRST", 0.001)
    respx.post(CUR).mock(return_value=httpx.Response(
        202, json={"id": "x", "status": "Running"}, headers={"Operation-Location": "https://evil.example/op"}))
    evil = respx.get("https://evil.example/op").mock(return_value=httpx.Response(200, json=OK_CURRENT))
    mine = respx.get(f"{EP}/executions/x").mock(return_value=httpx.Response(200, json=OK_CURRENT))
    await client.execute("1", identifier="a", asynchronous=True)
    assert evil.call_count == 0 and mine.call_count == 1


# --- retries -------------------------------------------------------------------------


@respx.mock
async def test_connect_error_before_send_is_retried_even_for_execute(client, sleeps):
    route = respx.post(CUR).mock(side_effect=[httpx.ConnectError("refused"), httpx.ConnectTimeout("t"),
                                              httpx.Response(200, json=OK_CURRENT)])
    ex = await client.execute("1", identifier="a")
    assert ex.ok and route.call_count == 3 and len(sleeps.calls) == 2
    assert sleeps.calls[0] < sleeps.calls[1] * 2  # backoff grows (with jitter)


@respx.mock
async def test_connect_error_gives_up_after_retries(client, sleeps):
    route = respx.post(CUR).mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ConnectError) as ei:
        await client.execute("1", identifier="a")
    assert route.call_count == 4 and len(sleeps.calls) == 3
    assert "connection refused" in str(ei.value) and "eastus.dynamicsessions.io" in str(ei.value)
    _no_secret(ei.value)


@respx.mock
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_execute_5xx_is_never_resent(client, status):
    route = respx.post(CUR).mock(return_value=httpx.Response(status, text="<html><body>Bad gateway</body></html>",
                                                             headers={"content-type": "text/html"}))
    with pytest.raises(ServerError) as ei:
        await client.execute("1", identifier="a")
    assert route.call_count == 1 and ei.value.status_code == status
    assert "HTML" in str(ei.value)


@respx.mock
async def test_dropped_connection_on_execute_is_not_resent(client):
    route = respx.post(CUR).mock(side_effect=httpx.RemoteProtocolError("Server disconnected"))
    with pytest.raises(ConnectError) as ei:
        await client.execute("1", identifier="a")
    assert route.call_count == 1 and "may or may not have run" in str(ei.value)


@respx.mock
async def test_read_timeout_is_request_timeout(client):
    route = respx.post(CUR).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(RequestTimeout):
        await client.execute("1", identifier="a")
    assert route.call_count == 1


@respx.mock
async def test_get_retries_503_then_succeeds(client, sleeps):
    route = respx.get(f"{EP}/session").mock(side_effect=[
        httpx.Response(503), httpx.Response(502, text=""),
        httpx.Response(200, json={"identifier": "a", "expireAt": "2025-01-05T22:18:41.752Z"})])
    s = await client.get_session("a")
    assert s.identifier == "a" and route.call_count == 3 and len(sleeps.calls) == 2


@respx.mock
async def test_429_retry_after_is_honoured_on_get(client, sleeps):
    route = respx.get(f"{EP}/metadata").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"runtimes": []})])
    await client.metadata()
    assert route.call_count == 2 and sleeps.calls == [2.0]


@respx.mock
async def test_429_on_execute_is_capacity_error_with_retry_after(client):
    route = respx.post(CUR).mock(return_value=httpx.Response(
        429, json={"error": {"code": "SessionPoolCapacityExceeded", "message": "Pool is full"}},
        headers={"Retry-After": "7", "apim-request-id": "ap1"}))
    with pytest.raises(CapacityError) as ei:
        await client.execute("1", identifier="a")
    assert route.call_count == 1 and ei.value.retry_after == 7.0 and ei.value.code == "SessionPoolCapacityExceeded"
    assert "7 s" in str(ei.value) and str(ei.value).endswith("(request id ap1)")


@respx.mock
async def test_delete_gives_up_after_bounded_retries(client, sleeps):
    route = respx.delete(f"{EP}/session").mock(return_value=httpx.Response(504))
    with pytest.raises(ServerError):
        await client.delete_session("a")
    assert route.call_count == 4 and len(sleeps.calls) == 3


# --- error classes ----------------------------------------------------------------------


@respx.mock
@pytest.mark.parametrize("status,body,cls,words", [
    (401, {"error": {"code": "InvalidToken", "message": "expired"}}, AuthError, ["az login", "https://dynamicsessions.io"]),
    (403, {"error": {"code": "Forbidden", "message": "no"}}, ForbiddenError,
     ["Azure ContainerApps Session Executor", "propagated"]),
    (404, None, NotFoundError, ["endpoint"]),
    (413, {"error": {"code": "PayloadTooLarge", "message": "too big"}}, PayloadTooLargeError, ["128 MB"]),
    (500, {"error": {"code": "InternalServerError", "message": "oops"}}, ServerError, ["InternalServerError", "oops"]),
    (400, {"error": {"code": "SessionRequestValidationFailed", "message": "bad identifier"}}, BadRequestError,
     ["SessionRequestValidationFailed", "bad identifier"]),
    (400, {"error": {"code": "SessionWithIdentifierNotFound", "message": "nope"}}, SessionNotFoundError,
     ["no such session"]),
    (409, "", BadRequestError, ["409", "empty body"]),
])
async def test_error_classes(client, status, body, cls, words):
    kw = {"json": body} if isinstance(body, dict) else {"text": body or ""}
    respx.get(f"{EP}/session").mock(return_value=httpx.Response(status, headers={"x-ms-request-id": "req-42"}, **kw))
    with pytest.raises(cls) as ei:
        await client.get_session("a")
    err = ei.value
    assert isinstance(err, ApiError) and err.status_code == status and err.request_id == "req-42"
    text = str(err)
    assert text.endswith("(request id req-42)") and text.count("\n") == 0
    for w in words:
        assert w in text
    _no_secret(err)


@respx.mock
async def test_2xx_html_and_empty_and_garbled_bodies(client):
    for resp in (httpx.Response(200, text="<!DOCTYPE html><html>login</html>", headers={"content-type": "text/html"}),
                 httpx.Response(200, text=""), httpx.Response(200, text='{"status": "Succ')):
        respx.post(CUR).mock(return_value=resp)
        with pytest.raises(BadResponseError) as ei:
            await client.execute("1", identifier="a")
        assert "instead of the service's JSON" in str(ei.value)
    respx.post(CUR).mock(return_value=httpx.Response(200, json={"hello": "world"}))
    with pytest.raises(BadResponseError):
        await client.execute("1", identifier="a")


@respx.mock
async def test_server_text_quoting_the_token_is_scrubbed(client):
    respx.get(f"{EP}/session").mock(return_value=httpx.Response(
        400, json={"error": {"code": "Bad", "message": f"token {TOKEN} for {IDENT} is odd"}}))
    with pytest.raises(BadRequestError) as ei:
        await client.get_session(IDENT)
    _no_secret(ei.value)
    assert "***" in str(ei.value)


# --- auth: 401 refresh ----------------------------------------------------------------------


class FakeCredential:
    def __init__(self) -> None:
        self.scopes: list[str] = []
        self.n = 0
        self.closed = False

    async def get_token(self, scope: str):
        from azure.core.credentials import AccessToken  # noqa: PLC0415

        self.scopes.append(scope)
        self.n += 1
        return AccessToken(f"tok{self.n}-{TOKEN}", 10_000 + 3600)

    async def close(self) -> None:
        self.closed = True


@respx.mock
async def test_401_forces_one_refresh_and_one_retry(sleeps):
    cred = FakeCredential()
    c = SessionsClient(EP, AzureToken(credential=cred, clock=lambda: 10_000.0),
                       retry_policy=RetryPolicy(sleep=sleeps))
    route = respx.post(CUR).mock(side_effect=[httpx.Response(401), httpx.Response(200, json=OK_CURRENT)])
    ex = await c.execute("1", identifier="a")
    assert ex.ok and route.call_count == 2 and cred.n == 2
    assert [r.request.headers["authorization"] for r in route.calls] == [f"Bearer tok1-{TOKEN}", f"Bearer tok2-{TOKEN}"]
    assert cred.scopes == ["https://dynamicsessions.io/.default"] * 2
    # A second 401 after the refresh is an AuthError, with no third attempt.
    route.side_effect = [httpx.Response(401), httpx.Response(401)]
    with pytest.raises(AuthError) as ei:
        await c.execute("1", identifier="a")
    assert route.call_count == 4
    _no_secret(ei.value)
    assert "tok" not in repr(c.auth) and "tok" not in repr(c)


@respx.mock
async def test_static_token_401_is_not_resent():
    c = SessionsClient(EP, StaticToken(TOKEN))
    route = respx.post(CUR).mock(return_value=httpx.Response(401))
    with pytest.raises(AuthError):
        await c.execute("1", identifier="a")
    assert route.call_count == 1
    assert TOKEN not in repr(c.auth) and TOKEN not in str(c.auth)
    await c.aclose()


async def test_azure_token_cache_and_early_refresh():
    now = [1000.0]
    cred = FakeCredential()
    cred_expiry = []

    async def get_token(scope):
        from azure.core.credentials import AccessToken

        cred.n += 1
        cred_expiry.append(now[0] + 3600)
        return AccessToken(f"t{cred.n}", int(now[0] + 3600))

    cred.get_token = get_token  # type: ignore[method-assign]
    a = AzureToken(credential=cred, clock=lambda: now[0])
    assert await a.token() == "t1"
    now[0] += 3600 - 301  # 5 min + 1 s before expiry: still cached
    assert await a.token() == "t1"
    now[0] += 2  # within 5 minutes of expiry: refreshed
    assert await a.token() == "t2"
    assert await a.token(force_refresh=True) == "t3"
    arm = a.for_scope("https://management.azure.com/.default")
    assert await arm.token() == "t4" and arm.scope.startswith("https://management")
    await arm.aclose()
    assert not cred.closed  # a shared credential is closed only by its owner
    await a.aclose()
    assert not cred.closed  # passed in by the caller: the caller closes it


async def test_azure_token_failure_is_auth_error_without_secrets():
    class Failing:
        async def get_token(self, scope):
            raise RuntimeError("DefaultAzureCredential failed to retrieve a token from the included credentials.\nmore")

    with pytest.raises(AuthError) as ei:
        await AzureToken(credential=Failing()).token()
    assert "az login" in str(ei.value) and "\n" not in str(ei.value)


def test_azure_identity_not_imported_until_used():
    import subprocess
    import sys

    code = ("import sys, repl.api, repl.api.client; from repl.api import AzureToken, SessionsClient; "
            "a = AzureToken(); c = SessionsClient('https://x.io', a); "
            "print('azure.identity' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- files ---------------------------------------------------------------------------------------


@respx.mock
async def test_download_failure_keeps_existing_file(client, tmp_path: Path):
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"precious")

    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b"partial"
            raise httpx.ReadError("connection reset")

    respx.get(f"{EP}/files/out.bin/content").mock(return_value=httpx.Response(200, stream=Broken()))
    with pytest.raises(ConnectError):
        await client.download("a", "out.bin", dest)
    assert dest.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


@respx.mock
async def test_download_truncated_by_content_length(client, tmp_path: Path):
    respx.get(f"{EP}/files/f.txt/content").mock(return_value=httpx.Response(
        200, content=b"abc", headers={"content-length": "10"}))
    with pytest.raises((ConnectError, ApiError)):
        await client.download("a", "f.txt", tmp_path / "f.txt")
    assert list(tmp_path.iterdir()) == []


@respx.mock
async def test_download_404_leaves_nothing(client, tmp_path: Path):
    respx.get(f"{EP}/files/nope/content").mock(
        return_value=httpx.Response(404, json={"error": {"code": "FileNotFound", "message": "no"}}))
    with pytest.raises(NotFoundError):
        await client.download("a", "nope", tmp_path / "nope")
    assert list(tmp_path.iterdir()) == []


@respx.mock
async def test_legacy_file_routes(tmp_path: Path):
    c = SessionsClient(EP, StaticToken(TOKEN), api_version="2024-02-02-preview")
    src = tmp_path / "a.txt"
    src.write_bytes(b"hello")
    up = respx.post(f"{EP}/files/upload").mock(return_value=httpx.Response(200, json={
        "$id": "1", "value": [{"$id": "2", "properties": {"$id": "3", "filename": "a.txt", "size": 5,
                                                          "lastModifiedTime": "2024-05-29T02:17:25.902Z"}}]}))
    dl = respx.get(f"{EP}/files/content/a.txt").mock(return_value=httpx.Response(200, content=b"hello"))
    info = await c.upload("s", src)
    assert (info.name, info.size) == ("a.txt", 5)
    assert b'name="file"; filename="a.txt"' in up.calls.last.request.read()
    assert await c.download("s", "a.txt", tmp_path / "b.txt") == 5
    assert (tmp_path / "b.txt").read_bytes() == b"hello" and dl.call_count == 1
    await c.aclose()


@respx.mock
async def test_upload_is_resent_after_connect_error(client, tmp_path: Path):
    src = tmp_path / "d.csv"
    src.write_bytes(b"x,y\n1,2\n")
    route = respx.post(f"{EP}/files").mock(side_effect=[
        httpx.ConnectError("refused"),
        httpx.Response(200, json=[{"name": "d.csv", "type": "File", "sizeInBytes": 8}])])
    info = await client.upload("s", src, directory="data")
    assert route.call_count == 2 and info.size == 8 and info.directory == "data"
    req = route.calls.last.request
    assert req.url.params["path"] == "data" and b"x,y\n1,2\n" in req.read()


@respx.mock
async def test_pool_status_without_arm_lists_unknowns(client):
    respx.get(f"{EP}/metadata").mock(return_value=httpx.Response(200, json={
        "runtimes": [{"name": "node", "version": "20.2.4"}],
        "jupyterKernel": {"name": "IJavascript", "version": "5.2.1"}}))
    respx.get(f"{EP}/listSessions").mock(return_value=httpx.Response(200, json={
        "sessions": [{"identifier": "secret-session-1"}, {"identifier": "secret-session-2"}], "nextLink": None}))
    arm = respx.get("https://management.azure.com/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/"
                    "sessionPools/pool1").mock(
        return_value=httpx.Response(403, json={"error": {"code": "AuthorizationFailed", "message": "no"}}))
    client.arm_auth = StaticToken("arm-token")
    st = await client.pool_status()
    assert arm.call_count == 1
    assert st.name == "pool1" and st.sessions_in_use == 2
    assert st.runtime == "node 20.2.4" and st.kernel == "IJavascript 5.2.1"
    assert "max_sessions" in st.unknown and "cooldown_seconds" in st.unknown and "runtime" not in st.unknown
    assert any("403" in n for n in st.notes)
    assert "secret-session" not in repr(st)


@respx.mock
async def test_pool_status_never_names_an_identifier(client):
    client.arm_auth = StaticToken("arm-token")
    respx.get(f"{EP}/metadata").mock(return_value=httpx.Response(200, json={"runtimes": []}))
    respx.get(f"{EP}/listSessions").mock(return_value=httpx.Response(200, json={"sessions": []}))
    respx.get(url__startswith="https://management.azure.com/").mock(return_value=httpx.Response(
        200, json={"name": "pool1", "properties": {"scaleConfiguration": {"maxConcurrentSessions": 5},
                                                   "dynamicPoolConfiguration": {"cooldownPeriodInSeconds": 300}}}))
    st = await client.pool_status()
    assert st.max_sessions == 5 and st.cooldown_seconds == 300 and st.sessions_in_use == 0
    assert respx.calls.call_count == 3
    for call in respx.calls:
        assert "identifier" not in call.request.url.params
    arm_call = [c for c in respx.calls if c.request.url.host == "management.azure.com"][0]
    assert arm_call.request.headers["authorization"] == "Bearer arm-token"
    assert arm_call.request.url.path == ("/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/"
                                         "sessionPools/pool1")


@respx.mock
async def test_pool_status_when_everything_is_down(client):
    client.arm_auth = StaticToken("arm-token")
    respx.get(url__startswith="https://management.azure.com/").mock(side_effect=httpx.ConnectError("dns"))
    respx.get(f"{EP}/metadata").mock(return_value=httpx.Response(502, text="<html>bad gateway</html>"))
    respx.get(f"{EP}/listSessions").mock(return_value=httpx.Response(403))
    st = await client.pool_status()
    assert st.name == "pool1" and st.runtime is None and st.sessions_in_use is None
    assert {"max_sessions", "runtime", "kernel", "sessions_in_use", "cooldown_seconds"} <= set(st.unknown)
    assert any("unreachable" in n for n in st.notes) and any("403" in n for n in st.notes)
    assert len(st.notes) == 3


@respx.mock
async def test_list_sessions_follows_next_link_on_same_host_only(client):
    respx.get(f"{EP}/listSessions", params={"skip": "1"}).mock(return_value=httpx.Response(200, json={
        "sessions": [{"identifier": "b"}], "nextLink": "https://elsewhere.example/listSessions?skip=2"}))
    respx.get(f"{EP}/listSessions").mock(return_value=httpx.Response(200, json={
        "sessions": [{"identifier": "a"}], "nextLink": f"{EP}/listSessions?api-version=2025-10-02-preview&skip=1"}))
    elsewhere = respx.get("https://elsewhere.example/listSessions").mock(return_value=httpx.Response(200, json={}))
    assert [s.identifier for s in await client.list_sessions()] == ["a", "b"]
    assert elsewhere.call_count == 0


@respx.mock
async def test_async_polling_gives_up_at_the_deadline(client, monkeypatch):
    import repl.api.client as mod

    monkeypatch.setattr(mod, "POLL_FIRST", 0.001)
    monkeypatch.setattr(mod, "POLL_MAX", 0.002)
    monkeypatch.setattr(mod, "READ_MARGIN", 0.0)
    respx.post(CUR).mock(return_value=httpx.Response(202, json={"id": "slow", "status": "Running"}))
    poll = respx.get(f"{EP}/executions/slow").mock(
        return_value=httpx.Response(200, json={"id": "slow", "status": "Running"}))
    with pytest.raises(RequestTimeout) as ei:
        await client.execute("x", identifier="a", timeout=0.05, asynchronous=True)
    assert poll.call_count >= 2 and "still running" in str(ei.value)


# --- ARM: the same retry policy as every other GET ---------------------------------------------------

ARM_URL = ("https://management.azure.com/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.App/"
           "sessionPools/pool1")
ARM_POOL = {"name": "pool1", "properties": {"poolManagementEndpoint": EP,
                                            "scaleConfiguration": {"maxConcurrentSessions": 9}}}


@respx.mock
async def test_arm_get_retries_429_and_5xx_with_retry_after(client, sleeps):
    client.arm_auth = StaticToken("arm-token-secret")
    route = respx.get(ARM_URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(503), httpx.Response(504),
        httpx.Response(200, json=ARM_POOL)])
    assert (await client.arm_pool())["name"] == "pool1"
    assert route.call_count == 4 and len(sleeps.calls) == 3 and sleeps.calls[0] == 3.0
    assert route.calls.last.request.headers["user-agent"] == USER_AGENT


@respx.mock
async def test_arm_get_gives_up_after_the_bounded_retries(client, sleeps):
    client.arm_auth = StaticToken("arm-token-secret")
    route = respx.get(ARM_URL).mock(return_value=httpx.Response(502, text="<html>bad gateway</html>",
                                                                headers={"content-type": "text/html"}))
    with pytest.raises(ServerError) as ei:
        await client.arm_pool()
    assert route.call_count == 4 and len(sleeps.calls) == 3
    assert "arm-token-secret" not in str(ei.value) + repr(ei.value)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "1"})] * 4
    with pytest.raises(CapacityError) as e2:
        await client.arm_pool()
    assert "throttled" in str(e2.value) and "retry in 1 s" in str(e2.value) and "capacity" not in str(e2.value)


@respx.mock
async def test_arm_connect_error_is_retried_and_401_refreshes_once(sleeps):
    cred = FakeCredential()
    c = SessionsClient(EP, AzureToken(credential=cred, clock=lambda: 10_000.0),
                       retry_policy=RetryPolicy(sleep=sleeps))
    route = respx.get(ARM_URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(401),
                                                 httpx.Response(200, json=ARM_POOL)])
    try:
        assert (await c.arm_pool())["name"] == "pool1"
    finally:
        await c.aclose()
    assert route.call_count == 3 and len(sleeps.calls) == 1
    assert cred.scopes == ["https://management.azure.com/.default"] * 2


@respx.mock
async def test_resolve_endpoint_retries_like_the_client(sleeps):
    from repl.api import resolve_endpoint

    route = respx.get(ARM_URL).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=ARM_POOL)])
    ep, ref = await resolve_endpoint("pool1", "rg1", "sub1", auth=StaticToken("t0ken-xyz"),
                                     policy=RetryPolicy(sleep=sleeps))
    assert ep == EP and ref.pool == "pool1" and route.call_count == 2 and len(sleeps.calls) == 1
